import Foundation
import LumenTensor
import Testing
@testable import LumenIO

@Suite("PyTorch checkpoints: formats")
struct CheckpointFormatTests {
    @Test("each file loads to the values torch saved, in torch's key order", arguments: [
        ("weights.pt", Checkpoint.Format.zip), ("model.v2.pth", .zip), ("stream.pt", .zip), ("legacy.pt", .legacy),
        ("wrapped.pt", .zip), ("lightning.pt", .zip), ("prefixed.pt", .zip), ("parameters.pt", .zip),
        ("views.pt", .zip), ("views_legacy.pt", .legacy), ("dtypes.pt", .zip), ("dtypes_legacy.pt", .legacy),
        ("weights.safetensors", .safetensors),
    ])
    func loads(file: String, format: Checkpoint.Format) throws {
        let checkpoint = try CheckpointLoader.load(CheckpointFixtures.url(file))
        let expected = try CheckpointFixtures.expected(file)
        #expect(checkpoint.format == format)
        #expect(checkpoint.keyOrder == expected.keys)
        #expect(Set(checkpoint.tensors.keys) == Set(expected.keys))
        for (key, e) in expected.tensors {
            let t = try #require(checkpoint.tensors[key], "\(key) missing")
            #expect(t.shape == e.shape, "\(key)")
            #expect(t.data == e.values.map { Float($0) }, "\(key)")
        }
    }

    @Test("load(data:name:) reads the same bytes as load(url)")
    func fromData() throws {
        let url = CheckpointFixtures.url("weights.pt")
        let a = try CheckpointLoader.load(url)
        let b = try CheckpointLoader.load(data: Data(contentsOf: url), name: "weights.pt")
        #expect(a.tensors == b.tensors && a.keyOrder == b.keyOrder)
    }

    @Test("the top folder comes from the first entry, not a fixed name", arguments: [
        ("weights.pt", "weights"), ("model.v2.pth", "model.v2"), ("stream.pt", "archive"),
    ])
    func topFolder(file: String, top: String) throws {
        let zip = try ZipArchive(bytes: CheckpointFixtures.bytes(file), file: file)
        #expect(zip.order.first == "\(top)/data.pkl")
    }

    @Test("views keep their storage offset and strides; shared storages are not copied into each other")
    func views() throws {
        let t = try CheckpointLoader.load(CheckpointFixtures.url("views.pt")).tensors
        // grid = arange(24).reshape(4, 6); view = grid[1:, 2:5].t()
        #expect(t["view"] == Tensor(shape: [3, 3], data: [8, 14, 20, 9, 15, 21, 10, 16, 22]))
        #expect(t["row"] == Tensor(shape: [6], data: [12, 13, 14, 15, 16, 17]))
        #expect(t["tail"] == Tensor(shape: [3], data: [107, 108, 109]))
        #expect(t["expanded"] == Tensor(shape: [2, 3], data: [1, -2, 3, 1, -2, 3]))
    }

    @Test("0-d and empty tensors keep their shapes")
    func scalars() throws {
        let t = try CheckpointLoader.load(CheckpointFixtures.url("dtypes.pt")).tensors
        #expect(t["scalar"] == Tensor(shape: [], data: [2.5]))
        #expect(t["scalar_i64"] == Tensor(shape: [], data: [-3]))
        #expect(t["empty"]?.shape == [0, 3])
        #expect(t["b"]?.data == [1, 0, 1])
    }

