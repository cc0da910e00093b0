import Foundation
import LumenTensor
import Testing
@testable import LumenIO

@Suite("PyTorch checkpoints: refused files")
struct CheckpointRefusalTests {
    @Test("a pickled MONAI module is refused with advice")
    func pickledModule() throws {
        let expected = CheckpointError.pickledModule(file: "module.pt", className: "monai.networks.nets.unet.UNet")
        #expect(throws: expected) { try CheckpointLoader.load(CheckpointFixtures.url("module.pt")) }
        #expect(expected.description
            == "module.pt holds a pickled module (monai.networks.nets.unet.UNet), not a state dict; re-save with torch.save(model.state_dict())")
    }

    @Test("TorchScript archives are named as such")
    func torchScript() throws {
        #expect(throws: CheckpointError.torchScript(file: "scripted.ts")) {
            try CheckpointLoader.load(CheckpointFixtures.url("scripted.ts"))
        }
    }

    @Test("a dtype outside the supported set is named")
    func complexDType() throws {
        #expect(throws: CheckpointError.unsupportedDType(file: "complex.pt", dtype: "ComplexFloatStorage")) {
            try CheckpointLoader.load(CheckpointFixtures.url("complex.pt"))
        }
    }

    @Test("a missing file is unreadable, not a crash")
    func missingFile() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("lumen-absent-\(UUID().uuidString).pt")
        do {
            _ = try CheckpointLoader.load(url)
            Issue.record("loaded a file that does not exist")
        } catch let error as CheckpointError {
            guard case .unreadable(let file, _) = error else { Issue.record("\(error)"); return }
            #expect(file == url.lastPathComponent)
        }
    }
}

@Suite("PyTorch checkpoints: damaged files")
struct CheckpointDamageTests {
    @Test("every cut of every format is reported as truncated", arguments: [
        "weights.pt", "legacy.pt", "weights.safetensors", "views.pt", "dtypes_legacy.pt", "wrapped.pt",
    ])
    func truncated(file: String) throws {
        let full = try CheckpointFixtures.bytes(file)
        for length in stride(from: 4, to: full.count, by: max(1, full.count / 97)) {
            expectCheckpointError(loading: Array(full.prefix(length)), name: file) {
                if case .truncated = $0 { return true } else { return false }
            }
        }
    }

    @Test("a zip cut before its directory says so")
    func truncatedZip() throws {
        let full = try CheckpointFixtures.bytes("weights.pt")
        expectCheckpointError(.truncated(file: "w.pt", detail: "no end-of-central-directory record; the file was cut short"),
                              loading: Array(full.prefix(full.count / 2)), name: "w.pt")
    }

    @Test("a flipped magic number is not a checkpoint", arguments: ["weights.pt", "legacy.pt", "weights.safetensors"])
    func flippedMagic(file: String) throws {
        var bytes = try CheckpointFixtures.bytes(file)
        bytes[file.hasSuffix(".safetensors") ? 8 : 0] ^= 0xFF
        expectCheckpointError(.notACheckpoint(file: file), loading: bytes, name: file)
    }

    @Test("a legacy file whose magic number is wrong is not a checkpoint")
    func legacyMagic() throws {
        var bytes = try CheckpointFixtures.bytes("legacy.pt")
        bytes[6] ^= 0x01   // inside the 10-byte LONG1 magic number
        expectCheckpointError(.notACheckpoint(file: "legacy.pt"), loading: bytes, name: "legacy.pt")
    }

    @Test("a legacy storage record claiming more data than the file holds")
    func legacyStorageCount() throws {
        var bytes = try CheckpointFixtures.bytes("legacy.pt")
        // Five pickles (magic, protocol, sys_info, the dict, the key list), then the first storage's int64 count.
        var position = 0
        for _ in 0..<5 {
            var u = Unpickler(bytes: bytes[position...], file: "legacy.pt") { try TorchZipFormat.storageRef($0, file: "legacy.pt") }
            _ = try u.load()
            position = u.position
        }
        let count = bytes[position..<(position + 8)].enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        #expect((1...100).contains(count), "a plausible element count sits where the first storage starts")
        bytes.replaceSubrange(position..<(position + 8), with: le64(1 << 40))
        expectCheckpointError(loading: bytes, name: "legacy.pt") {
            if case .truncated(_, let d) = $0 { return d.hasSuffix("claims 1099511627776 elements past the end of the file") }
            return false
        }
    }

    @Test("a broken central directory signature")
    func centralSignature() throws {
        var bytes = try CheckpointFixtures.bytes("weights.pt")
        // The first central record follows the last entry's data; find it by its signature.
        let cd = try #require(findSignature(bytes, [0x50, 0x4B, 0x01, 0x02]))
        bytes[cd + 2] = 0x09
        expectCheckpointError(.badZip(file: "w.pt", detail: "bad central directory record at offset \(cd)"), loading: bytes, name: "w.pt")
    }

    @Test("a local header that is not where the directory says")
    func localHeader() throws {
        var bytes = try CheckpointFixtures.bytes("weights.pt")
        let zip = try ZipArchive(bytes: bytes, file: "w.pt")
        let pkl = try #require(zip.entries["weights/data/0"])
        bytes[pkl.localHeaderOffset] = 0x00
        expectCheckpointError(.badZip(file: "w.pt", detail: "no local header for weights/data/0 at offset \(pkl.localHeaderOffset)"),
                              loading: bytes, name: "w.pt")
    }

