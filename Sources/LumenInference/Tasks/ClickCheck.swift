import LumenTensor

/// Clicks arrive from a person's mouse via a client that may be out of date:
/// each one is checked before any compute so the reply names the bad point.
enum ClickCheck {
    static func inside(_ points: [[Int]], shape: [Int], what: String) throws {
        for p in points {
            guard p.count == shape.count else {
                throw InferenceError.badInput("\(what) \(p) needs \(shape.count) voxel indices [i, j, k]")
            }
            guard zip(p, shape).allSatisfy({ $0 >= 0 && $0 < $1 }) else {
                throw InferenceError.badInput("\(what) \(p) lies outside the volume (size \(shape.map(String.init).joined(separator: "×")); indices start at 0)")
            }
        }
    }
}

/// Clara's deepgrow works on (D, H, W) arrays while files are (H, W, D): these
/// move the last spatial axis to the front and back, for a `[C, a, b, c]` tensor.
enum DepthAxis {
    /// `[1, X, Y, Z]` → `[Z, X, Y]` (depth as channels, as AsChannelFirstd leaves it).
    static func first(_ t: Tensor) -> Tensor {
        let (x, y, z) = (t.shape[1], t.shape[2], t.shape[3])
        var out = Tensor(zeros: [z, x, y])
        t.data.withUnsafeBufferPointer { src in
            out.data.withUnsafeMutableBufferPointer { dst in
                for i in 0..<x { for j in 0..<y {
                    let row = (i * y + j) * z
                    for k in 0..<z { dst[(k * x + i) * y + j] = src[row + k] }
                } }
            }
        }
        return out
    }

    /// `[C, Z, X, Y]` → `[C, X, Y, Z]`.
    static func last(_ t: Tensor) -> Tensor {
        let (c, z, x, y) = (t.shape[0], t.shape[1], t.shape[2], t.shape[3])
        var out = Tensor(zeros: [c, x, y, z])
        t.data.withUnsafeBufferPointer { src in
            out.data.withUnsafeMutableBufferPointer { dst in
                for ch in 0..<c { for k in 0..<z { for i in 0..<x { for j in 0..<y {
                    dst[((ch * x + i) * y + j) * z + k] = src[((ch * z + k) * x + i) * y + j]
                } } } }
            }
        }
        return out
    }

    /// Slice k of `[1, X, Y, Z]` as `[1, X, Y]`.
    static func slice(_ t: Tensor, k: Int) -> Tensor {
        let (x, y, z) = (t.shape[1], t.shape[2], t.shape[3])
        var out = Tensor(zeros: [1, x, y])
        for n in 0..<(x * y) { out.data[n] = t.data[n * z + k] }
        return out
    }

    /// `[C, X, Y]` as slice k of a zero `[C, X, Y, depth]`.
    static func place(_ plane: Tensor, k: Int, depth: Int) -> Tensor {
        let (c, x, y) = (plane.shape[0], plane.shape[1], plane.shape[2])
        var out = Tensor(zeros: [c, x, y, depth])
        for n in 0..<(c * x * y) { out.data[n * depth + k] = plane.data[n] }
        return out
    }
}
