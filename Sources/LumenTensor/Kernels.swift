/// The numeric kernels of Lumen's inference engine: CPU float32, PyTorch
/// semantics (networks.md §1), on Lumen's own compute threads.
///
/// Shapes are checked with preconditions: the layers in LumenNN validate a
/// network's shapes when it is built from a checkpoint (the user input), so a
/// mismatch here is a bug in Lumen, not bad input.
public enum Kernels {
    // MARK: Convolutions

    /// y = epilogue(conv(x) + bias). x: [N, Cin, (D,) H, W]; weight [Cout, Cin, k…].
    /// Prepares the weights on every call; layers that run repeatedly should
    /// hold a `PreparedConvolution` instead.
    public static func conv(_ x: Tensor, weight: Tensor, bias: [Float]?, geometry: ConvGeometry,
                            epilogue: Epilogue = .init(), pool: ComputePool = .shared) -> Tensor {
        PreparedConvolution(weight: weight, bias: bias, geometry: geometry, epilogue: epilogue)(x, pool: pool)
    }

    /// Transposed convolution; weight [Cin, Cout, k…] as PyTorch stores ConvTranspose.
    public static func convTranspose(_ x: Tensor, weight: Tensor, bias: [Float]?, geometry: ConvGeometry,
                                     epilogue: Epilogue = .init(), pool: ComputePool = .shared) -> Tensor {
        PreparedConvolution(weight: weight, bias: bias, geometry: geometry, epilogue: epilogue, transposed: true)(x, pool: pool)
    }

    /// One-off `conv` into a caller-owned buffer (see `PreparedConvolution.run(_:into:pool:)`).
    public static func conv(_ x: Tensor, weight: Tensor, bias: [Float]?, geometry: ConvGeometry,
                            epilogue: Epilogue = .init(), into out: inout Tensor, pool: ComputePool = .shared) {
        PreparedConvolution(weight: weight, bias: bias, geometry: geometry, epilogue: epilogue).run(x, into: &out, pool: pool)
    }

    /// Multiply-adds of one convolution (or transposed convolution) on an input
    /// of shape `input`, for GFLOP/s reporting. `weight` is the weight's shape.
    public static func multiplyAdds(conv input: [Int], weight: [Int], geometry: ConvGeometry, transposed: Bool = false) -> Int {
        let spatial = Array(input.dropFirst(2))
        let positions = transposed ? spatial.reduce(1, *) : geometry.convOutput(spatial).reduce(1, *)
        return input[0] * positions * weight.reduce(1, *)
    }

    /// Floating-point operations (2 per multiply-add) of one convolution.
    public static func flops(conv input: [Int], weight: [Int], geometry: ConvGeometry, transposed: Bool = false) -> Int {
        2 * multiplyAdds(conv: input, weight: weight, geometry: geometry, transposed: transposed)
    }

    // MARK: Normalisation

    /// Per (n, c) statistics over all voxels, biased variance (InstanceNorm, eval = train).
    public static func instanceNorm(_ x: Tensor, weight: [Float]?, bias: [Float]?, eps: Float = 1e-5,
                                    activation: Activation = .identity, pool: ComputePool = .shared) -> Tensor {
        Normalization.instanceNorm(x, weight: weight, bias: bias, eps: eps, activation: activation, pool: pool)
    }

    public static func groupNorm(_ x: Tensor, groups: Int, weight: [Float]?, bias: [Float]?, eps: Float = 1e-5,
                                 activation: Activation = .identity, pool: ComputePool = .shared) -> Tensor {
        precondition(groups > 0 && x.shape[1] % groups == 0, "GroupNorm: \(x.shape[1]) channels do not split into \(groups) groups")
        return Normalization.groupNorm(x, groups: groups, weight: weight, bias: bias, eps: eps, activation: activation, pool: pool)
    }

    /// In place: the activation buffer is normalised where it lies.
    public static func instanceNorm(_ x: inout Tensor, weight: [Float]?, bias: [Float]?, eps: Float = 1e-5,
                                    activation: Activation = .identity, pool: ComputePool = .shared) {
        Normalization.groupNorm(&x, groups: x.shape[1], weight: weight, bias: bias, eps: eps, activation: activation, pool: pool)
    }

    public static func groupNorm(_ x: inout Tensor, groups: Int, weight: [Float]?, bias: [Float]?, eps: Float = 1e-5,
                                 activation: Activation = .identity, pool: ComputePool = .shared) {
        precondition(groups > 0 && x.shape[1] % groups == 0, "GroupNorm: \(x.shape[1]) channels do not split into \(groups) groups")
        Normalization.groupNorm(&x, groups: groups, weight: weight, bias: bias, eps: eps, activation: activation, pool: pool)
    }

    /// act(x · scale[c] + shift[c]): eval BatchNorm that could not be folded into a convolution.
    public static func channelAffine(_ x: Tensor, scale: [Float], shift: [Float], activation: Activation = .identity,
                                     pool: ComputePool = .shared) -> Tensor {
        var out = x
        channelAffine(&out, scale: scale, shift: shift, activation: activation, pool: pool)
        return out
    }

    /// In place, so an activation buffer the caller owns is reused.
    public static func channelAffine(_ x: inout Tensor, scale: [Float], shift: [Float], activation: Activation = .identity,
                                     pool: ComputePool = .shared) {
        Normalization.channelAffine(&x, scale: scale, shift: shift, activation: activation, pool: pool)
    }

