import CBLAS
import Foundation

/// 3×3×3 stride-1 convolutions by Winograd F(2×2×2, 3×3×3): 64 multiplies per
/// 2×2×2 output block instead of 216, which is where the high-resolution
/// layers of UNet-style networks spend their time. Transformed weights are
/// made once per layer; tiles are processed in bounded chunks on Lumen's pool,
/// each chunk doing 64 small GEMMs (one per transform point).
public enum Winograd {
    /// `LUMEN_WINOGRAD=0` falls back to im2col, for comparisons.
    public static let enabled = EngineOptions.current.winograd
    /// Below this many channels the 64 GEMMs are too thin to beat im2col.
    public static let minimumChannels = EngineOptions.current.winogradMinChannels

    /// Ĝ g Ĝᵀ along each axis; result layout [64][Cout][Cin].
    public static func transformWeights(_ weight: Tensor) -> [Float] {
        let cout = weight.shape[0], cin = weight.shape[1]
        var u = [Float](repeating: 0, count: 64 * cout * cin)
        for o in 0..<cout { for i in 0..<cin {
            let g = (0..<27).map { weight.data[(o * cin + i) * 27 + $0] }
            var a = [Float](repeating: 0, count: 4 * 3 * 3)   // x axis expanded: [z][y][4]
            for z in 0..<3 { for y in 0..<3 {
                let w = (0..<3).map { g[(z * 3 + y) * 3 + $0] }
                let t = expand(w)
                for c in 0..<4 { a[(z * 3 + y) * 4 + c] = t[c] }
            } }
            var b = [Float](repeating: 0, count: 3 * 4 * 4)   // [z][4y][4x]
            for z in 0..<3 { for c in 0..<4 {
                let t = expand((0..<3).map { a[(z * 3 + $0) * 4 + c] })
                for r in 0..<4 { b[(z * 4 + r) * 4 + c] = t[r] }
            } }
            for r in 0..<4 { for c in 0..<4 {
                let t = expand((0..<3).map { b[($0 * 4 + r) * 4 + c] })
                for q in 0..<4 { u[((q * 4 + r) * 4 + c) * cout * cin + o * cin + i] = t[q] }
            } }
        } }
        return u
    }

    @inline(__always)
    static func expand(_ w: [Float]) -> [Float] {
        [w[0], (w[0] + w[1] + w[2]) * 0.5, (w[0] - w[1] + w[2]) * 0.5, w[2]]
    }

    static let chunkFloats = EngineOptions.current.winogradChunkFloats

    /// Tiles per chunk so the transformed input (64 × Cin × T floats) stays near 4 MiB.
    static func tilesPerChunk(cin: Int, cout: Int) -> Int {
        max(16, min(4096, chunkFloats / (64 * max(cin, cout))))
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
        precondition(x.rank == 5, "Winograd F(2,3) here is 3-D only")
        precondition(u.count == 64 * cout * cin, "Winograd weights do not match \(cin) → \(cout) channels")
        precondition(out.shape == [n, cout, d, h, w], "Winograd output buffer \(out.shape) is not \([n, cout, d, h, w])")
        FlopCounter.add(n * d * h * w * cout * cin * 27)
        let td = (d + 1) / 2, th = (h + 1) / 2, tw = (w + 1) / 2
        // Chunks hold whole rows of tiles so the transforms can run along x as vectors.
        let skeleton = WinogradSkeleton(points: 64, cin: cin, cout: cout, tiles: td * th * tw, rowLength: tw,
                                        target: requested ?? tilesPerChunk(cin: cin, cout: cout))
        x.data.withUnsafeBufferPointer { xb in
        u.withUnsafeBufferPointer { ub in
        out.data.withUnsafeMutableBufferPointer { ob in
            for b in 0..<n {
                let xin = xb.baseAddress! + b * cin * d * h * w
                let yout = ob.baseAddress! + b * cout * d * h * w
                skeleton.run(pool: pool, weights: ub.baseAddress!, label: "wino", input: { tiles, channels, s in
                    inputTransform(xin, cin: cin, d: d, h: h, w: w, th: th, tw: tw, tiles: tiles, plane: s.vStride,
                                   channels: channels, into: s.v)
                }, output: { tiles, channels, s in
                    outputTransform(s.m, cout: cout, d: d, h: h, w: w, th: th, tw: tw, tiles: tiles, plane: s.mStride,
                                    epilogue: epilogue, channels: channels, into: yout)
                })
            }
        }}}
    }

