import LumenTensor

/// MONAI `DynUNet` (nnU-Net style): per-level kernels and strides, which may
/// be anisotropic; bias-free convs; upsampled-first concat in the decoder.
final class DynUNet: NetworkBody {
    let store = ParamStore()
    let inChannels: Int, outChannels: Int, spatialDims: Int
    let sizeMultiple: [Int]
    let plan: ExecutionPlan
    private let args: [String: JSONValue]
    /// `norm_name: "instance"`: affine=False on MONAI ≥ 0.6, affine=True on ≤ 0.5.
    private let plainInstance: Bool

    /// UnetBasicBlock (conv → norm → act, twice) or UnetResBlock (the second
    /// act moves after the residual sum; the residual is conv3 → norm3 when
    /// channels or stride change, else the input).
    struct Block {
        let main: Chain
        let residual: Chain?
        let finalActivation: Activation

        init(_ store: ParamStore, prefix: String, in inC: Int, out outC: Int, kernel: [Int], stride: [Int],
             norm: NormKind?, act: ActKind, res: Bool) {
            let p1 = zip(kernel, stride).map { ($0 - $1 + 1) / 2 }
            let p2 = kernel.map { $0 / 2 }
            // Declared in MONAI's registration order: conv1, conv2, norm1, norm2, conv3, norm3.
            let conv1 = ConvOp(store, prefix: prefix + "conv1.conv.", in: inC, out: outC, kernel: kernel, stride: stride, padding: p1, bias: false)
            let conv2 = ConvOp(store, prefix: prefix + "conv2.conv.", in: outC, out: outC, kernel: kernel,
                               stride: kernel.map { _ in 1 }, padding: p2, bias: false)
            let norm1 = norm.map { NormOp(store, prefix: prefix + "norm1.", kind: $0, channels: outC) }
            let norm2 = norm.map { NormOp(store, prefix: prefix + "norm2.", kind: $0, channels: outC) }
            let lrelu = ActOp(store, prefix: prefix + "lrelu.", kind: act)
            var ops: [Op] = [.conv(conv1)] + (norm1.map { [.norm($0)] } ?? []) + [.act(lrelu), .conv(conv2)] + (norm2.map { [.norm($0)] } ?? [])
            if res {
                var r: [Op] = []
                if inC != outC || stride.contains(where: { $0 != 1 }) {
                    r.append(.conv(ConvOp(store, prefix: prefix + "conv3.conv.", in: inC, out: outC, kernel: kernel.map { _ in 1 },
                                          stride: stride, padding: stride.map { _ in 0 }, bias: false)))
                    if let norm { r.append(.norm(NormOp(store, prefix: prefix + "norm3.", kind: norm, channels: outC))) }
                }
                residual = Chain(r)
            } else {
                ops.append(.act(lrelu))
                residual = nil
            }
            main = Chain(ops)
            switch act {
            case .leaky(let s): finalActivation = .leakyReLU(s)
            case .relu: finalActivation = .relu
            case .prelu: finalActivation = .identity   // refused by the argument parser
            }
        }

        func wire(_ b: PlanBuilder, _ x: Slot) -> Slot {
            let y = b.chain(main, x)
            guard let residual else { return y }
            return b.add(y, b.chain(residual, x), activation: finalActivation)
        }
    }

