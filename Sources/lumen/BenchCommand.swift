import ArgumentParser
import Foundation
import LumenIO
import LumenNN
import LumenPhantom
import LumenTensor

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Time the engine on the anchor and served networks (seconds, GFLOP/s, peak memory).",
        discussion: """
        Without --network it runs the built-in rows with deterministic random weights. \
        scripts/bench/bench_peers.py runs the same networks in PyTorch, ONNX Runtime and OpenVINO in the same run.
        """)

    @Option(help: "A network definition JSON instead of the built-in rows.") var network: String?
    @Option(help: "Weights for --network (random when omitted).") var weights: String?
    @Option(help: "Input shape for --network, e.g. 1,1,96,96,96.") var shape: String?
    @Option(help: "Built-in rows: anchors, served or all.") var rows: String = "all"
    @Option(help: "Timed runs after one warm-up.") var runs: Int = 3
    @Flag(help: "One JSON object per row.") var json = false
    @Flag(help: "Print the slowest layers of each row.") var profile = false

    struct Row { var label: String; var spec: NetworkSpec; var shape: [Int] }

    func run() throws {
        try withCLIError {
            var list: [Row] = []
            if let network {
                guard let shape, case let dims = shape.split(separator: ",").compactMap({ Int($0) }), dims.count >= 4 else {
                    throw ValidationError("--network needs --shape N,C,D,H,W")
                }
                let spec = try NetworkSpec(contentsOf: URL(fileURLWithPath: network))
                list = [Row(label: spec.name, spec: spec, shape: dims)]
            } else {
                list = (rows == "anchors" || rows == "all" ? BenchRows.anchors : []) + (rows == "served" || rows == "all" ? BenchRows.served : [])
                guard !list.isEmpty else { throw ValidationError("--rows must be anchors, served or all") }
            }
            if !json {
                print("Lumen engine benchmark: \(ComputePool.shared.threads) compute threads, median of \(runs) after a warm-up")
                print("engine: \(EngineOptions.current.summary)")
                for problem in EngineOptions.current.problems { print("WARNING \(problem)") }
                print(pad("network", 44) + pad("input", 20) + pad("GFLOP", 8) + pad("seconds", 9) + pad("GFLOP/s", 9) + pad("plan peak", 11) + pad("peak RSS", 10))
            }
            for row in list { try bench(row) }
        }
    }

    private func bench(_ row: Row) throws {
        let net = try Network(spec: row.spec)
        if let weights {
            try net.load(try CheckpointLoader.load(URL(fileURLWithPath: weights)).tensors)
        } else {
            try net.load(RandomWeights.stateDict(for: net))
        }
        var rng = PhantomRandom(seed: 7)
        let x = Tensor(shape: row.shape, data: (0..<row.shape.reduce(1, *)).map { _ in Float(rng.normal()) })
        FlopCounter.reset()
        _ = try net.forward(x)
        let gflop = 2 * Double(FlopCounter.multiplyAdds) / 1e9
        let planned = try net.peakBytes(inputShape: row.shape)
        var times: [Double] = []
        for _ in 0..<max(1, runs) {
            let start = Date()
            _ = try net.forward(x)
            times.append(Date().timeIntervalSince(start))
        }
        let median = times.sorted()[times.count / 2]
        if profile {
            Profiler.reset(); Profiler.isEnabled = true
            let start = Date()
            _ = try net.forward(x)
            let total = Date().timeIntervalSince(start)
            Profiler.isEnabled = false
            print("  profile of one forward (\(String(format: "%.3f", total)) s):")
            for r in Profiler.report.prefix(15) {
                print(String(format: "  %7.3f s %5.1f%%  ×%-3d %@", r.seconds, 100 * r.seconds / total, r.count, r.label))
            }
        }
        if json {
            let object: [String: Any] = ["network": row.label, "shape": row.shape, "seconds": times, "median_s": median,
                                         "gflop": gflop, "peak_rss_bytes": ProcessStats.peakRSS,
                                         "planned_peak_bytes": planned]
            let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
            print(String(decoding: data, as: UTF8.self))
        } else {
            print(pad(row.label, 44) + pad(row.shape.map(String.init).joined(separator: "×"), 20) + pad(String(format: "%.1f", gflop), 8)
                  + pad(String(format: "%.3f", median), 9) + pad(String(format: "%.1f", gflop / median), 9)
                  + pad(String(format: "%.0f MiB", Double(planned) / 1048576), 11)
                  + pad(String(format: "%.0f MiB", Double(ProcessStats.peakRSS) / 1048576), 10))
        }
    }

    private func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s + " " : s + String(repeating: " ", count: n - s.count) }
}

