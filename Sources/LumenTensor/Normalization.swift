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
        var out = x
        let n = x.shape[0], c = x.shape[1], spatial = x.spatialCount
        let perGroup = c / groups
        out.data.withUnsafeMutableBufferPointer { ob in
            let base = ob.baseAddress!
            pool.parallelFor(n * groups) { item in
                let b = item / groups, g = item % groups
                let p = base + (b * c + g * perGroup) * spatial
                let count = perGroup * spatial
                let (mean, variance) = moments(p, count: count)
                let invStd = 1 / (variance + Double(eps)).squareRoot()
                for ch in 0..<perGroup {
                    let channel = g * perGroup + ch
                    let scale = Float(invStd) * (weight?[channel] ?? 1)
                    let shift = (bias?[channel] ?? 0) - Float(mean) * scale
                    activation.apply(p + ch * spatial, count: spatial, scale: scale, shift: shift)
                }
            }
        }
        return out
    }

    /// Mean and biased variance in one pass: Float partial sums over short
    /// blocks (so the loop vectorises) gathered in Double, shifted by the first
    /// value so a large mean does not cancel the variance away.
    static func moments(_ p: UnsafePointer<Float>, count: Int) -> (Double, Double) {
        let k = p[0]
        var sum = 0.0, squares = 0.0
        var i = 0
        while i < count {
            let end = min(i + 2048, count)
            var s: Float = 0, s2: Float = 0
            for j in i..<end { let v = p[j] - k; s += v; s2 += v * v }
            sum += Double(s); squares += Double(s2)
            i = end
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
