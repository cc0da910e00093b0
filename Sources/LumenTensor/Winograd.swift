import CBLAS
import Foundation

/// 3×3×3 stride-1 convolutions by Winograd F(2×2×2, 3×3×3): 64 multiplies per
/// 2×2×2 output block instead of 216, which is where the high-resolution
/// layers of UNet-style networks spend their time. Transformed weights are
/// made once per layer; tiles are processed in bounded chunks on Lumen's pool,
/// each chunk doing 64 small GEMMs (one per transform point).
public enum Winograd {
    /// `LUMEN_WINOGRAD=0` falls back to im2col, for comparisons.
    public static let enabled = ProcessInfo.processInfo.environment["LUMEN_WINOGRAD"] != "0"
    /// Below this many channels the 64 GEMMs are too thin to beat im2col.
    public static let minimumChannels = Int(ProcessInfo.processInfo.environment["LUMEN_WINOGRAD_MIN"] ?? "") ?? 32

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

    static let chunkFloats = Int(ProcessInfo.processInfo.environment["LUMEN_WINOGRAD_CHUNK"] ?? "") ?? (1 << 20)

    /// Tiles per chunk so the transformed input (64 × Cin × T floats) stays near 4 MiB.
    static func tilesPerChunk(cin: Int, cout: Int) -> Int {
        max(16, min(4096, chunkFloats / (64 * max(cin, cout))))
    }

