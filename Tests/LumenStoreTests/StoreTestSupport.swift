import Foundation
import LumenStore

/// A fresh directory per test, removed by the caller's `defer`.
func temporaryDirectory(_ name: String = "store") -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("lumen-\(name)-\(UUID().uuidString)")
    try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// Writes NIfTI-1 bytes by hand so tests control every header field, including
/// the free-text ones that libnifti-based writers would not let a test set.
enum TinyNIfTI {
    static let dims = [6, 5, 4]
    static let affine: [[Double]] = [[1.5, 0, 0, -10], [0, 1.5, 0, -20], [0, 0, 3, 5], [0, 0, 0, 1]]

    static func bytes(values: [UInt8]? = nil, dims: [Int] = dims, affine: [[Double]] = affine,
                      descrip: String = "", auxFile: String = "", intentName: String = "", dbName: String = "") -> Data {
        var h = [UInt8](repeating: 0, count: 352)
        func i32(_ v: Int32, _ o: Int) { withUnsafeBytes(of: v.littleEndian) { for (k, b) in $0.enumerated() { h[o + k] = b } } }
        func i16(_ v: Int16, _ o: Int) { withUnsafeBytes(of: v.littleEndian) { for (k, b) in $0.enumerated() { h[o + k] = b } } }
        func f32(_ v: Float, _ o: Int) { withUnsafeBytes(of: v.bitPattern.littleEndian) { for (k, b) in $0.enumerated() { h[o + k] = b } } }
        func text(_ s: String, _ o: Int, _ n: Int) { for (k, b) in s.utf8.prefix(n - 1).enumerated() { h[o + k] = b } }
        i32(348, 0)
        text(dbName, 14, 18)
        let dim: [Int16] = [3, Int16(dims[0]), Int16(dims[1]), Int16(dims[2]), 1, 1, 1, 1]
        for (k, d) in dim.enumerated() { i16(d, 40 + 2 * k) }
        text(intentName, 328, 16)
        i16(2, 70)   // uint8
        i16(8, 72)
        let spacing = (0..<3).map { c in (0..<3).map { affine[$0][c] * affine[$0][c] }.reduce(0, +).squareRoot() }
        for (k, p) in ([1] + spacing).enumerated() { f32(Float(p), 76 + 4 * k) }
        f32(352, 108)
        f32(1, 112)
        h[123] = 10
        text(descrip, 148, 80)
        text(auxFile, 228, 24)
        i16(1, 254)   // sform code
        for r in 0..<3 { for c in 0..<4 { f32(Float(affine[r][c]), 280 + 16 * r + 4 * c) } }
        h[344] = UInt8(ascii: "n"); h[345] = UInt8(ascii: "+"); h[346] = UInt8(ascii: "1")
        let n = dims.reduce(1, *)
        return Data(h + (values ?? (0..<n).map { UInt8($0 % 3) }))
    }

    static func write(_ data: Data, to dir: URL, name: String) -> URL {
        let url = dir.appendingPathComponent(name)
        FileManager.default.createFile(atPath: url.path, contents: data)
        return url
    }

    static var voxelCount: Int { dims.reduce(1, *) }
}

/// Every stored byte of a store, with gzip members also decompressed, so a test
/// can assert that a value appears nowhere.
func allStoredBytes(of directory: URL) throws -> [(path: String, bytes: Data)] {
    var result: [(String, Data)] = []
    let walker = FileManager.default.enumerator(at: directory, includingPropertiesForKeys: [.isRegularFileKey])!
    for case let url as URL in walker where (try url.resourceValues(forKeys: [.isRegularFileKey])).isRegularFile == true {
        let data = try Data(contentsOf: url)
        result.append((url.path, data))
        if data.starts(with: [0x1F, 0x8B]) {
            let gunzip = Process()
            gunzip.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            gunzip.arguments = ["gzip", "-dc", url.path]
            let pipe = Pipe()
            gunzip.standardOutput = pipe
            try gunzip.run()
            let plain = pipe.fileHandleForReading.readDataToEndOfFile()
            gunzip.waitUntilExit()
            result.append((url.path + " (decompressed)", plain))
        }
    }
    return result
}
