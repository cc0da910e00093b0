import Foundation

/// 3×3×3 stride-1 convolutions by Winograd F(4×4×4, 3×3×3): 216 multiplies per
/// 4×4×4 output block, 8× fewer than direct and 2.4× fewer than F(2,3).
///
/// The transformed input is 216/64 = 3.4 values per output voxel instead of
/// F(2,3)'s 8, so the transforms also move less than half the memory. The
/// price is rounding: the interpolation points 0, ±1, ±2 grow the error, which
/// stays below 1e-4 relative in float32 up to 128 channels (checked in the tests); and the output
/// is covered in 4-blocks, so extents far from a multiple of 4 waste work.
/// `PreparedConvolution` weighs both when it chooses between the two.
public enum WinogradF43 {
    public static let enabled = EngineOptions.current.winograd43
    /// Rounding grows with the channel count: against a float64 reference,
    /// relative to the output's range, the error measured 2.2e-5 at 16 channels,
    /// 4.6e-5 at 64 and 6.4e-5 at 256 (F(2,3): under 7e-7). Parity is judged
    /// element by element (|Δ| ≤ 1e-4 + 1e-4·|MONAI|, networks.md), where an
    /// output near zero allows only 1e-4. With F(4,3) up to 64 channels a DynUNet
    /// with 64 filters at 64³ missed it (ProductionParityTests); up to 32, MONAI's
    /// default DynUNet at 96³ reached 0.97 of the allowance on one run and 1.5 on
    /// another (bench_peers.py); up to 16 it keeps 6× inside. Wider layers use
    /// F(2,3); the price is speed on the 32- and 64-filter networks.
    public static let maximumChannels = EngineOptions.current.winograd43MaxChannels
    static let points = 216

    /// G g Gᵀ along each axis, in Double; result layout [216][Cout][Cin].
    public static func transformWeights(_ weight: Tensor) -> [Float] {
        let cout = weight.shape[0], cin = weight.shape[1]
        var u = [Float](repeating: 0, count: points * cout * cin)
        let plane = cout * cin
        u.withUnsafeMutableBufferPointer { ub in
        weight.data.withUnsafeBufferPointer { wb in
            var a = [Double](repeating: 0, count: 3 * 3 * 6)   // [z][y][6x]
            var b = [Double](repeating: 0, count: 3 * 6 * 6)   // [z][6y][6x]
            for pair in 0..<(cout * cin) {
                let g = wb.baseAddress! + pair * 27
                for z in 0..<3 { for y in 0..<3 {
                    let t = expand(Double(g[(z * 3 + y) * 3]), Double(g[(z * 3 + y) * 3 + 1]), Double(g[(z * 3 + y) * 3 + 2]))
                    for c in 0..<6 { a[(z * 3 + y) * 6 + c] = t[c] }
                } }
                for z in 0..<3 { for c in 0..<6 {
                    let t = expand(a[(z * 3) * 6 + c], a[(z * 3 + 1) * 6 + c], a[(z * 3 + 2) * 6 + c])
                    for r in 0..<6 { b[(z * 6 + r) * 6 + c] = t[r] }
                } }
                for r in 0..<6 { for c in 0..<6 {
                    let t = expand(b[r * 6 + c], b[(6 + r) * 6 + c], b[(12 + r) * 6 + c])
                    for q in 0..<6 { ub[((q * 6 + r) * 6 + c) * plane + pair] = Float(t[q]) }
                } }
            }
        }}
        return u
    }

    /// G·(g0, g1, g2) for F(4,3) with points 0, 1, −1, 2, −2, ∞.
    @inline(__always)
    static func expand(_ g0: Double, _ g1: Double, _ g2: Double) -> [Double] {
        [g0 / 4, -(g0 + g1 + g2) / 6, -(g0 - g1 + g2) / 6,
         g0 / 24 + g1 / 12 + g2 / 6, g0 / 24 - g1 / 12 + g2 / 6, g2]
    }

