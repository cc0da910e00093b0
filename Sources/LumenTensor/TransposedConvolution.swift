import CBLAS

/// Transposed convolution: one GEMM Wᵀ·X gives, for a chunk of input voxels,
/// every (output channel, kernel offset) product; those are then placed into
/// the output. Work is split over slabs of input rows so each GEMM sees all
/// output channels (a tall A, B packed once) and the placement stays in cache.
public enum TransposedConvolution {
    public static func forward(_ x: Tensor, weight: Tensor, bias: [Float]?, geometry: ConvGeometry,
                               activation: Activation = .identity, pool: ComputePool = .shared) -> Tensor {
        var out = Tensor(uninitialized: [x.shape[0], weight.shape[1]] + geometry.transposedOutput(x.spatialShape))
        run(x, weight: weight, geometry: geometry, epilogue: ChannelEpilogue(bias: bias, activation: activation),
            pool: pool, into: &out)
        return out
    }

    struct Shape {
        let cin: Int, cout: Int, d: Int, h: Int, w: Int, od: Int, oh: Int, ow: Int
        let k: [Int], s: [Int], p: [Int]
        var kv: Int { k[0] * k[1] * k[2] }
        var inCount: Int { d * h * w }
        var outCount: Int { od * oh * ow }
    }

    /// `out` must already have the output shape; its previous contents are ignored.
    static func run(_ x: Tensor, weight: Tensor, geometry: ConvGeometry, epilogue: ChannelEpilogue,
                    pool: ComputePool, into out: inout Tensor) {
        let (n, cin, d, h, w) = x.dims5
        let (k, s, p, op3) = geometry.as3D
        precondition(weight.shape[0] == cin, "transposed conv weight \(weight.shape) does not take \(cin) channels")
        let cout = weight.shape[1]
        let outSpatial = geometry.transposedOutput(x.spatialShape)
        precondition(out.shape == [n, cout] + outSpatial, "transposed conv output buffer \(out.shape) is not \([n, cout] + outSpatial)")
        let (od, oh, ow) = outSpatial.count == 3 ? (outSpatial[0], outSpatial[1], outSpatial[2]) : (1, outSpatial[0], outSpatial[1])
        let g = Shape(cin: cin, cout: cout, d: d, h: h, w: w, od: od, oh: oh, ow: ow, k: k, s: s, p: p)
        FlopCounter.add(n * g.inCount * cin * cout * g.kv)
        // kernel == stride, no padding: every output voxel receives exactly one
        // product, so placing is a store and slabs never share output voxels.
        let tiling = k == s && p == [0, 0, 0] && op3 == [0, 0, 0]
        let m = cout * g.kv
        // Slabs are whole input rows (z, y); the 2-D case has d = 1, so rows are y.
        let rows = d * h
        let balanced = (rows + 2 * pool.threads - 1) / (2 * pool.threads)
        let rowsPerSlab = max(1, min(balanced, Convolution.chunkFloats / max(m * w, 1)))

        x.data.withUnsafeBufferPointer { xb in
        weight.data.withUnsafeBufferPointer { wb in
        out.data.withUnsafeMutableBufferPointer { ob in
            let xp = xb.baseAddress!, wp = wb.baseAddress!, yp = ob.baseAddress!
            for b in 0..<n {
                let xIn = xp + b * cin * g.inCount, yOut = yp + b * cout * g.outCount
                let slab = { (r0: Int, r1: Int, place: (UnsafePointer<Float>, Range<Int>) -> Void) in
                    let count = (r1 - r0) * w
                    let col = UnsafeMutablePointer<Float>.allocate(capacity: m * count)
                    defer { col.deallocate() }
                    // col[(co·kv + t), q] = Σ_ci W[ci, co, t] · x[ci, r0·w + q]
                    GEMM.sgemm(transA: true, transB: false, m: m, n: count, k: cin, alpha: 1, a: wp, lda: m,
                               b: xIn + r0 * w, ldb: g.inCount, beta: 0, c: col, ldc: count)
                    place(col, r0..<r1)
                }
                if tiling {
                    let slabs = (rows + rowsPerSlab - 1) / rowsPerSlab
                    pool.parallelFor(slabs) { i in
                        let r0 = i * rowsPerSlab
                        slab(r0, min(rows, r0 + rowsPerSlab)) { col, range in
                            store(col, rows: range, g, epilogue: epilogue, into: yOut)
                        }
                    }
                    continue
                }
                // Overlapping kernels: slabs of whole z-planes (y-rows in 2-D), thick
                // enough that only neighbouring slabs share output voxels; even slabs
                // run together, then odd ones.
                let (axisLength, rowsPerUnit, axisStride, kernel) = d > 1 ? (d, h, s[0], k[0]) : (h, 1, s[1], k[1])
                // Each parity phase should still give every thread a slab.
                var unitsPerSlab = max(1, min(rowsPerSlab / rowsPerUnit, axisLength / (4 * pool.threads)))
                while (unitsPerSlab + 1) * axisStride <= kernel - 1 { unitsPerSlab += 1 }
                let slabs = (axisLength + unitsPerSlab - 1) / unitsPerSlab
                pool.parallelRanges(cout) { r in
                    (yOut + r.lowerBound * g.outCount).update(repeating: 0, count: r.count * g.outCount)
                }
                for parity in 0..<2 {
                    let mine = Array(stride(from: parity, to: slabs, by: 2))
                    pool.parallelFor(mine.count) { j in
                        let u0 = mine[j] * unitsPerSlab, u1 = min(axisLength, u0 + unitsPerSlab)
                        slab(u0 * rowsPerUnit, u1 * rowsPerUnit) { col, range in
                            scatter(col, rows: range, g, into: yOut)
                        }
                    }
                }
                if !epilogue.isIdentity {
                    pool.parallelFor(cout) { co in epilogue.apply(yOut + co * g.outCount, channel: co, count: g.outCount) }
                }
            }
        }}}
    }

