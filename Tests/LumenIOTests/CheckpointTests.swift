import Foundation
import LumenTensor
import Testing
@testable import LumenIO

/// Fixtures come from scripts/make_checkpoint_fixtures.py (real torch.save output).
enum CheckpointFixtures {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Fixtures/checkpoints")

    static func expected(_ file: String) throws -> [String: (shape: [Int], values: [Double])] {
        let json = try JSONValue(parsing: Data(contentsOf: directory.appendingPathComponent("expected.json")))
        guard let entries = json["files"]?[file]?.object else { throw CheckpointError.missingEntry(file: "expected.json", entry: file) }
        return entries.mapValues { ($0["shape"]!.array!.map { $0.int! }, $0["values"]!.array!.map { $0.double! }) }
    }

    static func bytes(_ file: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: directory.appendingPathComponent(file)))
    }
}

@Suite("PyTorch checkpoints")
struct CheckpointTests {
    @Test("each file format loads to the saved values", arguments: [
        ("weights.pt", Checkpoint.Format.zip), ("stream.pt", .zip), ("legacy.pt", .legacy), ("wrapped.pt", .zip),
        ("prefixed.pt", .zip), ("views.pt", .zip), ("dtypes.pt", .zip), ("weights.safetensors", .safetensors),
    ])
    func loads(file: String, format: Checkpoint.Format) throws {
        let checkpoint = try CheckpointLoader.load(CheckpointFixtures.directory.appendingPathComponent(file))
        let expected = try CheckpointFixtures.expected(file)
        #expect(checkpoint.format == format)
        #expect(Set(checkpoint.tensors.keys) == Set(expected.keys))
        #expect(Set(checkpoint.keyOrder) == Set(expected.keys))
        for (key, e) in expected {
            let t = try #require(checkpoint.tensors[key])
            #expect(t.shape == e.shape, "\(key)")
            #expect(t.data.map(Double.init) == e.values.map { Double(Float($0)) }, "\(key)")
        }
    }

    @Test("the state dict keeps the file's key order")
    func order() throws {
        let checkpoint = try CheckpointLoader.load(CheckpointFixtures.directory.appendingPathComponent("weights.pt"))
        #expect(checkpoint.keyOrder == ["conv.weight", "conv.bias", "norm.running_var", "norm.num_batches_tracked"])
    }

    @Test("an MMAR wrapper yields the state dict and its train_conf")
    func wrapper() throws {
        let checkpoint = try CheckpointLoader.load(CheckpointFixtures.directory.appendingPathComponent("wrapped.pt"))
        #expect(checkpoint.extras["epoch"] == .number(3))
        #expect(checkpoint.extras["train_conf"]?["train"]?["model"]?["name"] == .string("UNet"))
    }

    @Test("a pickled whole module is refused with advice")
    func module() throws {
        #expect(throws: CheckpointError.pickledModule(file: "module.pt", className: "torch.nn.modules.conv.Conv3d")) {
            try CheckpointLoader.load(CheckpointFixtures.directory.appendingPathComponent("module.pt"))
        }
    }

    @Test("truncated files give errors, never crashes", arguments: ["weights.pt", "legacy.pt", "weights.safetensors", "views.pt"])
    func truncated(file: String) throws {
        let full = try CheckpointFixtures.bytes(file)
        for fraction in [0.05, 0.3, 0.6, 0.9, 0.99] {
            let cut = Array(full.prefix(Int(Double(full.count) * fraction)))
            #expect(throws: (any Error).self) { try CheckpointLoader.load(bytes: cut, name: file) }
        }
    }

    @Test("a zip cut before its directory says so")
    func truncatedZip() throws {
        let full = try CheckpointFixtures.bytes("weights.pt")
        #expect(throws: CheckpointError.truncated(file: "w.pt", detail: "no end-of-central-directory record; the file was cut short")) {
            try CheckpointLoader.load(bytes: Array(full.prefix(full.count / 2)), name: "w.pt")
        }
    }

    @Test("random bytes are not a checkpoint")
    func garbage() throws {
        var bytes = try CheckpointFixtures.bytes("weights.pt")
        bytes[0] = 0x00
        #expect(throws: CheckpointError.notACheckpoint(file: "x.pt")) { try CheckpointLoader.load(bytes: bytes, name: "x.pt") }
    }

    @Test("corrupted bytes anywhere never crash the loader")
    func fuzz() throws {
        let full = try CheckpointFixtures.bytes("weights.pt")
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<300 {
            var bytes = full
            for _ in 0..<4 { bytes[Int.random(in: 0..<bytes.count, using: &generator)] = UInt8.random(in: 0...255, using: &generator) }
            _ = try? CheckpointLoader.load(bytes: bytes, name: "fuzz.pt")
        }
    }

    @Test("safetensors written by Lumen read back")
    func safetensorsRoundTrip() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("lumen-\(UUID().uuidString).safetensors")
        let tensors = ["a.weight": Tensor(shape: [2, 3], data: [1, 2, 3, 4, 5, 6]), "b": Tensor(shape: [1], data: [-7])]
        try SafetensorsFormat.write(tensors, to: url)
        let back = try CheckpointLoader.load(url)
        #expect(back.tensors == tensors)
    }
}

@Suite(".npy")
struct NpyTests {
    @Test("float32 round trip keeps shape and values")
    func roundTrip() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("lumen-\(UUID().uuidString).npy")
        let t = Tensor(shape: [1, 2, 3, 1, 2], data: (0..<12).map { Float($0) * 0.5 - 2 })
        try Npy.write(t, to: url)
        #expect(try Npy.read(url) == t)
    }

    @Test("a cut file is refused")
    func truncated() throws {
        let data = Npy.encode(Tensor(shape: [4, 4], data: [Float](repeating: 1, count: 16)))
        #expect(throws: NpyError.truncated(file: "x.npy", expected: 64, got: 60)) {
            try Npy.decode([UInt8](data.prefix(data.count - 4)), name: "x.npy")
        }
    }
}
