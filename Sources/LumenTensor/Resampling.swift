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

    /// (Bi/tri)linear ×scale, align_corners=False, in one pass over the output:
    /// per output plane the two source planes are blended along z, per output
    /// row the two blended rows along y, then x is interpolated from a table.
    static func upsampleLinear(_ x: Tensor, scale: Int, pool: ComputePool) -> Tensor {
        let (n, c, d, h, w) = x.dims5
        let is3D = x.rank == 5
        let od = is3D ? d * scale : 1, oh = h * scale, ow = w * scale
        let zt = is3D ? linearTable(d, scale: scale) : [(0, 0, Float(0))]
        let yt = linearTable(h, scale: scale), xt = linearTable(w, scale: scale)
        var out = Tensor(uninitialized: [n, c] + (is3D ? [od, oh, ow] : [oh, ow]))
        x.data.withUnsafeBufferPointer { xb in
        out.data.withUnsafeMutableBufferPointer { ob in
            let xp = xb.baseAddress!, op = ob.baseAddress!
            pool.parallelFor(n * c) { planeIndex in
                let src = xp + planeIndex * d * h * w, dst = op + planeIndex * od * oh * ow
                let plane = UnsafeMutablePointer<Float>.allocate(capacity: h * w)
                let row = UnsafeMutablePointer<Float>.allocate(capacity: w)
                defer { plane.deallocate(); row.deallocate() }
                for (oz, (z0, z1, lz)) in zt.enumerated() {
                    let p0 = src + z0 * h * w, p1 = src + z1 * h * w, mz = 1 - lz
                    for i in 0..<(h * w) { plane[i] = mz * p0[i] + lz * p1[i] }
                    for (oy, (y0, y1, ly)) in yt.enumerated() {
                        let r0 = plane + y0 * w, r1 = plane + y1 * w, my = 1 - ly
                        for i in 0..<w { row[i] = my * r0[i] + ly * r1[i] }
                        let o = dst + (oz * oh + oy) * ow
                        if scale == 2 && w >= 2 {
                            // The table's weights for ×2 are 0.25/0.75 (0 and 1 at the clamped left edge);
                            // written out so the loop vectorises.
                            o[0] = row[0]
                            for i in 1..<w {
                                o[2 * i - 1] = 0.75 * row[i - 1] + 0.25 * row[i]
                                o[2 * i] = 0.25 * row[i - 1] + 0.75 * row[i]
                            }
                            o[2 * w - 1] = 0.75 * row[w - 1] + 0.25 * row[w - 1]
                        } else {
                            for (ox, (x0, x1, lx)) in xt.enumerated() { o[ox] = (1 - lx) * row[x0] + lx * row[x1] }
                        }
                    }
                }
            }
        }}
        return out
    }

    /// Nearest ×scale: src = ⌊dst / scale⌋ (torch's `nearest`, not `nearest-exact`).
    /// Each output row is built once and copied to the rows that repeat it.
    static func upsampleNearest(_ x: Tensor, scale: Int, pool: ComputePool) -> Tensor {
        let (n, c, d, h, w) = x.dims5
        let is3D = x.rank == 5
        let od = is3D ? d * scale : 1, oh = h * scale, ow = w * scale
        var out = Tensor(uninitialized: [n, c] + (is3D ? [od, oh, ow] : [oh, ow]))
        x.data.withUnsafeBufferPointer { xb in
        out.data.withUnsafeMutableBufferPointer { ob in
            let xp = xb.baseAddress!, op = ob.baseAddress!
            pool.parallelFor(n * c) { planeIndex in
                let src = xp + planeIndex * d * h * w, dst = op + planeIndex * od * oh * ow
                for z in 0..<(is3D ? d : 1) {
                    let oz0 = is3D ? z * scale : 0
                    for y in 0..<h {
                        let first = dst + (oz0 * oh + y * scale) * ow
                        let s = src + (z * h + y) * w
                        if scale == 2 {
                            for i in 0..<w { first[2 * i] = s[i]; first[2 * i + 1] = s[i] }
                        } else {
                            for i in 0..<w { for j in 0..<scale { first[i * scale + j] = s[i] } }
                        }
                        for dy in 1..<scale { (first + dy * ow).update(from: first, count: ow) }
                    }
                    if is3D {
                        let slab = dst + oz0 * oh * ow
                        for dz in 1..<scale { (slab + dz * oh * ow).update(from: slab, count: oh * ow) }
                    }
                }
            }
        }}
        return out
    }
}
