import Synchronization

/// A convolution whose weights have been turned, once, into the form its
/// fastest kernel wants (Winograd-transformed for 3×3×3 stride 1), with the
/// bias and epilogue folded into one per-channel affine.
///
/// Networks run the same layer on every sliding window; preparing once keeps
/// the weight transform (64 × Cout × Cin floats) out of the per-window cost.
/// `Kernels.conv` prepares on every call and is meant for one-off use.
///
/// Winograd comes in two tile sizes: F(4,3) multiplies 2.4× less than F(2,3)
/// but covers the output in 4-blocks, so the choice depends on the input's
/// extent and is made per call; each transform is made the first time it is used.
public final class PreparedConvolution: Sendable {
    public enum Method: Sendable, Equatable { case gemm, winograd, transposed }

    public let weight: Tensor
    public let geometry: ConvGeometry
    public let method: Method
    let epilogue: ChannelEpilogue
    private let winograd23Weights = Mutex<[Float]?>(nil)
    private let winograd43Weights = Mutex<[Float]?>(nil)

    /// `weight` is [Cout, Cin, k…] for a convolution and [Cin, Cout, k…]
    /// (PyTorch's ConvTranspose layout) when `transposed`.
    public init(weight: Tensor, bias: [Float]?, geometry: ConvGeometry, epilogue: Epilogue = .init(),
                transposed: Bool = false) {
        precondition(weight.rank == geometry.kernel.count + 2,
                     "weight \(weight.shape) does not fit a \(geometry.kernel.count)-D kernel \(geometry.kernel)")
        precondition(Array(weight.shape.dropFirst(2)) == geometry.kernel,
                     "weight \(weight.shape) does not match kernel \(geometry.kernel)")
        let cout = transposed ? weight.shape[1] : weight.shape[0]
        for (name, v) in [("bias", bias), ("scale", epilogue.scale), ("shift", epilogue.shift)] {
            if let v { precondition(v.count == cout, "\(name) has \(v.count) values for \(cout) output channels") }
        }
        self.weight = weight
        self.geometry = geometry
        self.epilogue = ChannelEpilogue(bias: bias, epilogue)
        if transposed {
            method = .transposed
        } else if Self.winogradFits(geometry: geometry, cin: weight.shape[1], cout: cout) {
            method = .winograd
        } else {
            method = .gemm
        }
    }

    public var inChannels: Int { method == .transposed ? weight.shape[0] : weight.shape[1] }
    public var outChannels: Int { method == .transposed ? weight.shape[1] : weight.shape[0] }

    /// 3×3×3 and 3×3 stride-1 "same" convolutions with enough channels for
    /// the transforms to pay: measured, F(4,3) beats im2col + GEMM from 4→8
    /// and 8→4 channels up (1.7–4.6× in 3-D, 1.3–2.8× in 2-D), breaks even
    /// at 2–3 input channels in 3-D and loses there in 2-D.
    static func winogradFits(geometry g: ConvGeometry, cin: Int, cout: Int) -> Bool {
        let planar = g.kernel == [3, 3] && g.stride == [1, 1] && g.padding == [1, 1]
        let volume = g.kernel == [3, 3, 3] && g.stride == [1, 1, 1] && g.padding == [1, 1, 1]
        return Winograd.enabled && (planar || volume) && cin >= 4 && cin * cout >= 16
    }

    /// 4 for F(4,3), 2 for F(2,3), 0 when this call goes to im2col or the direct kernel.
    /// F(4,3) is taken where it saves at least a quarter of F(2,3)'s multiplies
    /// and the layer is narrow enough for its rounding (see `WinogradF43.maximumChannels`); F(2,3) only with ≥ 16
    /// channels on both sides (below that its 8× transform traffic loses to im2col).
    public func winogradTile(for spatial: [Int]) -> Int {
        guard method == .winograd else { return 0 }
        if spatial.count == 2 {
            // 2-D: F(4×4, 3×3) unless the image is smaller than one tile.
            let fits = spatial.allSatisfy { $0 >= 4 } && max(inChannels, outChannels) <= WinogradF43.maximumChannels
            return fits ? 4 : 0
        }
        if WinogradF43.enabled && WinogradF43.workRatio(spatial: spatial) <= 0.75
            && max(inChannels, outChannels) <= WinogradF43.maximumChannels {
            return 4
        }
        return min(inChannels, outChannels) >= Winograd.minimumChannels ? 2 : 0
    }

