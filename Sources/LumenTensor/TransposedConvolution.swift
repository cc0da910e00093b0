import CBLAS

/// Transposed convolution: one GEMM Wᵀ·X into per-kernel-offset columns, then
/// a scatter-add (col2im) into the output. Work is split by output channel so
/// threads never add into the same voxels.
public enum TransposedConvolution {
    public static func forward(_ x: Tensor, weight: Tensor, bias: [Float]?, geometry: ConvGeometry,
                               activation: Activation = .identity, pool: ComputePool = .shared) -> Tensor {
        let (n, cin, d, h, w) = x.dims5
        let (k, s, p, _) = geometry.as3D
        precondition(weight.shape[0] == cin, "transposed conv weight \(weight.shape) does not take \(cin) channels")
        let cout = weight.shape[1]
        let kv = k[0] * k[1] * k[2]
        let outSpatial = geometry.transposedOutput(x.spatialShape)
        let (od, oh, ow) = outSpatial.count == 3 ? (outSpatial[0], outSpatial[1], outSpatial[2]) : (1, outSpatial[0], outSpatial[1])
        let inCount = d * h * w, outCount = od * oh * ow
        var out = Tensor(zeros: [n, cout] + outSpatial)
        FlopCounter.add(n * inCount * cin * cout * kv)
        let blocks = min(cout, pool.threads * 2)
        let perBlock = (cout + blocks - 1) / blocks
        let rowsPerChunk = max(1, Convolution.chunkFloats / max(perBlock * kv * w, 1))
        let positionsPerChunk = rowsPerChunk * w

        x.data.withUnsafeBufferPointer { xb in
        weight.data.withUnsafeBufferPointer { wb in
        out.data.withUnsafeMutableBufferPointer { ob in
            let xp = xb.baseAddress!, wp = wb.baseAddress!, op = ob.baseAddress!
            for b in 0..<n {
                let xIn = xp + b * cin * inCount, yOut = op + b * cout * outCount
                pool.parallelFor(blocks) { block in
                    let c0 = block * perBlock, c1 = min(cout, c0 + perBlock)
                    guard c0 < c1 else { return }
                    let m = (c1 - c0) * kv
                    let col = UnsafeMutablePointer<Float>.allocate(capacity: m * min(positionsPerChunk, inCount))
                    defer { col.deallocate() }
                    var start = 0
                    while start < inCount {
                        let count = min(positionsPerChunk, inCount - start)
                        // col[(co·kv + t), q] = Σ_ci W[ci, co, t] · x[ci, start + q]
                        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, Int32(m), Int32(count), Int32(cin),
                                    1, wp + c0 * kv, Int32(cout * kv), xIn + start, Int32(inCount), 0, col, Int32(count))
                        scatter(col, channels: c0..<c1, positions: start..<(start + count), d: d, h: h, w: w,
                                k: k, s: s, p: p, od: od, oh: oh, ow: ow, into: yOut)
                        start += count
                    }
                    for co in c0..<c1 {
                        activation.apply(yOut + co * outCount, count: outCount, bias: bias?[co] ?? 0)
                    }
                }
            }
        }}}
        return out
    }

    static func scatter(_ col: UnsafePointer<Float>, channels: Range<Int>, positions: Range<Int>,
                        d: Int, h: Int, w: Int, k: [Int], s: [Int], p: [Int],
                        od: Int, oh: Int, ow: Int, into y: UnsafeMutablePointer<Float>) {
        let count = positions.count
        let kv = k[0] * k[1] * k[2]
        // Positions cover whole input rows (z, y): walk them without divisions.
        let firstRow = positions.lowerBound / w, rows = count / w
        for (ci, co) in channels.enumerated() {
            let yc = y + co * od * oh * ow
            for t in 0..<kv {
                let a = t / (k[1] * k[2]), bb = (t / k[2]) % k[1], c = t % k[2]
                var src = col + (ci * kv + t) * count
                for row in firstRow..<(firstRow + rows) {
                    let z = row / h, yy = row % h
                    let oz = z * s[0] + a - p[0], oy = yy * s[1] + bb - p[1]
                    if oz >= 0 && oz < od && oy >= 0 && oy < oh {
                        let dst = yc + (oz * oh + oy) * ow
                        let sx = s[2], off = c - p[2]
                        for x in 0..<w {
                            let ox = x * sx + off
                            if ox >= 0 && ox < ow { dst[ox] += src[x] }
                        }
                    }
                    src += w
                }
            }
        }
    }
}
