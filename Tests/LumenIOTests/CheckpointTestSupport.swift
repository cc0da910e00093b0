import Foundation
import LumenTensor
import Testing
@testable import LumenIO

/// Fixtures come from scripts/fixtures/make_checkpoint_fixtures.py (real torch.save output).
enum CheckpointFixtures {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Fixtures/checkpoints")

    struct Expected {
        var keys: [String]
        var tensors: [String: (shape: [Int], values: [Double])]
    }

    static func expected(_ file: String) throws -> Expected {
        let json = try JSONValue(parsing: Data(contentsOf: directory.appendingPathComponent("expected.json")))
        let entry = try #require(json["files"]?[file], "expected.json has no \(file)")
        let keyValues = try #require(entry["keys"]?.array)
        let keys = keyValues.compactMap(\.string)
        let tensors = try #require(entry["tensors"]?.object).mapValues {
            ($0["shape"]!.array!.map { $0.int! }, $0["values"]!.array!.map { $0.double! })
        }
        return Expected(keys: keys, tensors: tensors)
    }

    static func url(_ file: String) -> URL { directory.appendingPathComponent(file) }
    static func bytes(_ file: String) throws -> [UInt8] { [UInt8](try Data(contentsOf: url(file))) }
}

/// Asserts that loading `bytes` fails with exactly `expected`.
func expectCheckpointError(_ expected: CheckpointError, loading bytes: [UInt8], name: String,
                           sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(throws: expected, sourceLocation: sourceLocation) { try CheckpointLoader.load(bytes: bytes, name: name) }
}

/// Asserts the error's kind when its detail text is incidental.
func expectCheckpointError(loading bytes: [UInt8], name: String, sourceLocation: SourceLocation = #_sourceLocation,
                           _ matches: (CheckpointError) -> Bool) {
    do {
        _ = try CheckpointLoader.load(bytes: bytes, name: name)
        Issue.record("\(name) loaded; an error was expected", sourceLocation: sourceLocation)
    } catch let error as CheckpointError {
        #expect(matches(error), "unexpected error: \(error)", sourceLocation: sourceLocation)
        #expect("\(error)".hasPrefix(name), "the message names the file: \(error)", sourceLocation: sourceLocation)
    } catch {
        Issue.record("not a CheckpointError: \(error)", sourceLocation: sourceLocation)
    }
}

/// Writes zips the way torch.save does, plus the variants torch writes only
/// for huge files (zip64 end records, zip64 extra fields) and broken ones.
struct TestZip {
    struct Entry {
        var name: String
        var data: [UInt8]
        var method: UInt16 = 0
    }

    var entries: [Entry]
    /// Put 0xFFFF/0xFFFFFFFF in the end record and the real values in a zip64 end record.
    var zip64End = false
    /// Omit the zip64 locator (a broken file) even though the end record is saturated.
    var dropLocator = false
    /// Put 0xFFFFFFFF as local header offset and size in the central directory, real values in a zip64 extra field.
    var zip64Extra = false

    init(_ entries: [Entry]) { self.entries = entries }

    init(_ files: [(String, [UInt8])]) { entries = files.map { Entry(name: $0.0, data: $0.1) } }

    func bytes() -> [UInt8] {
        var out: [UInt8] = []
        var central: [UInt8] = []
        for entry in entries {
            let offset = out.count
            let name = Array(entry.name.utf8)
            // torch pads the local extra field ("FB") so data starts on a 64-byte boundary.
            let bare = offset + 30 + name.count + 4
            let pad = (64 - bare % 64) % 64
            out += le32(0x0403_4B50) + le16(20) + le16(0x0808) + le16(entry.method) + le16(0) + le16(0)
            out += le32(0) + le32(0) + le32(0)          // crc and sizes in a data descriptor, as torch writes
            out += le16(UInt16(name.count)) + le16(UInt16(4 + pad)) + name
            out += le16(0x4246) + le16(UInt16(pad)) + [UInt8](repeating: 0, count: pad)
            out += entry.data
            let size = UInt32(entry.data.count)
            var extra: [UInt8] = []
            if zip64Extra { extra = le16(1) + le16(24) + le64(UInt64(size)) + le64(UInt64(size)) + le64(UInt64(offset)) }
            central += le32(0x0201_4B50) + le16(45) + le16(45) + le16(0x0808) + le16(entry.method) + le16(0) + le16(0)
            central += le32(0)
            central += zip64Extra ? le32(0xFFFF_FFFF) + le32(0xFFFF_FFFF) : le32(size) + le32(size)
            central += le16(UInt16(name.count)) + le16(UInt16(extra.count)) + le16(0) + le16(0) + le16(0) + le32(0)
            central += zip64Extra ? le32(0xFFFF_FFFF) : le32(UInt32(offset))
            central += name + extra
        }
        let cdOffset = out.count
        out += central
        let count = UInt16(entries.count)
        if zip64End {
            let record = out.count
            out += le32(0x0606_4B50) + le64(44) + le16(45) + le16(45) + le32(0) + le32(0)
            out += le64(UInt64(count)) + le64(UInt64(count)) + le64(UInt64(central.count)) + le64(UInt64(cdOffset))
            if !dropLocator { out += le32(0x0706_4B50) + le32(0) + le64(UInt64(record)) + le32(1) }
            out += le32(0x0605_4B50) + le16(0xFFFF) + le16(0xFFFF) + le16(0xFFFF) + le16(0xFFFF)
            out += le32(0xFFFF_FFFF) + le32(0xFFFF_FFFF) + le16(0)
        } else {
            out += le32(0x0605_4B50) + le16(0) + le16(0) + le16(count) + le16(count)
            out += le32(UInt32(central.count)) + le32(UInt32(cdOffset)) + le16(0)
        }
        return out
    }