    /// Bᵀ d B along each axis for every tile and channel; V layout [64][Cin][T].
    /// Works a row of tiles at a time so every inner loop runs along x.
    static func inputTransform(_ x: UnsafePointer<Float>, cin: Int, d: Int, h: Int, w: Int, th: Int, tw: Int,
                               tiles: Range<Int>, plane: Int, channels: Range<Int>? = nil,
                               into v: UnsafeMutablePointer<Float>) {
        let count = tiles.count
        let rowLength = 2 * tw + 2
        let half = tw + 1
        let rows = UnsafeMutablePointer<Float>.allocate(capacity: 16 * rowLength)
        let raw = UnsafeMutablePointer<Float>.allocate(capacity: rowLength)
        defer { raw.deallocate() }
        let t = UnsafeMutablePointer<Float>.allocate(capacity: 64 * tw)
        defer { rows.deallocate(); t.deallocate() }
        for ci in channels ?? 0..<cin {
            let xc = x + ci * d * h * w
            var q = 0
            var row = tiles.lowerBound / tw
            while q < count {
                let tz = row / th, ty = row % th
                // 4 × 4 input rows of this tile row, zero padded, starting at x = -1.
                for a in 0..<4 { for b in 0..<4 {
                    let zz = 2 * tz - 1 + a, yy = 2 * ty - 1 + b
                    // Stored deinterleaved: even input positions (x = -1, 1, 3, …) then odd ones,
                    // so the x pass below reads with unit stride.
                    let dst = rows + (a * 4 + b) * rowLength
                    if zz >= 0 && zz < d && yy >= 0 && yy < h {
                        raw.update(repeating: 0, count: rowLength)
                        raw.advanced(by: 1).update(from: xc + (zz * h + yy) * w, count: min(w, rowLength - 1))
                        for k in 0..<half { dst[k] = raw[2 * k]; dst[half + k] = raw[2 * k + 1] }
                    } else {
                        dst.update(repeating: 0, count: rowLength)
                    }
                } }
                // x pass: t[(a·4 + b)·4 + c][tx]
                for r in 0..<16 {
                    let even = rows + r * rowLength, odd = even + half
                    let o0 = t + (r * 4) * tw, o1 = o0 + tw, o2 = o1 + tw, o3 = o2 + tw
                    for tx in 0..<tw {
                        let v0 = even[tx], v1 = odd[tx], v2 = even[tx + 1], v3 = odd[tx + 1]
                        o0[tx] = v0 - v2; o1[tx] = v1 + v2; o2[tx] = v2 - v1; o3[tx] = v1 - v3
                    }
                }
                // y pass, then z pass, in place, along tx.
                for a in 0..<4 { for c in 0..<4 {
                    let p0 = t + ((a * 4 + 0) * 4 + c) * tw, p1 = t + ((a * 4 + 1) * 4 + c) * tw
                    let p2 = t + ((a * 4 + 2) * 4 + c) * tw, p3 = t + ((a * 4 + 3) * 4 + c) * tw
                    for tx in 0..<tw {
                        let v0 = p0[tx], v1 = p1[tx], v2 = p2[tx], v3 = p3[tx]
                        p0[tx] = v0 - v2; p1[tx] = v1 + v2; p2[tx] = v2 - v1; p3[tx] = v1 - v3
                    }
                } }
                // z pass, written straight into the GEMM operand planes.
                let column = ci * count + q
                for r in 0..<16 {
                    let p0 = t + r * tw, p1 = p0 + 16 * tw, p2 = p1 + 16 * tw, p3 = p2 + 16 * tw
                    let d0 = v + r * plane + column, d1 = d0 + 16 * plane, d2 = d1 + 16 * plane, d3 = d2 + 16 * plane
                    for tx in 0..<tw {
                        let v0 = p0[tx], v1 = p1[tx], v2 = p2[tx], v3 = p3[tx]
                        d0[tx] = v0 - v2; d1[tx] = v1 + v2; d2[tx] = v2 - v1; d3[tx] = v1 - v3
                    }
                }
                q += tw
                row += 1
            }
        }
    }

