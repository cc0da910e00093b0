import Foundation
import LumenTensor
import Testing
@testable import LumenIO

/// Files in NpyFixtures/ were written by numpy itself (scripts/fixtures/make_checkpoint_fixtures.py).
enum NpyFixtures {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("NpyFixtures")
    static func url(_ name: String) -> URL { directory.appendingPathComponent(name + ".npy") }
}

@Suite(".npy")
struct NpyTests {
    @Test("numpy's files read as Float32 with their shapes", arguments: [
        "f4_v1", "f8_v2", "f2", "i8", "i4", "i2", "i1", "u1", "u2", "b1", "scalar", "empty",
    ])
    func numpyWritten(name: String) throws {
        let json = try JSONValue(parsing: Data(contentsOf: NpyFixtures.directory.appendingPathComponent("expected.json")))
        let expected = try #require(json[name])
        let t = try Npy.read(NpyFixtures.url(name))
        #expect(t.shape == expected["shape"]?.array?.compactMap(\.int))
        #expect(t.data == expected["values"]?.array?.compactMap(\.double).map { Float($0) })
    }

    @Test("refused layouts say why", arguments: [
        ("fortran", "Fortran-ordered arrays are not supported; save np.ascontiguousarray(x) instead"),
        ("bigendian", "big-endian dtype >f4; save with x.astype('<f4')"),
        ("complex", "dtype <c8 is not supported; save float32 (or another plain numeric dtype)"),
    ])
    func refused(name: String, detail: String) throws {
        #expect(throws: NpyError.unsupported(file: "\(name).npy", detail: detail)) { try Npy.read(NpyFixtures.url(name)) }
    }

    @Test("float32 round trip keeps shape and values, byte for byte what numpy writes")
    func roundTrip() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("lumen-\(UUID().uuidString).npy")
        defer { try? FileManager.default.removeItem(at: url) }
        let original = try Npy.read(NpyFixtures.url("f4_v1"))
        try Npy.write(original, to: url)
        #expect(try Npy.read(url) == original)
        #expect(try Data(contentsOf: url) == Data(contentsOf: NpyFixtures.url("f4_v1")))
    }

    @Test("writes leave no temp files behind and replace the destination")
    func atomic() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("lumen-npy-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("y.npy")
        try Npy.write(Tensor(shape: [2], data: [1, 2]), to: url)
        try Npy.write(Tensor(shape: [1, 3], data: [3, 4, 5]), to: url)
        #expect(try Npy.read(url) == Tensor(shape: [1, 3], data: [3, 4, 5]))
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["y.npy"])
    }

    @Test("the data starts on a 64-byte boundary for every rank", arguments: [[Int](), [5], [1, 2, 3, 4, 5], [1, 1, 7, 9, 11]])
    func alignment(shape: [Int]) throws {
        let t = Tensor(zeros: shape)
        let data = Npy.encode(t)
        let headerLength = Int(data[8]) | Int(data[9]) << 8
        #expect((10 + headerLength) % 64 == 0)
        #expect(data[10 + headerLength - 1] == 0x0A)
        #expect(try Npy.decode([UInt8](data), name: "a.npy") == t)
    }

    @Test("damaged files give specific errors")
    func damaged() throws {
        let good = [UInt8](Npy.encode(Tensor(shape: [4, 4], data: [Float](repeating: 1, count: 16))))
        #expect(throws: NpyError.truncated(file: "x.npy", expected: 64, got: 60)) {
            try Npy.decode(Array(good.dropLast(4)), name: "x.npy")
        }
        #expect(throws: NpyError.notNpy(file: "x.npy")) { try Npy.decode([0x00] + good.dropFirst(), name: "x.npy") }
        var version = good; version[6] = 9
        #expect(throws: NpyError.unsupported(file: "x.npy", detail: ".npy format version 9.0 is not supported (1.0, 2.0 and 3.0 are)")) {
            try Npy.decode(version, name: "x.npy")
        }
        #expect(throws: NpyError.truncated(file: "x.npy", expected: 118, got: 20)) { try Npy.decode(Array(good.prefix(30)), name: "x.npy") }
    }

    @Test("headers that lie about the shape", arguments: [
        ("(-4, 4)", "shape (-4, 4)"), ("(4, x)", "shape (4, x)"), ("4, 4", "shape 4"),
    ])
    func badShape(shape: String, detail: String) throws {
        #expect(throws: NpyError.badHeader(file: "x.npy", detail: detail)) { try Npy.decode(handMade(shape: shape), name: "x.npy") }
    }

    @Test("a shape far larger than the data is truncated, without allocating it")
    func hugeShape() throws {
        #expect(throws: NpyError.truncated(file: "x.npy", expected: Int.max, got: 8)) {
            try Npy.decode(handMade(shape: "(4611686018427387904, 4611686018427387904)"), name: "x.npy")
        }
        #expect(throws: NpyError.truncated(file: "x.npy", expected: 4_000_000_000_000, got: 8)) {
            try Npy.decode(handMade(shape: "(1000000000000,)"), name: "x.npy")
        }
    }

    /// A v1.0 file with the given shape text and 8 data bytes.
    private func handMade(shape: String) -> [UInt8] {
        var header = "{'descr': '<f4', 'fortran_order': False, 'shape': \(shape), }"
        while (10 + header.utf8.count + 1) % 64 != 0 { header += " " }
        header += "\n"
        return [0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(header.utf8.count & 0xFF), UInt8(header.utf8.count >> 8)]
            + Array(header.utf8) + [UInt8](repeating: 0, count: 8)
    }
}