    public func outputShape(for input: [Int]) -> [Int] {
        let spatial = Array(input.dropFirst(2))
        return [input[0], outChannels] + (method == .transposed ? geometry.transposedOutput(spatial) : geometry.convOutput(spatial))
    }

    public func callAsFunction(_ x: Tensor, pool: ComputePool = .shared) -> Tensor {
        var out = Tensor(uninitialized: outputShape(for: x.shape))
        run(x, into: &out, pool: pool)
        return out
    }

    /// Writes into a caller-owned buffer (a memory planner's slot) instead of
    /// allocating; `out` is reshaped to the output shape and must already hold
    /// exactly that many values, so its storage is reused when uniquely owned.
    public func run(_ x: Tensor, into out: inout Tensor, pool: ComputePool = .shared) {
        precondition(x.rank == geometry.kernel.count + 2 && x.shape[1] == inChannels,
                     "input \(x.shape) does not fit a convolution taking \(inChannels) channels in \(geometry.kernel.count)-D")
        let shape = outputShape(for: x.shape)
        precondition(out.count == shape.reduce(1, *), "output buffer holds \(out.count) values, \(shape) needs \(shape.reduce(1, *))")
        out.shape = shape
        switch (method, winogradTile(for: x.spatialShape)) {
        case (.winograd, 4) where x.rank == 4:
            let u = winograd43Weights.withLock { cached in
                if let cached { return cached }
                let u = WinogradPlanar.transformWeights(weight)
                cached = u
                return u
            }
            WinogradPlanar.run(x, transformed: u, cout: outChannels, epilogue: epilogue, pool: pool, into: &out)
        case (.winograd, 4):
            let u = winograd43Weights.withLock { cached in
                if let cached { return cached }
                let u = WinogradF43.transformWeights(weight)
                cached = u
                return u
            }
            WinogradF43.run(x, transformed: u, cout: outChannels, epilogue: epilogue, pool: pool, into: &out)
        case (.winograd, 2):
            let u = winograd23Weights.withLock { cached in
                if let cached { return cached }
                let u = Winograd.transformWeights(weight)
                cached = u
                return u
            }
            Winograd.run(x, transformed: u, cout: outChannels, epilogue: epilogue, pool: pool, into: &out)
        case (.transposed, _):
            TransposedConvolution.run(x, weight: weight, geometry: geometry, epilogue: epilogue, pool: pool, into: &out)
        default:
            if usesDirectKernel {
                DirectConvolution.run(x, weight: weight, geometry: geometry, epilogue: epilogue, pool: pool, into: &out)
            } else {
                Convolution.run(x, weight: weight, geometry: geometry, epilogue: epilogue, pool: pool, into: &out)
            }
        }
    }

    var usesDirectKernel: Bool {
        method != .transposed && DirectConvolution.fits(cin: inChannels, cout: outChannels, geometry: geometry)
    }

    /// Runs `a` and `b` on the same input. When both are im2col convolutions
    /// with the same geometry (a MONAI residual unit's strided first convolution
    /// and its strided shortcut), the column matrix is built once for both;
    /// otherwise they simply run one after the other.
    public static func pair(_ a: PreparedConvolution, _ b: PreparedConvolution, on x: Tensor,
                            pool: ComputePool = .shared) -> (Tensor, Tensor) {
        let shared = a.method == .gemm && b.method == .gemm && a.geometry == b.geometry
            && a.inChannels == b.inChannels && !a.usesDirectKernel && !b.usesDirectKernel
        guard shared else { return (a(x, pool: pool), b(x, pool: pool)) }
        precondition(x.rank == a.geometry.kernel.count + 2 && x.shape[1] == a.inChannels,
                     "input \(x.shape) does not fit a convolution taking \(a.inChannels) channels in \(a.geometry.kernel.count)-D")
        var outA = Tensor(uninitialized: a.outputShape(for: x.shape))
        var outB = Tensor(uninitialized: b.outputShape(for: x.shape))
        Convolution.runPair(x, weights: (a.weight, b.weight), geometry: a.geometry, epilogues: (a.epilogue, b.epilogue),
                            pool: pool, into: &outA, &outB)
        return (outA, outB)
    }
}
