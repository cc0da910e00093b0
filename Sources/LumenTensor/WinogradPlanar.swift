import Foundation

/// 3×3 stride-1 convolutions on 2-D images by Winograd F(4×4, 3×3): 36
/// multiplies per 4×4 output block instead of 144. The 2-D counterpart of
/// `WinogradF43` (same transforms, no z pass), for 2-D networks such as
/// deepgrow 2D and 2-D UNets, whose 3×3 layers otherwise go through im2col.
public enum WinogradPlanar {
    static let points = 36

    /// G g Gᵀ along y and x, in Double; result layout [36][Cout][Cin].
    public static func transformWeights(_ weight: Tensor) -> [Float] {
        let cout = weight.shape[0], cin = weight.shape[1]
        var u = [Float](repeating: 0, count: points * cout * cin)
        let plane = cout * cin
        u.withUnsafeMutableBufferPointer { ub in
        weight.data.withUnsafeBufferPointer { wb in
            var a = [Double](repeating: 0, count: 3 * 6)   // [y][6x]
            for pair in 0..<(cout * cin) {
                let g = wb.baseAddress! + pair * 9
                for y in 0..<3 {
                    let t = WinogradF43.expand(Double(g[y * 3]), Double(g[y * 3 + 1]), Double(g[y * 3 + 2]))
                    for c in 0..<6 { a[y * 6 + c] = t[c] }
                }
                for c in 0..<6 {
                    let t = WinogradF43.expand(a[c], a[6 + c], a[12 + c])
                    for r in 0..<6 { ub[(r * 6 + c) * plane + pair] = Float(t[r]) }
                }
            }
        }}
        return u
    }

    public static func forward(_ x: Tensor, transformed u: [Float], cout: Int, bias: [Float]?,
                               activation: Activation = .identity, pool: ComputePool = .shared,
                               tilesPerChunk requested: Int? = nil) -> Tensor {
        var out = Tensor(uninitialized: [x.shape[0], cout] + x.spatialShape)
        run(x, transformed: u, cout: cout, epilogue: ChannelEpilogue(bias: bias, activation: activation), pool: pool,
            tilesPerChunk: requested, into: &out)
        return out
    }

    /// `out` must have shape [N, cout, H, W]; every element is written.
    static func run(_ x: Tensor, transformed u: [Float], cout: Int, epilogue: ChannelEpilogue,
                    pool: ComputePool, tilesPerChunk requested: Int? = nil, into out: inout Tensor) {
        precondition(x.rank == 4, "planar Winograd takes NCHW images")
        let n = x.shape[0], cin = x.shape[1], h = x.shape[2], w = x.shape[3]
        precondition(u.count == points * cout * cin, "Winograd weights do not match \(cin) → \(cout) channels")
        precondition(out.shape == [n, cout, h, w], "Winograd output buffer \(out.shape) is not \([n, cout, h, w])")
        FlopCounter.add(n * h * w * cout * cin * 9)
        let th = (h + 3) / 4, tw = (w + 3) / 4
        // At least two chunks per thread: a plane has few tile rows, and the transforms take no channel range.
        let target = requested ?? max(8, WinogradF43.chunkFloats / (points * max(cin, cout)))
        let rows = max(1, min(target / tw, (th + 2 * pool.threads - 1) / (2 * pool.threads)))
        let skeleton = WinogradSkeleton(points: points, cin: cin, cout: cout, tiles: th * tw, rowLength: tw,
                                        target: rows * tw, splitsStages: false)
        x.data.withUnsafeBufferPointer { xb in
        u.withUnsafeBufferPointer { ub in
        out.data.withUnsafeMutableBufferPointer { ob in
            for b in 0..<n {
                let xin = xb.baseAddress! + b * cin * h * w
                let yout = ob.baseAddress! + b * cout * h * w
                skeleton.run(pool: pool, weights: ub.baseAddress!, label: "wino2d", input: { tiles, _, s in
                    inputTransform(xin, cin: cin, h: h, w: w, tw: tw, tiles: tiles, v: s.v, vStride: s.vStride)
                }, output: { tiles, _, s in
                    outputTransform(s.m, mStride: s.mStride, cout: cout, h: h, w: w, tw: tw, tiles: tiles,
                                    epilogue: epilogue, into: yout)
                })
            }
        }}}
    }