    @Test("an MMAR wrapper yields the state dict and its extras as JSON")
    func wrapper() throws {
        let checkpoint = try CheckpointLoader.load(CheckpointFixtures.url("wrapped.pt"))
        let extras = checkpoint.extras
        #expect(Set(extras.keys) == ["epoch", "best_metric", "best_epoch", "lr", "train_conf", "tags"])
        #expect(extras["epoch"] == .number(3))
        #expect(extras["best_metric"] == .number(0.8125))   // a numpy float64 scalar
        #expect(extras["best_epoch"] == .number(2))         // a numpy int64 scalar
        #expect(extras["lr"] == .number(0.001))
        #expect(extras["tags"] == .array([.string("a"), .string("b")]))
        let model = try #require(extras["train_conf"]?["train"]?["model"])
        #expect(model["name"] == .string("UNet"))
        #expect(model["args"]?["channels"] == .array([.number(4), .number(8)]))
        #expect(model["args"]?["norm"] == .array([.string("batch"), .object(["eps": .number(1e-5)])]))
        #expect(extras["train_conf"]?["seed"] == .null)
        #expect(extras["train_conf"]?["amp"] == .bool(false))
        #expect(Set(checkpoint.tensors.keys) == ["conv.weight", "conv.bias", "norm.running_var", "norm.num_batches_tracked"])
    }

    @Test("a Lightning-style state_dict wrapper with module. keys is unwrapped and stripped")
    func lightning() throws {
        let checkpoint = try CheckpointLoader.load(CheckpointFixtures.url("lightning.pt"))
        #expect(checkpoint.extras == ["global_step": .number(10)])
        #expect(checkpoint.keyOrder.first == "conv.weight")
    }

    @Test("safetensors metadata is exposed as extras")
    func safetensorsMetadata() throws {
        let checkpoint = try CheckpointLoader.load(CheckpointFixtures.url("weights.safetensors"))
        #expect(checkpoint.extras == ["format": .string("pt"), "source": .string("lumen fixtures")])
    }

    @Test("safetensors written by Lumen read back, in the given order and with metadata")
    func safetensorsRoundTrip() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("lumen-\(UUID().uuidString).safetensors")
        defer { try? FileManager.default.removeItem(at: url) }
        let tensors = ["z.weight": Tensor(shape: [2, 3], data: [1, 2, 3, 4, 5, -6.5]), "a": Tensor(shape: [], data: [-7]),
                       "empty": Tensor(shape: [0], data: [])]
        try SafetensorsFormat.write(tensors, order: ["z.weight", "a", "empty"], metadata: ["epoch": "4"], to: url)
        let back = try CheckpointLoader.load(url)
        #expect(back.tensors == tensors)
        #expect(back.keyOrder == ["z.weight", "a", "empty"])
        #expect(back.extras == ["epoch": .string("4")])
        let raw = try Data(contentsOf: url)
        let headerLength = raw.prefix(8).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        #expect((8 + headerLength) % 8 == 0, "the buffer starts 8-byte aligned")
    }

    @Test("zip64 end records and zip64 extra fields are honoured", arguments: [(true, false), (false, true), (true, true)])
    func zip64(end: Bool, extra: Bool) throws {
        let original = try CheckpointFixtures.bytes("weights.pt")
        var zip = TestZip(try TestZip.entries(of: original))
        zip.zip64End = end
        zip.zip64Extra = extra
        let repacked = try CheckpointLoader.load(bytes: zip.bytes(), name: "z64.pt")
        let reference = try CheckpointLoader.load(bytes: original, name: "weights.pt")
        #expect(repacked.tensors == reference.tensors)
        #expect(repacked.keyOrder == reference.keyOrder)
    }

    @Test("a hand-built archive with a strided view of an unsaved storage")
    func handBuiltView() throws {
        // storage 0..11; the tensor is a 2x3 view at offset 1 with strides (4, 2).
        let pickle = P.pickle(P.orderedDict([("w", P.tensor(key: "7", numel: 12, offset: 1, shape: [2, 3], strides: [4, 2]))]))
        let bytes = P.archive(pickle, storages: ["7": (0..<12).map(Float.init)], top: "any_name")
        let checkpoint = try CheckpointLoader.load(bytes: bytes, name: "hand.pt")
        #expect(checkpoint.tensors["w"] == Tensor(shape: [2, 3], data: [1, 3, 5, 5, 7, 9]))
    }
}
