import CBLAS
import Foundation

/// Convolutions as GEMMs over bounded im2col chunks.
///
/// The column buffer covers a few output rows at a time, never the whole
/// volume: a 3×3×3 convolution over 96³ with 32 input channels would need a
/// 3.8 GB column matrix at once. Each chunk runs its own single-threaded sgemm
/// on Lumen's pool, and the epilogue is applied while the chunk is hot.
public enum Convolution {
    /// Output floats one column chunk aims at (K × P ≈ 1 MiB of scratch).
    static let chunkFloats = EngineOptions.current.chunkFloats

    public static func forward(_ x: Tensor, weight: Tensor, bias: [Float]?, geometry: ConvGeometry,
                               activation: Activation = .identity, pool: ComputePool = .shared) -> Tensor {
        var out = Tensor(uninitialized: [x.shape[0], weight.shape[0]] + geometry.convOutput(x.spatialShape))
        run(x, weight: weight, geometry: geometry, epilogue: ChannelEpilogue(bias: bias, activation: activation),
            pool: pool, into: &out)
        return out
    }

    /// `out` must already have the output shape; every element is written.
    static func run(_ x: Tensor, weight: Tensor, geometry: ConvGeometry, epilogue: ChannelEpilogue,
                    pool: ComputePool, into out: inout Tensor) {
        check(x, weight: weight, geometry: geometry, out: out)
        x.data.withUnsafeBufferPointer { xb in
        weight.data.withUnsafeBufferPointer { wb in
        out.data.withUnsafeMutableBufferPointer { ob in
            let target = Target(weight: wb.baseAddress!, cout: weight.shape[0], epilogue: epilogue, out: ob.baseAddress!)
            run(xb.baseAddress!, shape: x.shape, geometry: geometry, targets: [target], pool: pool)
        }}}
    }

    /// Two convolutions of the same input with the same geometry (a residual
    /// unit's first convolution and its strided shortcut): the columns are
    /// built once and feed both GEMMs.
    static func runPair(_ x: Tensor, weights: (Tensor, Tensor), geometry: ConvGeometry,
                        epilogues: (ChannelEpilogue, ChannelEpilogue), pool: ComputePool,
                        into a: inout Tensor, _ b: inout Tensor) {
        check(x, weight: weights.0, geometry: geometry, out: a)
        check(x, weight: weights.1, geometry: geometry, out: b)
        x.data.withUnsafeBufferPointer { xb in
        weights.0.data.withUnsafeBufferPointer { w0 in
        weights.1.data.withUnsafeBufferPointer { w1 in
        a.data.withUnsafeMutableBufferPointer { o0 in
        b.data.withUnsafeMutableBufferPointer { o1 in
            let targets = [
                Target(weight: w0.baseAddress!, cout: weights.0.shape[0], epilogue: epilogues.0, out: o0.baseAddress!),
                Target(weight: w1.baseAddress!, cout: weights.1.shape[0], epilogue: epilogues.1, out: o1.baseAddress!),
            ]
            run(xb.baseAddress!, shape: x.shape, geometry: geometry, targets: targets, pool: pool)
        }}}}}
    }

    static func check(_ x: Tensor, weight: Tensor, geometry: ConvGeometry, out: Tensor) {
        precondition(weight.shape[1] == x.shape[1], "conv weight \(weight.shape) does not take \(x.shape[1]) channels")
        let shape = [x.shape[0], weight.shape[0]] + geometry.convOutput(x.spatialShape)
        precondition(out.shape == shape, "conv output buffer \(out.shape) is not \(shape)")
    }

    struct Target {
        let weight: UnsafePointer<Float>
        let cout: Int
        let epilogue: ChannelEpilogue
        let out: UnsafeMutablePointer<Float>
    }

    static func run(_ xp: UnsafePointer<Float>, shape: [Int], geometry: ConvGeometry, targets: [Target], pool: ComputePool) {
        let (n, cin, d, h, w) = shape.count == 5 ? (shape[0], shape[1], shape[2], shape[3], shape[4]) : (shape[0], shape[1], 1, shape[2], shape[3])
        let (k, s, p, _) = geometry.as3D
        let outSpatial = geometry.convOutput(Array(shape.dropFirst(2)))
        let (od, oh, ow) = outSpatial.count == 3 ? (outSpatial[0], outSpatial[1], outSpatial[2]) : (1, outSpatial[0], outSpatial[1])
        let kk = cin * k[0] * k[1] * k[2]
        let inCount = d * h * w, outCount = od * oh * ow
        for t in targets { FlopCounter.add(n * outCount * t.cout * kk) }
        let pointwise = k == [1, 1, 1] && s == [1, 1, 1] && p == [0, 0, 0]
        for b in 0..<n {
            let xIn = xp + b * cin * inCount
            if pointwise {
                // A 1×1×1 convolution is already a GEMM over the input: no columns needed.
                pool.parallelRanges(outCount, minimum: 256) { r in
                    for t in targets {
                        let yOut = t.out + b * t.cout * outCount
                        GEMM.sgemm(transA: false, transB: false, m: t.cout, n: r.count, k: cin, alpha: 1, a: t.weight, lda: cin,
                                   b: xIn + r.lowerBound, ldb: inCount, beta: 0, c: yOut + r.lowerBound, ldc: outCount)
                        t.epilogue.apply(rows: yOut, channels: 0..<t.cout, ld: outCount, columns: r)
                    }
                }
                continue
            }
            let rows = od * oh
            // Bounded scratch, and at least two chunks per thread so small layers still split evenly.
            let balanced = (rows + 2 * pool.threads - 1) / (2 * pool.threads)
            let rowsPerChunk = max(1, min(balanced, chunkFloats / max(kk * ow, 1)))
            let chunks = (rows + rowsPerChunk - 1) / rowsPerChunk
            pool.parallelFor(chunks) { chunk in
                let r0 = chunk * rowsPerChunk, r1 = min(rows, r0 + rowsPerChunk)
                let cols = (r1 - r0) * ow
                let col = UnsafeMutablePointer<Float>.allocate(capacity: kk * cols)
                defer { col.deallocate() }
                Profiler.measure("  im2col") {
                    im2col(xIn, cin: cin, d: d, h: h, w: w, k: k, s: s, p: p, oh: oh, ow: ow,
                           rows: r0..<r1, into: col)
                }
                let c0 = r0 * ow
                for t in targets {
                    let yOut = t.out + b * t.cout * outCount
                    Profiler.measure("  im2col-gemm") {
                        GEMM.sgemm(transA: false, transB: false, m: t.cout, n: cols, k: kk, alpha: 1, a: t.weight, lda: kk,
                                   b: col, ldb: cols, beta: 0, c: yOut + c0, ldc: outCount)
                    }
                    t.epilogue.apply(rows: yOut, channels: 0..<t.cout, ld: outCount, columns: c0..<(c0 + cols))
                }
            }
        }
    }