    static let chunkFloats = EngineOptions.current.winograd43ChunkFloats

    /// Relative GEMM work against F(2,3) for this extent: below 1 means F(4,3) multiplies less.
    static func workRatio(spatial: [Int]) -> Double {
        let f43 = spatial.map { Double(($0 + 3) / 4) }.reduce(1, *) * 216
        let f23 = spatial.map { Double(($0 + 1) / 2) }.reduce(1, *) * 64
        return f43 / f23
    }

    public static func forward(_ x: Tensor, transformed u: [Float], cout: Int, bias: [Float]?,
                               activation: Activation = .identity, pool: ComputePool = .shared,
                               tilesPerChunk requested: Int? = nil) -> Tensor {
        var out = Tensor(uninitialized: [x.shape[0], cout] + x.spatialShape)
        run(x, transformed: u, cout: cout, epilogue: ChannelEpilogue(bias: bias, activation: activation), pool: pool,
            tilesPerChunk: requested, into: &out)
        return out
    }

    /// `out` must have shape [N, cout, D, H, W]; every element is written.
    static func run(_ x: Tensor, transformed u: [Float], cout: Int, epilogue: ChannelEpilogue,
                    pool: ComputePool, tilesPerChunk requested: Int? = nil, into out: inout Tensor) {
        let (n, cin, d, h, w) = x.dims5
        precondition(x.rank == 5, "Winograd F(4,3) here is 3-D only")
        precondition(u.count == points * cout * cin, "Winograd weights do not match \(cin) → \(cout) channels")
        precondition(out.shape == [n, cout, d, h, w], "Winograd output buffer \(out.shape) is not \([n, cout, d, h, w])")
        FlopCounter.add(n * d * h * w * cout * cin * 27)
        let td = (d + 3) / 4, th = (h + 3) / 4, tw = (w + 3) / 4
        let skeleton = WinogradSkeleton(points: points, cin: cin, cout: cout, tiles: td * th * tw, rowLength: tw,
                                        target: requested ?? max(8, chunkFloats / (points * max(cin, cout))))
        let geometry = Geometry(cin: cin, cout: cout, d: d, h: h, w: w, th: th, tw: tw)
        x.data.withUnsafeBufferPointer { xb in
        u.withUnsafeBufferPointer { ub in
        out.data.withUnsafeMutableBufferPointer { ob in
            for b in 0..<n {
                let xin = xb.baseAddress! + b * cin * d * h * w
                let yout = ob.baseAddress! + b * cout * d * h * w
                skeleton.run(pool: pool, weights: ub.baseAddress!, label: "wino43", input: { tiles, channels, s in
                    inputTransform(xin, geometry, tiles: tiles, channels: channels, s)
                }, output: { tiles, channels, s in
                    outputTransform(geometry, tiles: tiles, channels: channels, epilogue: epilogue, s, into: yout)
                })
            }
        }}}
    }

    struct Geometry {
        let cin: Int, cout: Int, d: Int, h: Int, w: Int, th: Int, tw: Int
    }

    typealias Scratch = WinogradSkeleton.Scratch

    /// Bᵀ applied to six rows of length n (any of them may be the destination).
    @inline(__always)
    static func bt(_ s0: UnsafePointer<Float>, _ s1: UnsafePointer<Float>, _ s2: UnsafePointer<Float>,
                   _ s3: UnsafePointer<Float>, _ s4: UnsafePointer<Float>, _ s5: UnsafePointer<Float>,
                   _ d0: UnsafeMutablePointer<Float>, _ d1: UnsafeMutablePointer<Float>, _ d2: UnsafeMutablePointer<Float>,
                   _ d3: UnsafeMutablePointer<Float>, _ d4: UnsafeMutablePointer<Float>, _ d5: UnsafeMutablePointer<Float>,
                   _ n: Int) {
        for i in 0..<n {
            let x0 = s0[i], x1 = s1[i], x2 = s2[i], x3 = s3[i], x4 = s4[i], x5 = s5[i]
            let a = x4 - 4 * x2, b = x3 - 4 * x1
            let c = x4 - x2, e = 2 * (x3 - x1)
            d0[i] = 4 * x0 - 5 * x2 + x4
            d1[i] = a + b
            d2[i] = a - b
            d3[i] = c + e
            d4[i] = c - e
            d5[i] = 4 * x1 - 5 * x3 + x5
        }
    }