    // MARK: Element-wise

    public static func activate(_ x: Tensor, _ a: Activation, pool: ComputePool = .shared) -> Tensor {
        var out = x
        activate(&out, a, pool: pool)
        return out
    }

    public static func activate(_ x: inout Tensor, _ a: Activation, pool: ComputePool = .shared) {
        if a == .identity { return }
        let count = x.count
        x.data.withUnsafeMutableBufferPointer { b in
            let p = b.baseAddress!
            pool.parallelRanges(count, minimum: 1 << 15) { r in a.apply(p + r.lowerBound, count: r.count, bias: 0) }
        }
    }

    public static func sigmoid(_ x: Tensor, pool: ComputePool = .shared) -> Tensor { activate(x, .sigmoid, pool: pool) }

    /// act(a + b), shapes equal.
    public static func add(_ a: Tensor, _ b: Tensor, activation: Activation = .identity, pool: ComputePool = .shared) -> Tensor {
        precondition(a.shape == b.shape, "add of \(a.shape) and \(b.shape)")
        var out = Tensor(uninitialized: a.shape)
        let count = a.count
        a.data.withUnsafeBufferPointer { ab in
        b.data.withUnsafeBufferPointer { bb in
        out.data.withUnsafeMutableBufferPointer { ob in
            let ap = ab.baseAddress!, bp = bb.baseAddress!, op = ob.baseAddress!
            pool.parallelRanges(count, minimum: 1 << 15) { r in
                let x = ap + r.lowerBound, y = bp + r.lowerBound, o = op + r.lowerBound
                for i in 0..<r.count { o[i] = x[i] + y[i] }
                activation.apply(o, count: r.count, bias: 0)
            }
        }}}
        return out
    }

    /// a = act(a + b) in place: residual sums reuse the branch's buffer.
    public static func add(into a: inout Tensor, _ b: Tensor, activation: Activation = .identity, pool: ComputePool = .shared) {
        precondition(a.shape == b.shape, "add of \(a.shape) and \(b.shape)")
        let count = a.count
        a.data.withUnsafeMutableBufferPointer { ab in
        b.data.withUnsafeBufferPointer { bb in
            let ap = ab.baseAddress!, bp = bb.baseAddress!
            pool.parallelRanges(count, minimum: 1 << 15) { r in
                let x = ap + r.lowerBound, y = bp + r.lowerBound
                for i in 0..<r.count { x[i] += y[i] }
                activation.apply(x, count: r.count, bias: 0)
            }
        }}
    }

    /// Softmax over the channel axis at every voxel.
    public static func softmaxChannels(_ x: Tensor, pool: ComputePool = .shared) -> Tensor {
        Ops.softmax(x, pool: pool)
    }

    // MARK: Shape changes

    /// MaxPool, no padding, floor mode (PyTorch's defaults).
    public static func maxPool(_ x: Tensor, kernel: Int = 2, stride: Int = 2, pool: ComputePool = .shared) -> Tensor {
        precondition(kernel > 0 && stride > 0, "MaxPool kernel \(kernel), stride \(stride)")
        precondition(x.spatialShape.allSatisfy { $0 >= kernel }, "MaxPool \(kernel) does not fit \(x.shape)")
        return Resampling.maxPool(x, kernel: kernel, stride: stride, pool: pool)
    }

    /// (Bi/tri)linear up-sampling by an integer factor, align_corners=False.
    public static func upsampleLinear(_ x: Tensor, scale: Int = 2, pool: ComputePool = .shared) -> Tensor {
        precondition(scale > 0, "upsampling scale \(scale)")
        return Resampling.upsampleLinear(x, scale: scale, pool: pool)
    }

    public static func upsampleNearest(_ x: Tensor, scale: Int = 2, pool: ComputePool = .shared) -> Tensor {
        precondition(scale > 0, "upsampling scale \(scale)")
        return Resampling.upsampleNearest(x, scale: scale, pool: pool)
    }

    /// Grows each spatial dim to `spatial` by repeating the last slice (BasicUNet's UpCat).
    public static func padHighReplicate(_ x: Tensor, to spatial: [Int]) -> Tensor {
        precondition(spatial.count == x.rank - 2 && zip(spatial, x.spatialShape).allSatisfy { $0 >= $1 },
                     "cannot pad \(x.shape) to \(spatial)")
        return Ops.padHighReplicate(x, to: spatial)
    }

    /// [a, b] along channels; batch and spatial shapes must agree.
    public static func concatChannels(_ a: Tensor, _ b: Tensor) -> Tensor {
        precondition(a.rank == b.rank && a.shape[0] == b.shape[0] && a.spatialShape == b.spatialShape,
                     "concat of \(a.shape) and \(b.shape)")
        return Ops.concat(a, b)
    }

    // MARK: GEMM

    /// Row-major C = alpha·op(A)·op(B) + beta·C on the calling thread (OpenBLAS
    /// is pinned to one thread; split work across `ComputePool` to use more).
    public static func sgemm(transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int,
                             alpha: Float = 1, a: UnsafePointer<Float>, lda: Int,
                             b: UnsafePointer<Float>, ldb: Int,
                             beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int) {
        GEMM.sgemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda,
                   b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
    }
}