    /// The entries of a real torch.save file, for repacking.
    static func entries(of bytes: [UInt8]) throws -> [Entry] {
        let zip = try ZipArchive(bytes: bytes, file: "source")
        return try zip.order.map { Entry(name: $0, data: Array(try zip.data($0))) }
    }
}

func le16(_ v: UInt16) -> [UInt8] { withUnsafeBytes(of: v.littleEndian, Array.init) }
func le32(_ v: UInt32) -> [UInt8] { withUnsafeBytes(of: v.littleEndian, Array.init) }
func le64(_ v: UInt64) -> [UInt8] { withUnsafeBytes(of: v.littleEndian, Array.init) }

/// Hand-written pickle opcodes, for files no honest torch.save produces.
enum P {
    static let proto: [UInt8] = [0x80, 0x02]
    static let stop: [UInt8] = [0x2E]
    static let mark: [UInt8] = [0x28]
    static let tuple: [UInt8] = [0x74]
    static let tuple1: [UInt8] = [0x85]
    static let emptyTuple: [UInt8] = [0x29]
    static let emptyList: [UInt8] = [0x5D]
    static let emptyDict: [UInt8] = [0x7D]
    static let append: [UInt8] = [0x61]
    static let setItem: [UInt8] = [0x73]
    static let setItems: [UInt8] = [0x75]
    static let reduce: [UInt8] = [0x52]
    static let persid: [UInt8] = [0x51]
    static let newFalse: [UInt8] = [0x89]

    static func global(_ module: String, _ name: String) -> [UInt8] { [0x63] + Array("\(module)\n\(name)\n".utf8) }
    static func str(_ s: String) -> [UInt8] { let u = Array(s.utf8); return [0x58] + le32(UInt32(u.count)) + u }
    static func int(_ i: Int32) -> [UInt8] { [0x4A] + le32(UInt32(bitPattern: i)) }
    static func long(_ i: Int64) -> [UInt8] { [0x8A, 8] + le64(UInt64(bitPattern: i)) }
    static func put(_ i: UInt8) -> [UInt8] { [0x71, i] }
    static func get(_ i: UInt8) -> [UInt8] { [0x68, i] }
    static func ints(_ values: [Int64]) -> [UInt8] { mark + values.flatMap(long) + tuple }

    /// `OrderedDict()` filled with `items` (each a key and its value's opcodes).
    static func orderedDict(_ items: [(String, [UInt8])]) -> [UInt8] {
        global("collections", "OrderedDict") + emptyTuple + reduce + mark + items.flatMap { str($0.0) + $0.1 } + setItems
    }

    /// `_rebuild_tensor_v2(('storage', FloatStorage, key, 'cpu', numel), offset, shape, stride, False, OrderedDict())`.
    static func tensor(key: String, numel: Int64, offset: Int64, shape: [Int64], strides: [Int64],
                       storage: String = "FloatStorage") -> [UInt8] {
        global("torch._utils", "_rebuild_tensor_v2") + mark
            + mark + str("storage") + global("torch", storage) + str(key) + str("cpu") + long(numel) + tuple + persid
            + long(offset) + ints(shape) + ints(strides) + newFalse + global("collections", "OrderedDict") + emptyTuple + reduce
            + tuple + reduce
    }

    static func pickle(_ body: [UInt8]) -> [UInt8] { proto + body + stop }

    /// A torch.save-shaped archive around `pickle` and raw storages.
    static func archive(_ pickle: [UInt8], storages: [String: [Float]] = [:], top: String = "archive") -> [UInt8] {
        var files: [(String, [UInt8])] = [("\(top)/data.pkl", pickle), ("\(top)/byteorder", Array("little".utf8))]
        for key in storages.keys.sorted() {
            files.append(("\(top)/data/\(key)", storages[key]!.flatMap { le32($0.bitPattern) }))
        }
        files.append(("\(top)/version", Array("3\n".utf8)))
        return TestZip(files).bytes()
    }
}