    /// Aᵀ applied to six rows: four outputs.
    @inline(__always)
    static func at(_ s0: UnsafePointer<Float>, _ s1: UnsafePointer<Float>, _ s2: UnsafePointer<Float>,
                   _ s3: UnsafePointer<Float>, _ s4: UnsafePointer<Float>, _ s5: UnsafePointer<Float>,
                   _ d0: UnsafeMutablePointer<Float>, _ d1: UnsafeMutablePointer<Float>,
                   _ d2: UnsafeMutablePointer<Float>, _ d3: UnsafeMutablePointer<Float>, _ n: Int) {
        for i in 0..<n {
            let x0 = s0[i], x1 = s1[i], x2 = s2[i], x3 = s3[i], x4 = s4[i], x5 = s5[i]
            let p = x1 + x2, q = x1 - x2, r = x3 + x4, t = x3 - x4
            d0[i] = x0 + p + r
            d1[i] = q + 2 * t
            d2[i] = p + 4 * r
            d3[i] = q + 8 * t + x5
        }
    }

    /// Bᵀ d B along each axis for every tile and channel; V layout [216][Cin][T].
    /// Works a row of tiles at a time so every inner loop runs along x.
    static func inputTransform(_ x: UnsafePointer<Float>, _ g: Geometry, tiles: Range<Int>, channels: Range<Int>,
                               _ s: Scratch) {
        let count = tiles.count, tw = g.tw, d = g.d, h = g.h, w = g.w
        let phaseLength = tw + 1
        let rawLength = 4 * phaseLength
        let raw = UnsafeMutablePointer<Float>.allocate(capacity: rawLength)
        // 36 input rows (a, b), each stored as four phases P_q[t] = row[4t + q − 1].
        let phases = UnsafeMutablePointer<Float>.allocate(capacity: 36 * 4 * phaseLength)
        let t = UnsafeMutablePointer<Float>.allocate(capacity: 216 * tw)
        defer { raw.deallocate(); phases.deallocate(); t.deallocate() }
        for ci in channels {
            let xc = x + ci * d * h * w
            var q0 = 0
            var row = tiles.lowerBound / tw
            while q0 < count {
                let tz = row / g.th, ty = row % g.th
                for a in 0..<6 { for b in 0..<6 {
                    let zz = 4 * tz - 1 + a, yy = 4 * ty - 1 + b
                    let p = phases + (a * 6 + b) * 4 * phaseLength
                    if zz >= 0 && zz < d && yy >= 0 && yy < h {
                        raw.update(repeating: 0, count: rawLength)
                        raw.advanced(by: 1).update(from: xc + (zz * h + yy) * w, count: min(w, rawLength - 1))
                        for k in 0..<phaseLength {
                            p[k] = raw[4 * k]; p[phaseLength + k] = raw[4 * k + 1]
                            p[2 * phaseLength + k] = raw[4 * k + 2]; p[3 * phaseLength + k] = raw[4 * k + 3]
                        }
                    } else {
                        p.update(repeating: 0, count: 4 * phaseLength)
                    }
                } }
                // x pass: t[(a·6 + b)·6 + c][tx]
                for r in 0..<36 {
                    let p0 = phases + r * 4 * phaseLength, p1 = p0 + phaseLength, p2 = p1 + phaseLength, p3 = p2 + phaseLength
                    let o = t + r * 6 * tw
                    bt(p0, p1, p2, p3, p0 + 1, p1 + 1, o, o + tw, o + 2 * tw, o + 3 * tw, o + 4 * tw, o + 5 * tw, tw)
                }
                // y pass along b, in place.
                for a in 0..<6 { for c in 0..<6 {
                    let r = t + (a * 36 + c) * tw, st = 6 * tw
                    bt(r, r + st, r + 2 * st, r + 3 * st, r + 4 * st, r + 5 * st,
                       r, r + st, r + 2 * st, r + 3 * st, r + 4 * st, r + 5 * st, tw)
                } }
                // z pass along a, straight into the GEMM operand planes.
                let column = ci * count + q0
                for bc in 0..<36 {
                    let r = t + bc * tw, st = 36 * tw
                    let o = s.v + bc * s.vStride + column, ps = 36 * s.vStride
                    bt(r, r + st, r + 2 * st, r + 3 * st, r + 4 * st, r + 5 * st,
                       o, o + ps, o + 2 * ps, o + 3 * ps, o + 4 * ps, o + 5 * ps, tw)
                }
                q0 += tw
                row += 1
            }
        }
    }