    public static func forward(_ x: Tensor, transformed u: [Float], cout: Int, bias: [Float]?,
                               activation: Activation = .identity, pool: ComputePool = .shared) -> Tensor {
        let (n, cin, d, h, w) = x.dims5
        precondition(x.rank == 5, "Winograd F(2,3) here is 3-D only")
        var out = Tensor(uninitialized: [n, cout, d, h, w])
        FlopCounter.add(n * d * h * w * cout * cin * 27)
        let td = (d + 1) / 2, th = (h + 1) / 2, tw = (w + 1) / 2
        let tiles = td * th * tw
        let chunk = tilesPerChunk(cin: cin, cout: cout)
        let chunks = (tiles + chunk - 1) / chunk
        x.data.withUnsafeBufferPointer { xb in
        u.withUnsafeBufferPointer { ub in
        out.data.withUnsafeMutableBufferPointer { ob in
            for b in 0..<n {
                let xin = xb.baseAddress! + b * cin * d * h * w
                let yout = ob.baseAddress! + b * cout * d * h * w
                pool.parallelFor(chunks) { c in
                    let t0 = c * chunk, count = min(chunk, tiles - t0)
                    // Planes are padded by a cache line so the 64 streams never alias in cache sets.
                    let vStride = cin * count + 16, mStride = cout * count + 16
                    let v = UnsafeMutablePointer<Float>.allocate(capacity: 64 * vStride)
                    let m = UnsafeMutablePointer<Float>.allocate(capacity: 64 * mStride)
                    defer { v.deallocate(); m.deallocate() }
                    inputTransform(xin, cin: cin, d: d, h: h, w: w, th: th, tw: tw, tiles: t0..<(t0 + count), plane: vStride, into: v)
                    for e in 0..<64 {
                        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(cout), Int32(count), Int32(cin),
                                    1, ub.baseAddress! + e * cout * cin, Int32(cin), v + e * vStride, Int32(count),
                                    0, m + e * mStride, Int32(count))
                    }
                    outputTransform(m, cout: cout, d: d, h: h, w: w, th: th, tw: tw, tiles: t0..<(t0 + count), plane: mStride,
                                    bias: bias, activation: activation, into: yout)
                }
            }
        }}}
        return out
    }

    /// Bᵀ d B along each axis for every tile and channel; V layout [64][Cin][T].
    static func inputTransform(_ x: UnsafePointer<Float>, cin: Int, d: Int, h: Int, w: Int, th: Int, tw: Int,
                               tiles: Range<Int>, plane: Int, into v: UnsafeMutablePointer<Float>) {
        let count = tiles.count
        var tile = [Float](repeating: 0, count: 64)
        tile.withUnsafeMutableBufferPointer { buffer in
            let s = buffer.baseAddress!
            for ci in 0..<cin {
                let xc = x + ci * d * h * w
                for (q, t) in tiles.enumerated() {
                    let tz = t / (th * tw), ty = (t / tw) % th, tx = t % tw
                    let z0 = 2 * tz - 1, y0 = 2 * ty - 1, x0 = 2 * tx - 1
                    let interior = z0 >= 0 && y0 >= 0 && x0 >= 0 && z0 + 4 <= d && y0 + 4 <= h && x0 + 4 <= w
                    for a in 0..<4 {
                        let zz = z0 + a
                        for bb in 0..<4 {
                            let yy = y0 + bb
                            let row = s + (a * 4 + bb) * 4
                            if interior {
                                let src = xc + (zz * h + yy) * w + x0
                                let v0 = src[0], v1 = src[1], v2 = src[2], v3 = src[3]
                                row[0] = v0 - v2; row[1] = v1 + v2; row[2] = v2 - v1; row[3] = v1 - v3
                            } else {
                                var e: (Float, Float, Float, Float) = (0, 0, 0, 0)
                                if zz >= 0 && zz < d && yy >= 0 && yy < h {
                                    let src = xc + (zz * h + yy) * w
                                    if x0 >= 0 && x0 < w { e.0 = src[x0] }
                                    if x0 + 1 >= 0 && x0 + 1 < w { e.1 = src[x0 + 1] }
                                    if x0 + 2 < w { e.2 = src[x0 + 2] }
                                    if x0 + 3 < w { e.3 = src[x0 + 3] }
                                }
                                row[0] = e.0 - e.2; row[1] = e.1 + e.2; row[2] = e.2 - e.1; row[3] = e.1 - e.3
                            }
                        }
                    }
                    // y axis, then z axis, in place.
                    for a in 0..<4 { for c in 0..<4 {
                        let p = s + a * 16 + c
                        let v0 = p[0], v1 = p[4], v2 = p[8], v3 = p[12]
                        p[0] = v0 - v2; p[4] = v1 + v2; p[8] = v2 - v1; p[12] = v1 - v3
                    } }
                    for r in 0..<16 {
                        let p = s + r
                        let v0 = p[0], v1 = p[16], v2 = p[32], v3 = p[48]
                        p[0] = v0 - v2; p[16] = v1 + v2; p[32] = v2 - v1; p[48] = v1 - v3
                    }
                    let dst = v + ci * count + q
                    for e in 0..<64 { dst[e * plane] = s[e] }
                }
            }
        }
    }

    /// Aᵀ m A along each axis, bias and activation, clipped at odd borders.
    static func outputTransform(_ m: UnsafePointer<Float>, cout: Int, d: Int, h: Int, w: Int, th: Int, tw: Int,
                                tiles: Range<Int>, plane: Int, bias: [Float]?, activation: Activation,
                                into y: UnsafeMutablePointer<Float>) {
        let count = tiles.count
        var tile = [Float](repeating: 0, count: 64)
        tile.withUnsafeMutableBufferPointer { buffer in
            let s = buffer.baseAddress!
            for co in 0..<cout {
                let b = bias?[co] ?? 0
                let yc = y + co * d * h * w
                for (q, t) in tiles.enumerated() {
                    let src = m + co * count + q
                    for e in 0..<64 { s[e] = src[e * plane] }
                    // x axis: 4 → 2 (into slots 0, 1), then y, then z.
                    for r in 0..<16 {
                        let p = s + r * 4
                        let v0 = p[0], v1 = p[1], v2 = p[2], v3 = p[3]
                        p[0] = v0 + v1 + v2; p[1] = v1 - v2 - v3
                    }
                    for a in 0..<4 { for c in 0..<2 {
                        let p = s + a * 16 + c
                        let v0 = p[0], v1 = p[4], v2 = p[8], v3 = p[12]
                        p[0] = v0 + v1 + v2; p[4] = v1 - v2 - v3
                    } }
                    for r in 0..<2 { for c in 0..<2 {
                        let p = s + r * 4 + c
                        let v0 = p[0], v1 = p[16], v2 = p[32], v3 = p[48]
                        p[0] = v0 + v1 + v2; p[16] = v1 - v2 - v3
                    } }
                    let tz = t / (th * tw), ty = (t / tw) % th, tx = t % tw
                    for a in 0..<2 where 2 * tz + a < d {
                        for bb in 0..<2 where 2 * ty + bb < h {
                            for c in 0..<2 where 2 * tx + c < w {
                                yc[((2 * tz + a) * h + 2 * ty + bb) * w + 2 * tx + c] = activation(s[a * 16 + bb * 4 + c] + b)
                            }
                        }
                    }
                }
            }
        }
    }
}
