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

    /// The next click of a simulated user, as docs/models.md scores deepgrow: the first at the
    /// centre of the structure (its most interior voxel), each later one at the centre of the
    /// largest error the last answer left, foreground where the model missed, background where it
    /// leaked. `result` nil: no answer yet. Works in the bounding box of the structure and the
    /// answer, so a click costs little even on a full-size CT.
    static func nextClick(result: Volume?, truth: Volume, value: Float) -> (voxel: [Int], foreground: Bool)? {
        let s = truth.spatialShape
        let t = truth.tensor.data, r = result?.tensor.data
        var lo = s, hi = [-1, -1, -1]
        for n in t.indices where t[n] == value || (r.map { $0[n] != 0 } ?? false) {
            let p = [n / (s[1] * s[2]), n / s[2] % s[1], n % s[2]]
            for d in 0..<3 { lo[d] = min(lo[d], p[d]); hi[d] = max(hi[d], p[d]) }
        }
        guard hi[0] >= 0 else { return nil }
        let b = (0..<3).map { hi[$0] - lo[$0] + 1 }
        func global(_ i: Int, _ j: Int, _ k: Int) -> Int { ((i + lo[0]) * s[1] + j + lo[1]) * s[2] + k + lo[2] }
        // The region to click in: the structure itself, or the errors of the last answer.
        var region = [Bool](repeating: false, count: b[0] * b[1] * b[2])
        for i in 0..<b[0] { for j in 0..<b[1] { for k in 0..<b[2] {
            let n = global(i, j, k), inTruth = t[n] == value
            region[(i * b[1] + j) * b[2] + k] = r.map { ($0[n] != 0) != inTruth } ?? inTruth
        } } }
        // Keep the largest 6-connected piece.
        var part = [Int](repeating: 0, count: region.count), best = (id: 0, size: 0), next = 0
        for start in region.indices where region[start] && part[start] == 0 {
            next += 1
            var stack = [start], size = 0
            part[start] = next
            while let q = stack.popLast() {
                size += 1
                let (i, j, k) = (q / (b[1] * b[2]), q / b[2] % b[1], q % b[2])
                for (di, dj, dk) in [(-1, 0, 0), (1, 0, 0), (0, -1, 0), (0, 1, 0), (0, 0, -1), (0, 0, 1)] {
                    let (a, c, e) = (i + di, j + dj, k + dk)
                    guard a >= 0, c >= 0, e >= 0, a < b[0], c < b[1], e < b[2] else { continue }
                    let m = (a * b[1] + c) * b[2] + e
                    if region[m] && part[m] == 0 { part[m] = next; stack.append(m) }
                }
            }
            if size > best.size { best = (next, size) }
        }
        guard best.size > 0 else { return nil }
        // Its centre: the voxel farthest (in mm, city-block chamfer) from anything outside it.
        let mm = truth.geometry.spacing
        var distance = part.map { $0 == best.id ? Double.infinity : 0 }
        for pass in 0..<2 {
            let order = pass == 0 ? Array(distance.indices) : distance.indices.reversed()
            for q in order where distance[q] > 0 {
                let (i, j, k) = (q / (b[1] * b[2]), q / b[2] % b[1], q % b[2])
                let step = pass == 0 ? -1 : 1
                for (d, w) in [(0, mm[0]), (1, mm[1]), (2, mm[2])] {
                    var p = [i, j, k]
                    p[d] += step
                    let outside = p[d] < 0 || p[d] >= b[d]
                    let neighbour = outside ? 0 : distance[(p[0] * b[1] + p[1]) * b[2] + p[2]]
                    distance[q] = min(distance[q], neighbour + w)
                }
            }
        }
        let q = distance.indices.max { distance[$0] < distance[$1] }!
        let voxel = [q / (b[1] * b[2]) + lo[0], q / b[2] % b[1] + lo[1], q % b[2] + lo[2]]
        return (voxel, t[global(voxel[0] - lo[0], voxel[1] - lo[1], voxel[2] - lo[2])] == value)
    }
}