    /// Bᵀ d B for every tile and channel; V layout [36][Cin][T], a row of tiles at a time.
    static func inputTransform(_ x: UnsafePointer<Float>, cin: Int, h: Int, w: Int, tw: Int, tiles: Range<Int>,
                               v: UnsafeMutablePointer<Float>, vStride: Int) {
        let count = tiles.count
        let phaseLength = tw + 1, rawLength = 4 * phaseLength
        let raw = UnsafeMutablePointer<Float>.allocate(capacity: rawLength)
        let phases = UnsafeMutablePointer<Float>.allocate(capacity: 6 * 4 * phaseLength)
        let t = UnsafeMutablePointer<Float>.allocate(capacity: 36 * tw)
        defer { raw.deallocate(); phases.deallocate(); t.deallocate() }
        for ci in 0..<cin {
            let xc = x + ci * h * w
            var q0 = 0
            var ty = tiles.lowerBound / tw
            while q0 < count {
                for b in 0..<6 {
                    let yy = 4 * ty - 1 + b
                    let p = phases + b * 4 * phaseLength
                    if yy >= 0 && yy < h {
                        raw.update(repeating: 0, count: rawLength)
                        raw.advanced(by: 1).update(from: xc + yy * w, count: min(w, rawLength - 1))
                        for k in 0..<phaseLength {
                            p[k] = raw[4 * k]; p[phaseLength + k] = raw[4 * k + 1]
                            p[2 * phaseLength + k] = raw[4 * k + 2]; p[3 * phaseLength + k] = raw[4 * k + 3]
                        }
                    } else {
                        p.update(repeating: 0, count: 4 * phaseLength)
                    }
                }
                // x pass: t[b·6 + c][tx]
                for b in 0..<6 {
                    let p0 = phases + b * 4 * phaseLength, p1 = p0 + phaseLength, p2 = p1 + phaseLength, p3 = p2 + phaseLength
                    let o = t + b * 6 * tw
                    WinogradF43.bt(p0, p1, p2, p3, p0 + 1, p1 + 1, o, o + tw, o + 2 * tw, o + 3 * tw, o + 4 * tw, o + 5 * tw, tw)
                }
                // y pass along b, straight into the GEMM operand planes (e = r·6 + c).
                let column = ci * count + q0
                for c in 0..<6 {
                    let r = t + c * tw, st = 6 * tw
                    let o = v + c * vStride + column, ps = 6 * vStride
                    WinogradF43.bt(r, r + st, r + 2 * st, r + 3 * st, r + 4 * st, r + 5 * st,
                       o, o + ps, o + 2 * ps, o + 3 * ps, o + 4 * ps, o + 5 * ps, tw)
                }
                q0 += tw
                ty += 1
            }
        }
    }

    /// Aᵀ m A, then the epilogue, clipped at the image's edges.
    static func outputTransform(_ m: UnsafePointer<Float>, mStride: Int, cout: Int, h: Int, w: Int, tw: Int,
                                tiles: Range<Int>, epilogue: ChannelEpilogue, into y: UnsafeMutablePointer<Float>) {
        let count = tiles.count
        let t = UnsafeMutablePointer<Float>.allocate(capacity: 24 * tw)
        let line = UnsafeMutablePointer<Float>.allocate(capacity: 4 * tw)
        defer { t.deallocate(); line.deallocate() }
        for co in 0..<cout {
            let yc = y + co * h * w
            var q0 = 0
            var ty = tiles.lowerBound / tw
            while q0 < count {
                // y pass: 6 → 4 along r, from the planes into t[j·6 + c].
                let column = co * count + q0
                for c in 0..<6 {
                    let src = m + c * mStride + column, ps = 6 * mStride
                    let o = t + c * tw, st = 6 * tw
                    WinogradF43.at(src, src + ps, src + 2 * ps, src + 3 * ps, src + 4 * ps, src + 5 * ps, o, o + st, o + 2 * st, o + 3 * st, tw)
                }
                // x pass along c, interleaved into output rows.
                for j in 0..<4 where 4 * ty + j < h {
                    let r = t + j * 6 * tw
                    WinogradF43.at(r, r + tw, r + 2 * tw, r + 3 * tw, r + 4 * tw, r + 5 * tw, r, r + tw, r + 2 * tw, r + 3 * tw, tw)
                    for tx in 0..<tw {
                        line[4 * tx] = r[tx]; line[4 * tx + 1] = r[tw + tx]
                        line[4 * tx + 2] = r[2 * tw + tx]; line[4 * tx + 3] = r[3 * tw + tx]
                    }
                    let dst = yc + (4 * ty + j) * w
                    dst.update(from: line, count: w)
                    epilogue.apply(dst, channel: co, count: w)
                }
                q0 += tw
                ty += 1
            }
        }
    }
}
