import Foundation
import LumenIO
import LumenTensor
import Testing
@testable import LumenNN

/// Parity at the size networks are served at, with the engine's defaults (Winograd on): every
/// family with a layer of at least 64 channels on at least 64³ voxels, against MONAI 1.6.1 run
/// now by scripts/fixtures/make_production_parity.py (hundreds of MB of references, so they are
/// made here rather than committed). The rule is networks.md's, element by element:
/// |Lumen − MONAI| ≤ 1e-4 + 1e-4·|MONAI|. The small committed fixtures cannot catch rounding
/// that grows with width and extent.
@Suite("MONAI parity at production size", .serialized)
struct ProductionParityTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../..").standardizedFileURL
    static let names = ["unet3d_64ch_128cube", "basicunet3d_64ch_64cube", "dynunet3d_64ch_64cube",
                        "segresnet3d_64ch_64cube", "unet2d_64ch_512sq"]

    /// The references, made once for the suite (torch runs them one after another).
    static let references: Result<URL, Error> = Result {
        let python = root.appendingPathComponent(".venv-train/bin/python")
        guard FileManager.default.isExecutableFile(atPath: python.path) else {
            throw CocoaError(.fileNoSuchFile, userInfo: [NSLocalizedDescriptionKey:
                "no \(python.path): run scripts/env/setup_train_python (scripts/test does)"])
        }
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("lumen-production-parity-\(getpid())")
        let process = Process()
        process.executableURL = python
        process.arguments = [root.appendingPathComponent("scripts/fixtures/make_production_parity.py").path, out.path]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw CocoaError(.fileReadUnknown, userInfo: [NSLocalizedDescriptionKey: "make_production_parity.py failed:\n\(output)"])
        }
        print(output)
        return out
    }

    @Test("element-wise within 1e-4 + 1e-4·|MONAI|, Winograd on", arguments: names)
    func matches(name: String) async throws {
        let dir = try Self.references.get().appendingPathComponent(name)
        let worst = try await ComputePool.shared.run {   // on a thread of its own: minutes of compute stay off the cooperative pool
            let network = try Network(spec: try NetworkSpec(contentsOf: dir.appendingPathComponent("net.json")),
                                      stateDict: try CheckpointLoader.load(dir.appendingPathComponent("model.pt")).tensors)
            let expected = try Npy.read(dir.appendingPathComponent("y.npy"))
            let y = try network.forward(try Npy.read(dir.appendingPathComponent("x.npy")))
            guard y.shape == expected.shape else { return (Float.infinity, Float.infinity, 0) }
            var ratio: Float = 0, absolute: Float = 0, failing = 0
            for (a, b) in zip(y.data, expected.data) {
                let d = abs(a - b), allowed = 1e-4 + 1e-4 * abs(b)
                ratio = max(ratio, d / allowed); absolute = max(absolute, d)
                if d > allowed { failing += 1 }
            }
            return (ratio, absolute, failing)
        }
        print("production parity \(name): max |Δ| \(worst.1), worst |Δ| / allowed \(worst.0), \(worst.2) elements over")
        #expect(worst.0 <= 1, "\(worst.2) elements over 1e-4 + 1e-4·|ref|; worst ratio \(worst.0), max |Δ| \(worst.1)")
    }
}