    /// Columns for output rows `rows` (a row = one (z, y) pair, `ow` positions).
    /// Row index of the column matrix = ((ci·kd + a)·kh + b)·kw + c.
    static func im2col(_ x: UnsafePointer<Float>, cin: Int, d: Int, h: Int, w: Int,
                       k: [Int], s: [Int], p: [Int], oh: Int, ow: Int,
                       rows: Range<Int>, into col: UnsafeMutablePointer<Float>) {
        if s[2] > 1 {
            im2colStrided(x, cin: cin, d: d, h: h, w: w, k: k, s: s, p: p, oh: oh, ow: ow, rows: rows, into: col)
            return
        }
        let cols = rows.count * ow
        var r = 0
        for ci in 0..<cin {
            let xc = x + ci * d * h * w
            for a in 0..<k[0] { for bb in 0..<k[1] { for c in 0..<k[2] {
                let dst = col + r * cols
                var q = 0
                for row in rows {
                    let z = row / oh, y = row % oh
                    let iz = z * s[0] + a - p[0], iy = y * s[1] + bb - p[1]
                    if iz < 0 || iz >= d || iy < 0 || iy >= h {
                        dst.advanced(by: q).update(repeating: 0, count: ow)
                    } else {
                        let src = xc + (iz * h + iy) * w
                        let off = c - p[2]
                        // Valid x range for ix = x + off in [0, w).
                        let lo = min(ow, max(0, -off)), hi = min(ow, w - off)
                        if lo > 0 { dst.advanced(by: q).update(repeating: 0, count: lo) }
                        if hi > lo { dst.advanced(by: q + lo).update(from: src + lo + off, count: hi - lo) }
                        let tail = max(hi, lo)
                        if tail < ow { dst.advanced(by: q + tail).update(repeating: 0, count: ow - tail) }
                    }
                    q += ow
                }
                r += 1
            } } }
        }
    }

    /// Strided x: each input row is split once into its s phases
    /// (P_q[j] = row[j·s + q]), after which every x tap is a contiguous copy
    /// instead of a gather with a bounds check per element.
    static func im2colStrided(_ x: UnsafePointer<Float>, cin: Int, d: Int, h: Int, w: Int,
                              k: [Int], s: [Int], p: [Int], oh: Int, ow: Int,
                              rows: Range<Int>, into col: UnsafeMutablePointer<Float>) {
        let cols = rows.count * ow
        let sx = s[2], kw = k[2]
        let phaseLength = (w + sx - 1) / sx
        let phases = UnsafeMutablePointer<Float>.allocate(capacity: sx * phaseLength)
        defer { phases.deallocate() }
        // Per x tap: phase, shift into the phase and the valid output range.
        let taps: [(phase: Int, shift: Int, lo: Int, hi: Int)] = (0..<kw).map { c in
            let off = c - p[2]
            let q = ((off % sx) + sx) % sx
            let lo = off >= 0 ? 0 : min(ow, (-off + sx - 1) / sx)
            let hi = w - 1 - off >= 0 ? min(ow, (w - 1 - off) / sx + 1) : 0
            return (q, (off - q) / sx, lo, max(lo, hi))
        }
        for ci in 0..<cin {
            let xc = x + ci * d * h * w
            for a in 0..<k[0] { for bb in 0..<k[1] {
                let r0 = ((ci * k[0] + a) * k[1] + bb) * kw
                var q = 0
                for row in rows {
                    let z = row / oh, y = row % oh
                    let iz = z * s[0] + a - p[0], iy = y * s[1] + bb - p[1]
                    if iz < 0 || iz >= d || iy < 0 || iy >= h {
                        for c in 0..<kw { (col + (r0 + c) * cols + q).update(repeating: 0, count: ow) }
                    } else {
                        let src = xc + (iz * h + iy) * w
                        for ph in 0..<sx {
                            let dst = phases + ph * phaseLength
                            var j = 0, i = ph
                            while i < w { dst[j] = src[i]; j += 1; i += sx }
                        }
                        for c in 0..<kw {
                            let t = taps[c]
                            let dst = col + (r0 + c) * cols + q
                            if t.lo > 0 { dst.update(repeating: 0, count: t.lo) }
                            if t.hi > t.lo {
                                (dst + t.lo).update(from: phases + t.phase * phaseLength + t.lo + t.shift, count: t.hi - t.lo)
                            }
                            if t.hi < ow { (dst + t.hi).update(repeating: 0, count: ow - t.hi) }
                        }
                    }
                    q += ow
                }
            } }
        }
    }
}
