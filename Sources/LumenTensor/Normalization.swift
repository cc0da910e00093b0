/// Instance and group norm (data-dependent, so they cannot be folded into a
/// convolution like eval-mode BatchNorm). Statistics accumulate in Double so
/// the result tracks PyTorch's to float rounding on large volumes.
public enum Normalization {
    public static func instanceNorm(_ x: Tensor, weight: [Float]?, bias: [Float]?, eps: Float = 1e-5,
                                    activation: Activation = .identity, pool: ComputePool = .shared) -> Tensor {
        groupNorm(x, groups: x.shape[1], weight: weight, bias: bias, eps: eps, activation: activation, pool: pool)
    }

    public static func groupNorm(_ x: Tensor, groups: Int, weight: [Float]?, bias: [Float]?, eps: Float = 1e-5,
                                 activation: Activation = .identity, pool: ComputePool = .shared) -> Tensor {
        // Written into a fresh buffer rather than a copy of x: a copy would cost
        // one more pass over the volume than the two the norm needs.
        var out = Tensor(uninitialized: x.shape)
        x.data.withUnsafeBufferPointer { xb in
        out.data.withUnsafeMutableBufferPointer { ob in
            normalize(xb.baseAddress!, into: ob.baseAddress!, shape: x.shape, groups: groups, weight: weight, bias: bias,
                      eps: eps, activation: activation, pool: pool)
        }}
        return out
    }

    /// In place, for a buffer the caller owns.
    static func groupNorm(_ x: inout Tensor, groups: Int, weight: [Float]?, bias: [Float]?, eps: Float,
                          activation: Activation, pool: ComputePool) {
        let shape = x.shape
        x.data.withUnsafeMutableBufferPointer { xb in
            normalize(xb.baseAddress!, into: xb.baseAddress!, shape: shape, groups: groups, weight: weight, bias: bias,
                      eps: eps, activation: activation, pool: pool)
        }
    }

    static func normalize(_ src: UnsafePointer<Float>, into dst: UnsafeMutablePointer<Float>, shape: [Int], groups: Int,
                          weight: [Float]?, bias: [Float]?, eps: Float, activation: Activation, pool: ComputePool) {
        let n = shape[0], c = shape[1], spatial = shape.dropFirst(2).reduce(1, *)
        precondition(groups > 0 && c % groups == 0, "\(c) channels do not split into \(groups) groups")
        for (name, v) in [("weight", weight), ("bias", bias)] {
            if let v { precondition(v.count == c, "norm \(name) has \(v.count) values for \(c) channels") }
        }
        let perGroup = c / groups
        pool.parallelFor(n * groups) { item in
            let b = item / groups, g = item % groups
            let offset = (b * c + g * perGroup) * spatial
            let (mean, variance) = moments(src + offset, count: perGroup * spatial)
            let invStd = 1 / (variance + Double(eps)).squareRoot()
            for ch in 0..<perGroup {
                let channel = g * perGroup + ch
                let scale = Float(invStd) * (weight?[channel] ?? 1)
                let shift = (bias?[channel] ?? 0) - Float(mean) * scale
                let at = offset + ch * spatial
                activation.apply(src + at, into: dst + at, count: spatial, scale: scale, shift: shift)
            }
        }
    }

    /// Mean and biased variance in one pass: 16-lane Float partial sums over
    /// short blocks (explicit vectors, since the compiler may not reorder a
    /// float reduction) gathered in Double, shifted by the first value so a
    /// large mean does not cancel the variance away.
    static func moments(_ p: UnsafePointer<Float>, count: Int) -> (Double, Double) {
        let k = p[0]
        let kv = SIMD16<Float>(repeating: k)
        var sum = 0.0, squares = 0.0
        var i = 0
        let raw = UnsafeRawPointer(p)
        while i < count {
            let end = min(i + 4096, count)
            var s = SIMD16<Float>(), s2 = SIMD16<Float>()
            while i + 16 <= end {
                let v = raw.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self) - kv
                s += v
                s2 += v * v
                i += 16
            }
            var ts: Float = 0, ts2: Float = 0
            while i < end { let v = p[i] - k; ts += v; ts2 += v * v; i += 1 }
            sum += Double(s.sum()) + Double(ts)
            squares += Double(s2.sum()) + Double(ts2)
        }
        let m = sum / Double(count)
        return (m + Double(k), max(0, squares / Double(count) - m * m))
    }

    /// Eval BatchNorm (or any per-channel affine) when it cannot be folded.
    public static func channelAffine(_ x: Tensor, scale: [Float], shift: [Float], activation: Activation = .identity) -> Tensor {
        var out = x
        channelAffine(&out, scale: scale, shift: shift, activation: activation, pool: .shared)
        return out
    }

    static func channelAffine(_ x: inout Tensor, scale: [Float], shift: [Float], activation: Activation, pool: ComputePool) {
        let n = x.shape[0], c = x.shape[1], spatial = x.spatialCount
        precondition(scale.count == c && shift.count == c, "affine of \(scale.count)/\(shift.count) values on \(c) channels")
        x.data.withUnsafeMutableBufferPointer { ob in
            let base = ob.baseAddress!
            pool.parallelFor(n * c) { plane in
                let ch = plane % c
                activation.apply(base + plane * spatial, count: spatial, scale: scale[ch], shift: shift[ch])
            }
        }
    }
}