    /// Aᵀ m A along each axis, then the epilogue, clipped at the volume's edges.
    static func outputTransform(_ g: Geometry, tiles: Range<Int>, channels: Range<Int>, epilogue: ChannelEpilogue,
                                _ s: Scratch, into y: UnsafeMutablePointer<Float>) {
        let count = tiles.count, tw = g.tw, d = g.d, h = g.h, w = g.w
        let t = UnsafeMutablePointer<Float>.allocate(capacity: 144 * tw)
        let line = UnsafeMutablePointer<Float>.allocate(capacity: 4 * tw)
        defer { t.deallocate(); line.deallocate() }
        for co in channels {
            let yc = y + co * d * h * w
            var q0 = 0
            var row = tiles.lowerBound / tw
            while q0 < count {
                let tz = row / g.th, ty = row % g.th
                // z pass (e = (a·6 + b)·6 + c): 6 → 4 along a, from the GEMM result planes into t[(i·6 + b)·6 + c].
                let column = co * count + q0
                for bc in 0..<36 {
                    let src = s.m + bc * s.mStride + column, ps = 36 * s.mStride
                    let o = t + bc * tw, st = 36 * tw
                    at(src, src + ps, src + 2 * ps, src + 3 * ps, src + 4 * ps, src + 5 * ps, o, o + st, o + 2 * st, o + 3 * st, tw)
                }
                // y pass along b, in place: t[(i·6 + j)·6 + c], j < 4.
                for i in 0..<4 { for c in 0..<6 {
                    let r = t + (i * 36 + c) * tw, st = 6 * tw
                    at(r, r + st, r + 2 * st, r + 3 * st, r + 4 * st, r + 5 * st, r, r + st, r + 2 * st, r + 3 * st, tw)
                } }
                // x pass along c, interleaved into output rows.
                for i in 0..<4 where 4 * tz + i < d {
                    for j in 0..<4 where 4 * ty + j < h {
                        let r = t + (i * 36 + j * 6) * tw
                        at(r, r + tw, r + 2 * tw, r + 3 * tw, r + 4 * tw, r + 5 * tw,
                           r, r + tw, r + 2 * tw, r + 3 * tw, tw)
                        let r0 = r, r1 = r + tw, r2 = r + 2 * tw, r3 = r + 3 * tw
                        for tx in 0..<tw {
                            line[4 * tx] = r0[tx]; line[4 * tx + 1] = r1[tx]
                            line[4 * tx + 2] = r2[tx]; line[4 * tx + 3] = r3[tx]
                        }
                        let dst = yc + ((4 * tz + i) * h + 4 * ty + j) * w
                        dst.update(from: line, count: w)
                        epilogue.apply(dst, channel: co, count: w)
                    }
                }
                q0 += tw
                row += 1
            }
        }
    }
}
