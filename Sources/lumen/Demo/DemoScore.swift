import LumenIO
import LumenPhantom

/// Scores the demo's results against the phantom's own label map.
enum DemoScore {
    static func phantomValue(_ name: String) -> Float? {
        Phantom.labelNames.first { $0.value == name }.map { Float($0.key) }
    }

    /// Dice of `value` in the result (any non-zero when nil) against `truthValue`, optionally on one k slice.
    static func dice(_ result: Volume, value: Float?, truth: Volume, truthValue: Float?, slice: Int? = nil) -> Double {
        guard let truthValue else { return .nan }
        let nz = result.spatialShape[2]
        var both = 0, a = 0, b = 0
        for i in result.tensor.data.indices where slice == nil || i % nz == slice! {
            let p = value.map { result.tensor.data[i] == $0 } ?? (result.tensor.data[i] != 0)
            let q = truth.tensor.data[i] == truthValue
            if p { a += 1 }; if q { b += 1 }; if p && q { both += 1 }
        }
        return a + b == 0 ? 1 : 2 * Double(both) / Double(a + b)
    }

    /// `count` clicks spread along the structure's longest axis, each nearest the centroid of its slab.
    static func clicks(in label: Volume, value: Float, count: Int) -> [[Int]] {
        let s = label.spatialShape
        var voxels: [[Int]] = []
        for (n, v) in label.tensor.data.enumerated() where v == value { voxels.append([n / (s[1] * s[2]), n / s[2] % s[1], n % s[2]]) }
        guard !voxels.isEmpty else { return [] }
        let extent: [Int] = (0..<3).map { d in
            let values = voxels.map { $0[d] }
            return values.max()! - values.min()!
        }
        let axis = extent.firstIndex(of: extent.max()!)!
        let sorted = voxels.sorted { $0[axis] < $1[axis] }
        return (0..<count).map { c in
            let lo = sorted.count * (2 * c + 1) / (2 * count + 2), hi = sorted.count * (2 * c + 3) / (2 * count + 2)
            let slab = Array(sorted[lo..<max(hi, lo + 1)])
            let centre = (0..<3).map { d in Double(slab.map { $0[d] }.reduce(0, +)) / Double(slab.count) }
            func distance(_ p: [Int]) -> Double {
                var sum = 0.0
                for d in 0..<3 { let x = Double(p[d]) - centre[d]; sum += x * x }
                return sum
            }
            return slab.min { distance($0) < distance($1) }!
        }
    }
}
