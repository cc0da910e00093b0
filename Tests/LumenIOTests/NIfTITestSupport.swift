import Foundation
import LumenIO
import LumenTensor

/// Fixtures are made here, by the tests, never committed.
enum Fixture {
    static func directory() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("lumen-io-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }

    /// A value that differs along every axis so a transposed read cannot pass.
    static func pattern(_ i: Int, _ j: Int, _ k: Int, modulo: Int = 97) -> Float {
        Float((i + 7 * j + 31 * k) % modulo)
    }

    static func tensor(_ dims: [Int], modulo: Int = 97, offset: Float = 0) -> Tensor {
        var t = Tensor(zeros: [1] + dims)
        for i in 0..<dims[0] { for j in 0..<dims[1] { for k in 0..<dims[2] {
            t.data[(i * dims[1] + j) * dims[2] + k] = pattern(i, j, k, modulo: modulo) + offset
        } } }
        return t
    }

    static func affine(spacing: [Double], lps: Bool, oblique: Bool, origin: [Double] = [-120.5, 88.25, -300]) -> [[Double]] {
        let angle = oblique ? 0.2 : 0.0
        // Rotation about the z axis (a tilted acquisition), then axis flips for LPS.
        var r = [[cos(angle), -sin(angle), 0], [sin(angle), cos(angle), 0], [0, 0, 1.0]]
        if oblique { r = multiply(r, [[1, 0, 0], [0, cos(0.1), -sin(0.1)], [0, sin(0.1), cos(0.1)]]) }
        let flip: [Double] = lps ? [-1, -1, 1] : [1, 1, 1]
        var a = [[Double]](repeating: [0, 0, 0, 0], count: 4)
        for row in 0..<3 {
            for col in 0..<3 { a[row][col] = r[row][col] * flip[col] * spacing[col] }
            a[row][3] = origin[row]
        }
        a[3] = [0, 0, 0, 1]
        return a
    }

    static func multiply(_ a: [[Double]], _ b: [[Double]]) -> [[Double]] {
        (0..<3).map { r in (0..<3).map { c in (0..<3).map { a[r][$0] * b[$0][c] }.reduce(0, +) } }
    }

    static func patch(_ url: URL, at offset: Int, bytes: [UInt8]) throws {
        var data = try Data(contentsOf: url)
        data.replaceSubrange(offset..<(offset + bytes.count), with: bytes)
        try data.write(to: url)
    }

    static func le<T: FixedWidthInteger>(_ v: T) -> [UInt8] { withUnsafeBytes(of: v.littleEndian) { Array($0) } }
    static func le(_ v: Float) -> [UInt8] { le(v.bitPattern) }
}
