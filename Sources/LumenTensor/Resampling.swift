/// Pooling and integer-factor up-sampling with PyTorch's index rules.
enum Resampling {
    /// MaxPool with `kernel` = window and `stride` on every spatial axis, no
    /// padding, floor mode: out = ⌊(n − k)/s⌋ + 1.
    static func maxPool(_ x: Tensor, kernel k: Int, stride s: Int, pool: ComputePool) -> Tensor {
        if k == 2 && s == 2 { return Ops.pool2(x) }
        let (n, c, d, h, w) = x.dims5
        let is3D = x.rank == 5
        let kd = is3D ? k : 1, sd = is3D ? s : 1
        let od = (d - kd) / sd + 1, oh = (h - k) / s + 1, ow = (w - k) / s + 1
        var out = Tensor(uninitialized: is3D ? [n, c, od, oh, ow] : [n, c, oh, ow])
        x.data.withUnsafeBufferPointer { xb in
        out.data.withUnsafeMutableBufferPointer { ob in
            let xp = xb.baseAddress!, op = ob.baseAddress!
            pool.parallelFor(n * c) { plane in
                let src = xp + plane * d * h * w, dst = op + plane * od * oh * ow
                for z in 0..<od { for y in 0..<oh { for xx in 0..<ow {
                    var m = -Float.infinity
                    for a in 0..<kd { for b in 0..<k {
                        let row = src + ((z * sd + a) * h + y * s + b) * w + xx * s
                        for c in 0..<k { let v = row[c]; if v > m || v.isNaN { m = v } }
                    } }
                    dst[(z * oh + y) * ow + xx] = m
                } } }
            }
        }}
        return out
    }

    /// Source index and weight of each output position along one axis, as
    /// torch computes them in float: src = (dst + ½)/scale − ½, clamped at 0.
    static func linearTable(_ n: Int, scale: Int) -> [(Int, Int, Float)] {
        let inverse = 1 / Float(scale)
        return (0..<(n * scale)).map { dst in
            let src = max(0, inverse * (Float(dst) + 0.5) - 0.5)
            let i0 = min(Int(src), n - 1)
            let i1 = i0 < n - 1 ? i0 + 1 : i0
            return (i0, i1, src - Float(i0))
        }
    }

    /// Separable (bi/tri)linear ×scale, align_corners=False, one axis at a time.
    static func upsampleLinear(_ x: Tensor, scale: Int, pool: ComputePool) -> Tensor {
        var t = x
        for axis in 2..<x.rank { t = linearAxis(t, axis: axis, scale: scale, pool: pool) }
        return t
    }

    private static func linearAxis(_ x: Tensor, axis: Int, scale: Int, pool: ComputePool) -> Tensor {
        let n = x.shape[axis]
        var shape = x.shape
        shape[axis] = scale * n
        let outer = x.shape[..<axis].reduce(1, *), inner = x.shape[(axis + 1)...].reduce(1, *)
        var out = Tensor(uninitialized: shape)
        let table = linearTable(n, scale: scale)
        x.data.withUnsafeBufferPointer { xb in
        out.data.withUnsafeMutableBufferPointer { ob in
            let xp = xb.baseAddress!, op = ob.baseAddress!
            pool.parallelRanges(outer) { range in
                for o in range {
                    let src = xp + o * n * inner, dst = op + o * scale * n * inner
                    for (j, (i0, i1, l)) in table.enumerated() {
                        let a = src + i0 * inner, b = src + i1 * inner, d = dst + j * inner
                        let l0 = 1 - l
                        for i in 0..<inner { d[i] = l0 * a[i] + l * b[i] }
                    }
                }
            }
        }}
        return out
    }

    /// Nearest ×scale: src = ⌊dst / scale⌋ (torch's `nearest`, not `nearest-exact`).
    static func upsampleNearest(_ x: Tensor, scale: Int, pool: ComputePool) -> Tensor {
        let (n, c, d, h, w) = x.dims5
        let is3D = x.rank == 5
        let od = is3D ? d * scale : 1, oh = h * scale, ow = w * scale
        var out = Tensor(uninitialized: [n, c] + (is3D ? [od, oh, ow] : [oh, ow]))
        x.data.withUnsafeBufferPointer { xb in
        out.data.withUnsafeMutableBufferPointer { ob in
            let xp = xb.baseAddress!, op = ob.baseAddress!
            pool.parallelFor(n * c) { plane in
                let src = xp + plane * d * h * w, dst = op + plane * od * oh * ow
                for z in 0..<od { for y in 0..<oh {
                    let row = src + ((is3D ? z / scale : 0) * h + y / scale) * w
                    let o = dst + (z * oh + y) * ow
                    for xx in 0..<ow { o[xx] = row[xx / scale] }
                } }
            }
        }}
        return out
    }
}