    /// Non-overlapping case (kernel = stride, p = 0): each input voxel owns a
    /// k-block of the output. Output rows are written whole, interleaving the
    /// x offsets, and finished with the epilogue while hot.
    static func store(_ col: UnsafePointer<Float>, rows: Range<Int>, _ g: Shape, epilogue: ChannelEpilogue,
                      into y: UnsafeMutablePointer<Float>) {
        let count = rows.count * g.w, w = g.w
        let (kd, kh, kw) = (g.k[0], g.k[1], g.k[2])
        for co in 0..<g.cout {
            let yc = y + co * g.outCount
            for (i, row) in rows.enumerated() {
                let z = row / g.h, yy = row % g.h
                for a in 0..<kd { for bb in 0..<kh {
                    let dst = yc + ((z * kd + a) * g.oh + yy * kh + bb) * g.ow
                    let t0 = (a * kh + bb) * kw
                    let src = col + (co * g.kv + t0) * count + i * w
                    if kw == 2 {
                        let s1 = src + count
                        for x in 0..<w { dst[2 * x] = src[x]; dst[2 * x + 1] = s1[x] }
                    } else {
                        for c in 0..<kw {
                            let sc = src + c * count
                            for x in 0..<w { dst[x * kw + c] = sc[x] }
                        }
                    }
                    epilogue.apply(dst, channel: co, count: g.ow)
                } }
            }
        }
    }

    /// General case: out[co, z·s − p + a, …] += col[co·kv + t, q].
    static func scatter(_ col: UnsafePointer<Float>, rows: Range<Int>, _ g: Shape, into y: UnsafeMutablePointer<Float>) {
        if g.k[2] == 3 && g.s[2] == 2 && g.p[2] == 1 && g.w >= 2 {
            scatterK3S2(col, rows: rows, g, into: y)
            return
        }
        let count = rows.count * g.w, w = g.w
        let (k, s, p) = (g.k, g.s, g.p)
        for co in 0..<g.cout {
            let yc = y + co * g.outCount
            for t in 0..<g.kv {
                let a = t / (k[1] * k[2]), bb = (t / k[2]) % k[1], c = t % k[2]
                var src = col + (co * g.kv + t) * count
                // Valid x range for ox = x·sx + off in [0, ow).
                let sx = s[2], off = c - p[2]
                var lo = 0
                while lo < w && lo * sx + off < 0 { lo += 1 }
                var hi = w
                while hi > lo && (hi - 1) * sx + off >= g.ow { hi -= 1 }
                for row in rows {
                    let z = row / g.h, yy = row % g.h
                    let oz = z * s[0] + a - p[0], oy = yy * s[1] + bb - p[1]
                    if oz >= 0 && oz < g.od && oy >= 0 && oy < g.oh && lo < hi {
                        let dst = yc + (oz * g.oh + oy) * g.ow + off
                        if sx == 2 {
                            for x in lo..<hi { dst[2 * x] += src[x] }
                        } else {
                            for x in lo..<hi { dst[x * sx] += src[x] }
                        }
                    }
                    src += w
                }
            }
        }
    }

    /// MONAI's k3 s2 p1 case along x: the three x taps of an output row land
    /// on even (c = 1) and odd (c = 0 shifted, c = 2) positions, so one
    /// sequential pass adds all three instead of three strided passes.
    static func scatterK3S2(_ col: UnsafePointer<Float>, rows: Range<Int>, _ g: Shape, into y: UnsafeMutablePointer<Float>) {
        let count = rows.count * g.w, w = g.w, ow = g.ow
        let (k, s, p) = (g.k, g.s, g.p)
        for co in 0..<g.cout {
            let yc = y + co * g.outCount
            for a in 0..<k[0] { for bb in 0..<k[1] {
                let t0 = (a * k[1] + bb) * 3
                var c0 = col + (co * g.kv + t0) * count
                var c1 = c0 + count, c2 = c1 + count
                for row in rows {
                    let z = row / g.h, yy = row % g.h
                    let oz = z * s[0] + a - p[0], oy = yy * s[1] + bb - p[1]
                    if oz >= 0 && oz < g.od && oy >= 0 && oy < g.oh {
                        let dst = yc + (oz * g.oh + oy) * ow
                        for x in 0..<(w - 1) {
                            dst[2 * x] += c1[x]
                            dst[2 * x + 1] += c2[x] + c0[x + 1]
                        }
                        dst[2 * w - 2] += c1[w - 1]
                        if 2 * w - 1 < ow { dst[2 * w - 1] += c2[w - 1] }
                    }
                    c0 += w; c1 += w; c2 += w
                }
            } }
        }
    }
}
