import ArgumentParser
import Foundation
import LumenInference
import LumenIO

struct SegmentCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "segment",
        abstract: "Run one model bundle (Clara MMAR) offline on one image; the label map keeps the input's geometry.")

    @Option(help: "The bundle directory (config/config_aiaa.json, models/model.pt).") var model: String
    @Option(help: "Input image (.nii, .nii.gz, .hdr/.img).") var image: String
    @Option(help: "Output label map (.nii.gz).") var output: String
    @Flag(help: "Print per-stage timings.") var timings = false

    func run() throws {
        try withCLIError {
            var t = StageTimings()
            let bundle = try t.measure("load model") { try ModelBundle.loadMMAR(URL(fileURLWithPath: model)) }
            let volume = try t.measure("read") { try Volume.read(URL(fileURLWithPath: image)) }
            let (labels, stages) = try SegmentationTask.run(bundle, on: volume)
            try t.measure("write") { try labels.write(to: URL(fileURLWithPath: output), datatype: .uint8) }
            if timings {
                print("\(bundle.name): \(t.stages.map { String(format: "%@ %.0f ms", $0.name, $0.ms) }.joined(separator: ", ")); \(stages)")
            }
        }
    }
}