enum BenchRows {
    static func spec(_ json: String) -> NetworkSpec {
        try! NetworkSpec(json: JSONValue(parsing: Data(json.utf8)))
    }

    /// The three peer anchors of the performance targets.
    static let anchors = [
        BenchCommand.Row(label: "UNet 16-256 res2 batch (spleen)", spec: spec(#"{"name":"UNet","args":{"spatial_dims":3,"in_channels":1,"out_channels":2,"channels":[16,32,64,128,256],"strides":[2,2,2,2],"num_res_units":2,"norm":"batch"}}"#), shape: [1, 1, 96, 96, 96]),
        BenchCommand.Row(label: "BasicUNet 32-512 (deepgrow 3D)", spec: spec(#"{"name":"BasicUNet","args":{"spatial_dims":3,"in_channels":3,"out_channels":1,"features":[32,64,128,256,512,32]}}"#), shape: [1, 3, 64, 96, 96]),
        BenchCommand.Row(label: "SegResNet 32 (1,2,2,4) 105 classes", spec: spec(#"{"name":"SegResNet","args":{"spatial_dims":3,"init_filters":32,"in_channels":1,"out_channels":105,"blocks_down":[1,2,2,4],"blocks_up":[1,1,1]}}"#), shape: [1, 1, 64, 64, 64]),
    ]

    static let served = [
        BenchCommand.Row(label: "UNet 16-128 res2 batch", spec: spec(#"{"name":"UNet","args":{"spatial_dims":3,"in_channels":1,"out_channels":7,"channels":[16,32,64,128],"strides":[2,2,2],"num_res_units":2,"norm":"batch"}}"#), shape: [1, 1, 96, 96, 96]),
        BenchCommand.Row(label: "DynUNet 3D k3 s(1,2,2,2,2)", spec: spec(#"{"name":"DynUNet","args":{"spatial_dims":3,"in_channels":1,"out_channels":2,"kernel_size":[3,3,3,3,3],"strides":[1,2,2,2,2],"upsample_kernel_size":[2,2,2,2]}}"#), shape: [1, 1, 96, 96, 96]),
        BenchCommand.Row(label: "UNet 2D 16-256 res2 batch", spec: spec(#"{"name":"UNet","args":{"spatial_dims":2,"in_channels":1,"out_channels":2,"channels":[16,32,64,128,256],"strides":[2,2,2,2],"num_res_units":2,"norm":"batch"}}"#), shape: [1, 1, 256, 256]),
    ]
}

/// Deterministic weights with non-trivial statistics (fan-in scaled convs,
/// BatchNorm running stats away from identity), so timings see real data.
enum RandomWeights {
    static func stateDict(for net: Network, seed: UInt64 = 1) -> [String: Tensor] {
        var rng = PhantomRandom(seed: seed)
        var out: [String: Tensor] = [:]
        for (key, shape) in net.expectedKeys {
            let count = shape.reduce(1, *)
            let values: [Float]
            if key.hasSuffix("running_var") { values = (0..<count).map { _ in Float(0.5 + rng.uniform()) } }
            else if key.hasSuffix("running_mean") || key.hasSuffix("bias") { values = (0..<count).map { _ in Float(0.1 * rng.normal()) } }
            else if key.hasSuffix("num_batches_tracked") { values = [1] }
            else if shape.count <= 1 { values = (0..<count).map { _ in key.contains(".A.") ? 0.25 : Float(1 + 0.1 * rng.normal()) } }
            else {
                let fanIn = shape.dropFirst().reduce(1, *)
                let bound = Float((3.0 / Double(fanIn)).squareRoot())
                values = (0..<count).map { _ in bound * Float(2 * rng.uniform() - 1) }
            }
            out[key] = Tensor(shape: shape, data: values)
        }
        return out
    }
}
