import Foundation
import LumenIO
import LumenTensor
@testable import LumenTransforms

/// The MONAI 1.6.1 references written by scripts/fixtures/make_transform_fixtures.py.
enum Fixture {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")

    static let index: JSONValue? = try? JSONValue(parsing: Data(contentsOf: root.appendingPathComponent("index.json")))

    /// Case names of one kind; a missing index yields one impossible name so the test fails loudly.
    static func names(_ kinds: Set<String>) -> [String] {
        guard let cases = index?["cases"]?.array else { return ["<fixtures missing: run scripts/fixtures/make_transform_fixtures.py>"] }
        return cases.filter { kinds.contains($0["kind"]?.string ?? "") }.compactMap { $0["name"]?.string }
    }

    static func spec(_ name: String) throws -> JSONValue {
        guard let c = index?["cases"]?.array?.first(where: { $0["name"]?.string == name }) else {
            throw FixtureError.missing(name)
        }
        return c
    }

    static func array(_ name: String, _ part: String) throws -> Tensor {
        try Npy.read(root.appendingPathComponent("\(name)_\(part).npy"))
    }

    static func matrix(_ v: JSONValue?) -> [[Double]]? { v?.array?.map { $0.array!.map { $0.double! } } }

    static func points(_ v: JSONValue?) -> [[Int]] { v?.array?.map { $0.array!.map { $0.int! } } ?? [] }

    /// Largest absolute difference; infinity when shapes differ.
    static func maxDiff(_ a: Tensor, _ b: Tensor) -> Float {
        guard a.shape == b.shape else { return .infinity }
        var worst: Float = 0
        for (x, y) in zip(a.data, b.data) { worst = max(worst, abs(x - y)) }
        return worst
    }

    static func scale(_ t: Tensor) -> Float { max(1, t.data.map(abs).max() ?? 0) }

    static func affineDiff(_ a: [[Double]], _ b: [[Double]]) -> Double {
        guard a.count == b.count else { return .infinity }
        return zip(a, b).map { zip($0, $1).map { abs($0 - $1) }.max() ?? 0 }.max() ?? 0
    }
}

enum FixtureError: Error { case missing(String) }
