import ArgumentParser
import Foundation
import LumenIO
import LumenNN
import LumenTensor

struct ForwardCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "forward",
        abstract: "Run one network on one tensor (float32 .npy, NCDHW or NCHW).",
        discussion: "NET.json is a network definition as in an MMAR's config_train.json model entry: {\"name\": \"UNet\", \"args\": {...}}.")

    @Option(help: "Network definition JSON.") var network: String
    @Option(help: "Weights: model.pt (zip or legacy) or .safetensors.") var weights: String
    @Option(help: "Input .npy (float32, N×C×D×H×W or N×C×H×W).") var input: String
    @Option(help: "Output .npy.") var output: String

    func run() throws {
        try withCLIError {
            let spec = try NetworkSpec(contentsOf: URL(fileURLWithPath: network))
            let checkpoint = try CheckpointLoader.load(URL(fileURLWithPath: weights))
            let net = try Network(spec: spec, stateDict: checkpoint.tensors)
            let x = try Npy.read(URL(fileURLWithPath: input))
            let planned = try net.peakBytes(inputShape: x.shape)
            let start = Date()
            let y = try net.forward(x)
            let seconds = Date().timeIntervalSince(start)
            try Npy.write(y, to: URL(fileURLWithPath: output))
            FileHandle.standardError.write(Data(String(format: "forward: %@ %@ -> %@ in %.3f s, planned peak %.0f MiB, peak RSS %.0f MiB\n",
                spec.name, "\(x.shape)", "\(y.shape)", seconds, Double(planned) / 1048576, Double(ProcessStats.peakRSS) / 1048576).utf8))
        }
    }
}

enum ProcessStats {
    /// VmHWM: the most resident memory this process has had.
    static var peakRSS: Int {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }) else { return 0 }
        return (Int(line.split(separator: " ").dropFirst().first ?? "0") ?? 0) * 1024
    }
}