    init(args: [String: JSONValue]) throws {
        let name = "DynUNet"
        let a = try NetworkArgs(network: name, values: args, known: [
            "spatial_dims", "in_channels", "out_channels", "kernel_size", "strides", "upsample_kernel_size", "filters",
            "dropout", "norm_name", "act_name", "deep_supervision", "deep_supr_num", "res_block", "trans_bias"],
            renames: ["dimensions": "spatial_dims"])
        spatialDims = try a.int("spatial_dims")
        inChannels = try a.int("in_channels")
        outChannels = try a.int("out_channels")
        let dims = spatialDims
        guard dims == 2 || dims == 3 else { throw NetworkError.badArgument(network: name, key: "spatial_dims", detail: "must be 2 or 3") }
        let kernels = try a.perLevel("kernel_size", dims: dims)
        let strides = try a.perLevel("strides", dims: dims)
        let upKernels = try a.perLevel("upsample_kernel_size", dims: dims)
        let n = strides.count
        guard kernels.count == n, upKernels.count == n - 1, n >= 3 else {
            throw NetworkError.badArgument(network: name, key: "kernel_size",
                                           detail: "kernel_size and strides need the same length (≥ 3), upsample_kernel_size one less")
        }
        let filters = try a.ints("filters", (0..<n).map { min(1 << (5 + $0), 320) })
        guard filters.count == n else { throw NetworkError.badArgument(network: name, key: "filters", detail: "needs \(n) entries") }
        var normArg = try a.layer("norm_name", LayerArg(name: "instance", options: ["affine": .bool(true)]))
        // MONAI ≤ 0.5 (Clara Train 4.0) gave the plain string "group" 16 groups; later versions refuse it.
        if let arg = normArg, arg.name == "group", arg.options["num_groups"] == nil, a.values["norm_name"]?.string != nil {
            normArg = LayerArg(name: "group", options: ["num_groups": .number(16)])
        }
        plainInstance = a.values["norm_name"]?.string.map { ["instance", "instance_nvfuser"].contains($0.lowercased()) } ?? false
        self.args = args
        let norm = try NormKind(normArg, network: name, key: "norm_name")
        guard let act = try ActKind(try a.layer("act_name", LayerArg(name: "leakyrelu", options: ["negative_slope": .number(0.01)])),
                                    network: name, key: "act_name"), act != .prelu else {
            throw NetworkError.badArgument(network: name, key: "act_name", detail: "use relu or leakyrelu")
        }
        let res = try a.bool("res_block", false)
        let transBias = try a.bool("trans_bias", false)
        sizeMultiple = (0..<dims).map { d in strides.map { $0[d] }.reduce(1, *) }
        let store = store
        var encoders: [Block] = [Block(store, prefix: "input_block.", in: inChannels, out: filters[0], kernel: kernels[0], stride: strides[0],
                                       norm: norm, act: act, res: res)]
        for i in 0..<(n - 2) {
            encoders.append(Block(store, prefix: "downsamples.\(i).", in: filters[i], out: filters[i + 1], kernel: kernels[i + 1],
                                  stride: strides[i + 1], norm: norm, act: act, res: res))
        }
        encoders.append(Block(store, prefix: "bottleneck.", in: filters[n - 2], out: filters[n - 1], kernel: kernels[n - 1],
                              stride: strides[n - 1], norm: norm, act: act, res: res))
        let decoders = (0..<(n - 1)).map { j in
            let inC = filters[n - 1 - j], outC = filters[n - 2 - j], upK = upKernels[n - 2 - j]
            let up = ConvOp(store, prefix: "upsamples.\(j).transp_conv.conv.", in: inC, out: outC, kernel: upK, stride: upK,
                            padding: upK.map { _ in 0 }, outputPadding: upK.map { _ in 0 }, bias: transBias, transposed: true)
            let block = Block(store, prefix: "upsamples.\(j).conv_block.", in: 2 * outC, out: outC, kernel: kernels[n - 1 - j],
                              stride: kernels[n - 1 - j].map { _ in 1 }, norm: norm, act: act, res: false)
            return (up, block)
        }
        let output = ConvOp(store, prefix: "output_block.conv.conv.", in: filters[0], out: outChannels, kernel: [Int](repeating: 1, count: dims),
                            stride: [Int](repeating: 1, count: dims), padding: [Int](repeating: 0, count: dims), bias: true)
        let b = PlanBuilder()
        var skips: [Slot] = []
        var t = b.input
        for e in encoders { t = e.wire(b, t); skips.append(t) }
        skips.removeLast()
        for (up, block) in decoders {
            t = block.wire(b, b.concat(b.conv(up, t), skips.removeLast()))
        }
        plan = b.finish(output: b.conv(output, t))
        // Aliases of the same tensors, training-only heads, and the conv3/norm3 that MONAI ≤ 0.8 always created.
        store.ignorable = { key in
            key.hasPrefix("skip_layers.") || key.hasPrefix("deep_supervision_heads.") || key.contains(".conv3.") || key.contains(".norm3.")
        }
    }

    /// A checkpoint from MONAI ≤ 0.5 for a config saying `"instance"` carries
    /// affine norm weights; the same config then means affine=True.
    func legacyAlternative(for stateDict: [String: Tensor]) throws -> NetworkBody? {
        guard plainInstance, stateDict.keys.contains(where: { $0.hasPrefix("input_block.norm1.") }) else { return nil }
        var legacy = args
        legacy["norm_name"] = .array([.string("instance"), .object(["affine": .bool(true)])])
        return try DynUNet(args: legacy)
    }
}