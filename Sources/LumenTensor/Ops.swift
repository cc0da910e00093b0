/// The small tensor operations between convolutions.
public enum Ops {
    public static func activate(_ x: Tensor, _ a: Activation) -> Tensor {
        if a == .identity { return x }
        var out = x
        out.data.withUnsafeMutableBufferPointer { a.apply($0.baseAddress!, count: $0.count, bias: 0) }
        return out
    }

    public static func sigmoid(_ x: Tensor) -> Tensor { activate(x, .sigmoid) }

    /// Max pooling with kernel = stride = 2 over every spatial dim, flooring odd sizes.
    public static func maxPool2(_ x: Tensor) -> Tensor {
        Profiler.measure("maxpool") { pool2(x) }
    }

    static func pool2(_ x: Tensor) -> Tensor {
        let (n, c, d, h, w) = x.dims5
        let is3D = x.rank == 5
        let od = is3D ? d / 2 : 1, oh = h / 2, ow = w / 2
        var out = Tensor(uninitialized: is3D ? [n, c, od, oh, ow] : [n, c, oh, ow])
        x.data.withUnsafeBufferPointer { xb in
        out.data.withUnsafeMutableBufferPointer { ob in
            let xp = xb.baseAddress!, op = ob.baseAddress!
            ComputePool.shared.parallelFor(n * c) { plane in
                let src = xp + plane * d * h * w
                let dst = op + plane * od * oh * ow
                for z in 0..<od { for y in 0..<oh {
                    let r0 = src + ((is3D ? 2 * z : 0) * h + 2 * y) * w, r1 = r0 + w
                    let o = dst + (z * oh + y) * ow
                    if is3D {
                        let r2 = r0 + h * w, r3 = r2 + w
                        for x in 0..<ow {
                            let a = max(max(r0[2 * x], r0[2 * x + 1]), max(r1[2 * x], r1[2 * x + 1]))
                            let b = max(max(r2[2 * x], r2[2 * x + 1]), max(r3[2 * x], r3[2 * x + 1]))
                            o[x] = max(a, b)
                        }
                    } else {
                        for x in 0..<ow { o[x] = max(max(r0[2 * x], r0[2 * x + 1]), max(r1[2 * x], r1[2 * x + 1])) }
                    }
                } }
            }
        }}
        return out
    }

    /// ×2 (bi/tri)linear upsampling, align_corners=False (kept for older callers; see `Kernels.upsampleLinear`).
    public static func upsampleLinear2(_ x: Tensor) -> Tensor {
        Resampling.upsampleLinear(x, scale: 2, pool: .shared)
    }

    public static func upsampleNearest2(_ x: Tensor) -> Tensor {
        Resampling.upsampleNearest(x, scale: 2, pool: .shared)
    }

    /// Grows spatial dims to `target` by repeating the last slice (BasicUNet's UpCat pad).
    public static func padHighReplicate(_ x: Tensor, to target: [Int]) -> Tensor {
        let spatial = x.spatialShape
        if spatial == target { return x }
        let (n, c, d, h, w) = x.dims5
        let (td, th, tw) = target.count == 3 ? (target[0], target[1], target[2]) : (1, target[0], target[1])
        var out = Tensor(zeros: [n, c] + target)
        for plane in 0..<(n * c) { for z in 0..<td { for y in 0..<th {
            let src = ((plane * d + min(z, d - 1)) * h + min(y, h - 1)) * w
            let dst = ((plane * td + z) * th + y) * tw
            for xx in 0..<tw { out.data[dst + xx] = x.data[src + min(xx, w - 1)] }
        } } }
        return out
    }

    public static func concatChannels(_ a: Tensor, _ b: Tensor) -> Tensor {
        Profiler.measure("concat") { concat(a, b) }
    }

    static func concat(_ a: Tensor, _ b: Tensor) -> Tensor {
        precondition(a.shape[0] == b.shape[0] && a.spatialShape == b.spatialShape, "concat of \(a.shape) and \(b.shape)")
        let n = a.shape[0], sa = a.count / n, sb = b.count / n
        var out = Tensor(uninitialized: [n, a.shape[1] + b.shape[1]] + a.spatialShape)
        a.data.withUnsafeBufferPointer { ab in
        b.data.withUnsafeBufferPointer { bb in
        out.data.withUnsafeMutableBufferPointer { ob in
            let ap = ab.baseAddress!, bp = bb.baseAddress!, op = ob.baseAddress!
            // Copied in 1 MiB pieces on the pool: one thread cannot saturate memory bandwidth.
            let piece = 1 << 18
            let piecesA = (sa + piece - 1) / piece, piecesB = (sb + piece - 1) / piece
            ComputePool.shared.parallelFor(n * (piecesA + piecesB)) { item in
                let i = item / (piecesA + piecesB), j = item % (piecesA + piecesB)
                let base = op + i * (sa + sb)
                if j < piecesA {
                    let lo = j * piece, count = min(piece, sa - lo)
                    (base + lo).update(from: ap + i * sa + lo, count: count)
                } else {
                    let lo = (j - piecesA) * piece, count = min(piece, sb - lo)
                    (base + sa + lo).update(from: bp + i * sb + lo, count: count)
                }
            }
        }}}
        return out
    }

    public static func add(_ a: Tensor, _ b: Tensor, activation: Activation = .identity) -> Tensor {
        Profiler.measure("add") { addTensors(a, b, activation) }
    }

    static func addTensors(_ a: Tensor, _ b: Tensor, _ activation: Activation) -> Tensor {
        precondition(a.shape == b.shape, "add of \(a.shape) and \(b.shape)")
        var out = a
        out.data.withUnsafeMutableBufferPointer { o in
            b.data.withUnsafeBufferPointer { bb in
                for i in 0..<o.count { o[i] += bb[i] }
                if activation != .identity { activation.apply(o.baseAddress!, count: o.count, bias: 0) }
            }
        }
        return out
    }

    public static func softmaxChannels(_ x: Tensor) -> Tensor { softmax(x, pool: .shared) }

    /// Softmax over channels, max-subtracted as torch does, one spatial block
    /// at a time so the channel loop walks contiguous rows.
    static func softmax(_ x: Tensor, pool: ComputePool) -> Tensor {
        var out = Tensor(uninitialized: x.shape)
        let n = x.shape[0], c = x.shape[1], s = x.spatialCount
        let block = 1024
        let blocks = (s + block - 1) / block
        x.data.withUnsafeBufferPointer { xb in
        out.data.withUnsafeMutableBufferPointer { ob in
            let xp = xb.baseAddress!, op = ob.baseAddress!
            pool.parallelFor(n * blocks) { item in
                let b = item / blocks, i0 = (item % blocks) * block, len = min(block, s - i0)
                let src = xp + b * c * s + i0, dst = op + b * c * s + i0
                var m = [Float](repeating: -.infinity, count: len)
                var sum = [Float](repeating: 0, count: len)
                for ch in 0..<c { let row = src + ch * s; for i in 0..<len { m[i] = max(m[i], row[i]) } }
                for ch in 0..<c {
                    let row = src + ch * s, o = dst + ch * s
                    for i in 0..<len { let e = expf(row[i] - m[i]); o[i] = e; sum[i] += e }
                }
                for ch in 0..<c { let o = dst + ch * s; for i in 0..<len { o[i] /= sum[i] } }
            }
        }}
        return out
    }
}

#if canImport(Glibc)
import Glibc
#endif