    @Test("a zip64 end record without its locator")
    func zip64WithoutLocator() throws {
        var zip = TestZip(try TestZip.entries(of: CheckpointFixtures.bytes("weights.pt")))
        zip.zip64End = true
        zip.dropLocator = true
        expectCheckpointError(.badZip(file: "z.pt", detail: "the end record defers to zip64 but there is no zip64 locator"),
                              loading: zip.bytes(), name: "z.pt")
    }

    @Test("a deflated entry is refused with the reason")
    func compressed() throws {
        var entries = try TestZip.entries(of: CheckpointFixtures.bytes("weights.pt"))
        entries[0].method = 8
        expectCheckpointError(.compressedEntry(file: "c.pt", entry: "weights/data.pkl", method: 8),
                              loading: TestZip(entries).bytes(), name: "c.pt")
    }

    @Test("an archive without data.pkl")
    func missingPickle() throws {
        let entries = try TestZip.entries(of: CheckpointFixtures.bytes("weights.pt")).filter { !$0.name.hasSuffix("data.pkl") }
        expectCheckpointError(.missingEntry(file: "m.pt", entry: "weights/data.pkl"), loading: TestZip(entries).bytes(), name: "m.pt")
    }

    @Test("an archive whose storage file is missing")
    func missingStorage() throws {
        let entries = try TestZip.entries(of: CheckpointFixtures.bytes("weights.pt")).filter { $0.name != "weights/data/2" }
        expectCheckpointError(.missingEntry(file: "m.pt", entry: "weights/data/2"), loading: TestZip(entries).bytes(), name: "m.pt")
    }

    @Test("entries outside a top folder are not a torch archive")
    func noTopFolder() throws {
        expectCheckpointError(.badZip(file: "f.pt", detail: "entry data.pkl is not inside a top folder, so this is not a torch.save archive"),
                              loading: TestZip([("data.pkl", P.pickle(P.emptyDict))]).bytes(), name: "f.pt")
    }

    @Test("an empty zip")
    func emptyZip() throws {
        expectCheckpointError(.badZip(file: "e.pt", detail: "the archive is empty"), loading: TestZip([(String, [UInt8])]()).bytes(), name: "e.pt")
    }

    @Test("big-endian archives are refused")
    func bigEndian() throws {
        let bytes = TestZip([("archive/data.pkl", P.pickle(P.emptyDict)), ("archive/byteorder", Array("big".utf8))]).bytes()
        expectCheckpointError(.bigEndian(file: "b.pt"), loading: bytes, name: "b.pt")
    }

    @Test("safetensors headers that lie", arguments: [
        (#"{"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}"#, "badJSON"),
        (#"{"w": {"dtype": "F8_E4M3", "shape": [2], "data_offsets": [0, 2]}}"#, "dtype"),
        (#"{"w": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}}"#, "size"),
        (#"{"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 800]}}"#, "past"),
        (#"{"w": {"dtype": "F32", "shape": [4611686018427387904, 4], "data_offsets": [0, 8]}}"#, "overflow"),
        (#"{"w": {"dtype": "F32", "shape": [-2], "data_offsets": [0, 8]}}"#, "negative"),
        (#"{"w": {"dtype": "F32", "shape": ["2"], "data_offsets": [0, 8]}}"#, "string"),
        (#"["w"]"#, "array"),    // byte 8 is not "{": not recognised as safetensors at all
    ])
    func safetensorsHeader(header: String, kind: String) throws {
        var json = Array(header.utf8)
        while json.count % 8 != 0 { json.append(0x20) }
        let bytes = le64(UInt64(json.count)) + json + [Float(1), 2].flatMap { le32($0.bitPattern) }
        expectCheckpointError(loading: bytes, name: "s.safetensors") { error in
            switch (kind, error) {
            case ("dtype", .unsupportedDType(_, "F8_E4M3")): return true
            case ("past", .truncated): return true
            case ("badJSON", .badSafetensors(_, let d)): return d == "the header is not valid JSON"
            case ("array", .notACheckpoint): return true
            case ("size", .badSafetensors(_, let d)), ("overflow", .badSafetensors(_, let d)),
                 ("negative", .badSafetensors(_, let d)), ("string", .badSafetensors(_, let d)):
                return d.hasPrefix("entry w")
            default: return false
            }
        }
    }

    @Test("a safetensors header length beyond the file")
    func safetensorsHeaderLength() throws {
        let bytes = le64(4096) + Array(#"{"a": 1}"#.utf8)
        expectCheckpointError(.truncated(file: "s.safetensors", detail: "a header of 4096 bytes in a 16-byte file"),
                              loading: bytes, name: "s.safetensors")
    }

    @Test("random corruption anywhere gives a CheckpointError, never a crash",
          arguments: ["weights.pt", "legacy.pt", "weights.safetensors", "wrapped.pt", "dtypes.pt"])
    func fuzz(file: String) throws {
        let full = try CheckpointFixtures.bytes(file)
        var generator = SplitMix(seed: UInt64(file.utf8.count))
        for _ in 0..<400 {
            var bytes = full
            for _ in 0..<Int.random(in: 1...6, using: &generator) {
                bytes[Int.random(in: 0..<bytes.count, using: &generator)] = UInt8.random(in: 0...255, using: &generator)
            }
            do { _ = try CheckpointLoader.load(bytes: bytes, name: file) } catch is CheckpointError {} catch {
                Issue.record("not a CheckpointError: \(error)")
            }
        }
    }
}

func findSignature(_ bytes: [UInt8], _ signature: [UInt8]) -> Int? {
    guard bytes.count >= signature.count else { return nil }
    return (0...(bytes.count - signature.count)).first { Array(bytes[$0..<($0 + signature.count)]) == signature }
}

/// Deterministic, so a failing corruption can be reproduced.
struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