    /// Aᵀ m A along each axis, bias and activation, clipped at odd borders.
    static func outputTransform(_ m: UnsafePointer<Float>, cout: Int, d: Int, h: Int, w: Int, th: Int, tw: Int,
                                tiles: Range<Int>, plane: Int, epilogue: ChannelEpilogue,
                                channels: Range<Int>? = nil, into y: UnsafeMutablePointer<Float>) {
        let count = tiles.count
        let t = UnsafeMutablePointer<Float>.allocate(capacity: 64 * tw)
        let line = UnsafeMutablePointer<Float>.allocate(capacity: 2 * tw)
        defer { t.deallocate(); line.deallocate() }
        for co in channels ?? 0..<cout {
            let yc = y + co * d * h * w
            var q = 0
            var row = tiles.lowerBound / tw
            while q < count {
                let tz = row / th, ty = row % th
                // z pass (e = (a·4 + b)·4 + c): 4 → 2 along a, read straight from the GEMM result planes.
                let column = co * count + q
                for r in 0..<16 {
                    let s0 = m + r * plane + column, s1 = s0 + 16 * plane, s2 = s1 + 16 * plane, s3 = s2 + 16 * plane
                    let p0 = t + r * tw, p1 = p0 + 16 * tw
                    for tx in 0..<tw {
                        let v0 = s0[tx], v1 = s1[tx], v2 = s2[tx], v3 = s3[tx]
                        p0[tx] = v0 + v1 + v2; p1[tx] = v1 - v2 - v3
                    }
                }
                // y pass along b, for a in 0..<2
                for a in 0..<2 { for c in 0..<4 {
                    let p0 = t + ((a * 4 + 0) * 4 + c) * tw, p1 = t + ((a * 4 + 1) * 4 + c) * tw
                    let p2 = t + ((a * 4 + 2) * 4 + c) * tw, p3 = t + ((a * 4 + 3) * 4 + c) * tw
                    for tx in 0..<tw {
                        let v0 = p0[tx], v1 = p1[tx], v2 = p2[tx], v3 = p3[tx]
                        p0[tx] = v0 + v1 + v2; p1[tx] = v1 - v2 - v3
                    }
                } }
                // x pass along c, interleaved into output rows
                for a in 0..<2 where 2 * tz + a < d {
                    for bb in 0..<2 where 2 * ty + bb < h {
                        let p0 = t + ((a * 4 + bb) * 4 + 0) * tw, p1 = p0 + tw, p2 = p1 + tw, p3 = p2 + tw
                        for tx in 0..<tw {
                            let v0 = p0[tx], v1 = p1[tx], v2 = p2[tx], v3 = p3[tx]
                            line[2 * tx] = v0 + v1 + v2; line[2 * tx + 1] = v1 - v2 - v3
                        }
                        let dst = yc + ((2 * tz + a) * h + 2 * ty + bb) * w
                        dst.update(from: line, count: w)
                        epilogue.apply(dst, channel: co, count: w)
                    }
                }
                q += tw
                row += 1
            }
        }
    }
}
