import CBLAS

/// Transposed convolution: one GEMM Wᵀ·X into per-kernel-offset columns, then
/// a scatter into the output. Work is split by output channel so threads never
/// write the same voxels.
public enum TransposedConvolution {
    public static func forward(_ x: Tensor, weight: Tensor, bias: [Float]?, geometry: ConvGeometry,
                               activation: Activation = .identity, pool: ComputePool = .shared) -> Tensor {
        var out = Tensor(uninitialized: [x.shape[0], weight.shape[1]] + geometry.transposedOutput(x.spatialShape))
        run(x, weight: weight, geometry: geometry, epilogue: ChannelEpilogue(bias: bias, activation: activation),
            pool: pool, into: &out)
        return out
    }

    /// `out` must already have the output shape; its previous contents are ignored.
    static func run(_ x: Tensor, weight: Tensor, geometry: ConvGeometry, epilogue: ChannelEpilogue,
                    pool: ComputePool, into out: inout Tensor) {
        let (n, cin, d, h, w) = x.dims5
        let (k, s, p, op3) = geometry.as3D
        precondition(weight.shape[0] == cin, "transposed conv weight \(weight.shape) does not take \(cin) channels")
        let cout = weight.shape[1]
        let kv = k[0] * k[1] * k[2]
        let outSpatial = geometry.transposedOutput(x.spatialShape)
        precondition(out.shape == [n, cout] + outSpatial, "transposed conv output buffer \(out.shape) is not \([n, cout] + outSpatial)")
        let (od, oh, ow) = outSpatial.count == 3 ? (outSpatial[0], outSpatial[1], outSpatial[2]) : (1, outSpatial[0], outSpatial[1])
        let inCount = d * h * w, outCount = od * oh * ow
        FlopCounter.add(n * inCount * cin * cout * kv)
        // kernel == stride, no padding: every output voxel receives exactly one
        // product, so the scatter stores instead of adding and nothing is zeroed first.
        let tiling = k == s && p == [0, 0, 0] && op3 == [0, 0, 0]
        let blocks = min(cout, pool.threads * 2)
        let perBlock = (cout + blocks - 1) / blocks
        let rowsPerChunk = max(1, Convolution.chunkFloats / max(perBlock * kv * w, 1))
        let positionsPerChunk = rowsPerChunk * w

        x.data.withUnsafeBufferPointer { xb in
        weight.data.withUnsafeBufferPointer { wb in
        out.data.withUnsafeMutableBufferPointer { ob in
            let xp = xb.baseAddress!, wp = wb.baseAddress!, opOut = ob.baseAddress!
            for b in 0..<n {
                let xIn = xp + b * cin * inCount, yOut = opOut + b * cout * outCount
                pool.parallelFor(blocks) { block in
                    let c0 = block * perBlock, c1 = min(cout, c0 + perBlock)
                    guard c0 < c1 else { return }
                    if !tiling { (yOut + c0 * outCount).update(repeating: 0, count: (c1 - c0) * outCount) }
                    let m = (c1 - c0) * kv
                    let col = UnsafeMutablePointer<Float>.allocate(capacity: m * min(positionsPerChunk, inCount))
                    defer { col.deallocate() }
                    var start = 0
                    while start < inCount {
                        let count = min(positionsPerChunk, inCount - start)
                        // col[(co·kv + t), q] = Σ_ci W[ci, co, t] · x[ci, start + q]
                        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, Int32(m), Int32(count), Int32(cin),
                                    1, wp + c0 * kv, Int32(cout * kv), xIn + start, Int32(inCount), 0, col, Int32(count))
                        if tiling {
                            store(col, channels: c0..<c1, positions: start..<(start + count), d: d, h: h, w: w,
                                  k: k, od: od, oh: oh, ow: ow, into: yOut)
                        } else {
                            scatter(col, channels: c0..<c1, positions: start..<(start + count), d: d, h: h, w: w,
                                    k: k, s: s, p: p, od: od, oh: oh, ow: ow, into: yOut)
                        }
                        start += count
                    }
                    for co in c0..<c1 {
                        epilogue.apply(yOut + co * outCount, channel: co, count: outCount)
                    }
                }
            }
        }}}
    }

    /// Non-overlapping case (kernel = stride, p = 0): each input voxel owns a
    /// k-block of the output.
    static func store(_ col: UnsafePointer<Float>, channels: Range<Int>, positions: Range<Int>,
                      d: Int, h: Int, w: Int, k: [Int], od: Int, oh: Int, ow: Int,
                      into y: UnsafeMutablePointer<Float>) {
        let count = positions.count
        let kv = k[0] * k[1] * k[2]
        let firstRow = positions.lowerBound / w, rows = count / w
        for (ci, co) in channels.enumerated() {
            let yc = y + co * od * oh * ow
            for t in 0..<kv {
                let a = t / (k[1] * k[2]), bb = (t / k[2]) % k[1], c = t % k[2]
                var src = col + (ci * kv + t) * count
                for row in firstRow..<(firstRow + rows) {
                    let z = row / h, yy = row % h
                    let dst = yc + ((z * k[0] + a) * oh + yy * k[1] + bb) * ow + c
                    let kx = k[2]
                    for x in 0..<w { dst[x * kx] = src[x] }
                    src += w
                }
            }
        }
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
