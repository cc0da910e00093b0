import Foundation

/// Stride-1 convolutions with very few channels on both sides (a network's
/// last full-resolution layers, e.g. 2 → 2 classes), computed straight from
/// the input.
///
/// im2col + GEMM is a poor fit there: a GEMM with M ≤ 4 rows runs at a tenth
/// of the machine's speed while the column matrix still costs 27× the input
/// in memory traffic. Here each output row accumulates shifted input rows in
/// place, three x taps per pass, so the row stays in L1 and nothing is copied.
enum DirectConvolution {
    static let maximumOutputChannels = 4
    /// Above this many channel pairs the input rows are re-read too often;
    /// measured, 8 → 4 is already faster through im2col + GEMM.
    static let maximumChannelPairs = 8
    /// `LUMEN_DIRECT=0` sends these layers to im2col + GEMM, for comparisons.
    static let enabled = EngineOptions.current.direct

    static func fits(cin: Int, cout: Int, geometry g: ConvGeometry) -> Bool {
        enabled && cout <= maximumOutputChannels && cin * cout <= maximumChannelPairs && g.stride.allSatisfy { $0 == 1 }
    }

    /// `out` must already have the output shape; every element is written.
    static func run(_ x: Tensor, weight: Tensor, geometry: ConvGeometry, epilogue: ChannelEpilogue,
                    pool: ComputePool, into out: inout Tensor) {
        let (n, cin, d, h, w) = x.dims5
        let (k, _, p, _) = geometry.as3D
        let cout = weight.shape[0]
        let outSpatial = geometry.convOutput(x.spatialShape)
        precondition(out.shape == [n, cout] + outSpatial, "conv output buffer \(out.shape) is not \([n, cout] + outSpatial)")
        let (od, oh, ow) = outSpatial.count == 3 ? (outSpatial[0], outSpatial[1], outSpatial[2]) : (1, outSpatial[0], outSpatial[1])
        let kv = k[0] * k[1] * k[2]
        FlopCounter.add(n * od * oh * ow * cout * cin * kv)
        let inCount = d * h * w, outCount = od * oh * ow
        x.data.withUnsafeBufferPointer { xb in
        weight.data.withUnsafeBufferPointer { wb in
        out.data.withUnsafeMutableBufferPointer { ob in
            let xp = xb.baseAddress!, wp = wb.baseAddress!, yp = ob.baseAddress!
            for b in 0..<n {
                let xIn = xp + b * cin * inCount, yOut = yp + b * cout * outCount
                pool.parallelRanges(od * oh, minimum: 4) { rows in
                    for row in rows {
                        let z = row / oh, y = row % oh
                        for co in 0..<cout {
                            let acc = yOut + co * outCount + row * ow
                            acc.update(repeating: 0, count: ow)
                            for ci in 0..<cin {
                                for a in 0..<k[0] {
                                    let iz = z + a - p[0]
                                    if iz < 0 || iz >= d { continue }
                                    for bb in 0..<k[1] {
                                        let iy = y + bb - p[1]
                                        if iy < 0 || iy >= h { continue }
                                        let src = xIn + (ci * d + iz) * h * w + iy * w
                                        let taps = wp + (((co * cin + ci) * k[0] + a) * k[1] + bb) * k[2]
                                        accumulate(acc, ow: ow, src: src, w: w, taps: taps, kw: k[2], pad: p[2])
                                    }
                                }
                            }
                            epilogue.apply(acc, channel: co, count: ow)
                        }
                    }
                }
            }
        }}}
    }

    /// acc[x] += Σ_c taps[c] · src[x + c − pad], zero outside [0, w).
    @inline(__always)
    static func accumulate(_ acc: UnsafeMutablePointer<Float>, ow: Int, src: UnsafePointer<Float>, w: Int,
                           taps: UnsafePointer<Float>, kw: Int, pad: Int) {
        if kw == 3 && pad == 1 && ow == w && w >= 2 {
            let w0 = taps[0], w1 = taps[1], w2 = taps[2]
            acc[0] += w1 * src[0] + w2 * src[1]
            for x in 1..<(w - 1) { acc[x] += w0 * src[x - 1] + w1 * src[x] + w2 * src[x + 1] }
            acc[w - 1] += w0 * src[w - 2] + w1 * src[w - 1]
            return
        }
        for c in 0..<kw {
            let off = c - pad, t = taps[c]
            let lo = max(0, -off), hi = min(ow, w - off)
            if lo >= hi { continue }
            let s = src + off
            for x in lo..<hi { acc[x] += t * s[x] }
        }
    }
}
