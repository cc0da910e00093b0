import LumenTensor

/// MONAI `SegResNet`: pre-activation residual blocks (norm → act → conv),
/// stride-2 convs down, 1×1 conv + upsample up, encoder features added back.
final class SegResNet: NetworkBody {
    let store = ParamStore()
    let inChannels: Int, outChannels: Int, spatialDims: Int
    let sizeMultiple: [Int]
    let plan: ExecutionPlan

    /// ResBlock's main path: norm1 → act → conv1 → norm2 → act → conv2; the
    /// block adds its input to it.
    static func resChain(_ store: ParamStore, prefix: String, channels: Int, dims: Int, norm: NormKind, act: ActKind) -> Chain {
        let k = [Int](repeating: 3, count: dims), s = [Int](repeating: 1, count: dims), p = [Int](repeating: 1, count: dims)
        // Declared in MONAI's registration order (norm1, norm2, conv1, conv2), run in forward order.
        let norm1 = NormOp(store, prefix: prefix + "norm1.", kind: norm, channels: channels)
        let norm2 = NormOp(store, prefix: prefix + "norm2.", kind: norm, channels: channels)
        let activation = ActOp(store, prefix: prefix + "act.", kind: act)
        let conv1 = ConvOp(store, prefix: prefix + "conv1.conv.", in: channels, out: channels, kernel: k, stride: s, padding: p, bias: false)
        let conv2 = ConvOp(store, prefix: prefix + "conv2.conv.", in: channels, out: channels, kernel: k, stride: s, padding: p, bias: false)
        let chain = Chain([.norm(norm1), .act(activation), .conv(conv1), .norm(norm2), .act(activation), .conv(conv2)])
        return chain
    }

    init(args: [String: JSONValue]) throws {
        let name = "SegResNet"
        let a = try NetworkArgs(network: name, values: args, known: [
            "spatial_dims", "init_filters", "in_channels", "out_channels", "dropout_prob", "act", "norm", "norm_name",
            "num_groups", "use_conv_final", "blocks_down", "blocks_up", "upsample_mode"], renames: ["dimensions": "spatial_dims"])
        spatialDims = try a.int("spatial_dims", 3)
        inChannels = try a.int("in_channels", 1)
        let useConvFinal = try a.bool("use_conv_final", true)
        // Without conv_final the network ends at the last decoder level.
        outChannels = useConvFinal ? try a.int("out_channels", 2) : try a.int("init_filters", 8)
        let filters = try a.int("init_filters", 8)
        let blocksDown = try a.ints("blocks_down", [1, 2, 2, 4])
        let blocksUp = try a.ints("blocks_up", [1, 1, 1])
        guard spatialDims == 2 || spatialDims == 3 else {
            throw NetworkError.badArgument(network: name, key: "spatial_dims", detail: "must be 2 or 3")
        }
        guard blocksUp.count == blocksDown.count - 1 else {
            throw NetworkError.badArgument(network: name, key: "blocks_up", detail: "needs len(blocks_down) - 1 entries")
        }
        var normArg = try a.layer("norm", LayerArg(name: "group", options: ["num_groups": .number(8)]))
        if let old = a.values["norm_name"]?.string, !old.isEmpty {   // deprecated spelling: norm_name + num_groups
            guard old.lowercased() == "group" else {
                throw NetworkError.badArgument(network: name, key: "norm_name", detail: "only \"group\" is accepted (MONAI's deprecated spelling); use \"norm\" for others")
            }
            normArg = LayerArg(name: old, options: ["num_groups": .number(Double(try a.int("num_groups", 8)))])
        }
        guard let norm = try NormKind(normArg, network: name, key: "norm") else {
            throw NetworkError.badArgument(network: name, key: "norm", detail: "is required")
        }
        guard let act = try ActKind(try a.layer("act", LayerArg(name: "relu")), network: name, key: "act"), act != .prelu else {
            throw NetworkError.badArgument(network: name, key: "act", detail: "use relu or leakyrelu")
        }
        let mode = try a.string("upsample_mode", "nontrainable")
        guard mode == "nontrainable" || mode == "deconv" else {
            throw NetworkError.badArgument(network: name, key: "upsample_mode", detail: "use nontrainable or deconv")
        }
        let dims = spatialDims, store = store
        let k3 = [Int](repeating: 3, count: dims), one = [Int](repeating: 1, count: dims)
        sizeMultiple = [Int](repeating: 1 << (blocksDown.count - 1), count: dims)
        // Declared in MONAI's registration order: convInit, down_layers, up_layers, up_samples, conv_final.
        let b = PlanBuilder()
        var t = b.conv(ConvOp(store, prefix: "convInit.conv.", in: inChannels, out: filters, kernel: k3, stride: one, padding: one, bias: false),
                       b.input)
        var encoders: [Slot] = []
        for (i, count) in blocksDown.enumerated() {
            let c = filters << i
            if i > 0 {
                t = b.conv(ConvOp(store, prefix: "down_layers.\(i).0.conv.", in: c / 2, out: c, kernel: k3,
                                  stride: [Int](repeating: 2, count: dims), padding: one, bias: false), t)
            }
            for j in 0..<count {
                let block = Self.resChain(store, prefix: "down_layers.\(i).\(j + 1).", channels: c, dims: dims, norm: norm, act: act)
                t = b.add(b.chain(block, t), t)
            }
            encoders.append(t)
        }
        // MONAI registers up_layers before up_samples; declare in that order, wire below.
        let nUp = blocksUp.count
        let upLayers = (0..<nUp).map { i in
            (0..<blocksUp[i]).map { j in
                Self.resChain(store, prefix: "up_layers.\(i).\(j).", channels: (filters << (nUp - i)) / 2, dims: dims, norm: norm, act: act)
            }
        }
        let upSamples = (0..<nUp).map { i in
            let c = filters << (nUp - i)
            let up = Chain([.conv(ConvOp(store, prefix: "up_samples.\(i).0.conv.", in: c, out: c / 2, kernel: one, stride: one,
                                         padding: [Int](repeating: 0, count: dims), bias: false))])
            let deconv = mode == "deconv"
                ? ConvOp(store, prefix: "up_samples.\(i).1.deconv.", in: c / 2, out: c / 2, kernel: [Int](repeating: 2, count: dims),
                         stride: [Int](repeating: 2, count: dims), padding: [Int](repeating: 0, count: dims), bias: true, transposed: true)
                : nil
            return (up, deconv)
        }
        encoders.reverse()
        for i in 0..<nUp {
            t = b.chain(upSamples[i].0, t)
            t = upSamples[i].1.map { b.conv($0, t) } ?? b.upsampleLinear(t)
            t = b.add(t, encoders[i + 1])
            for block in upLayers[i] { t = b.add(b.chain(block, t), t) }
        }
        // MONAI builds conv_final even when use_conv_final is false, so its keys are always in the checkpoint.
        let final = Chain([
            .norm(NormOp(store, prefix: "conv_final.0.", kind: norm, channels: filters)),
            .act(ActOp(store, prefix: "conv_final.1.", kind: act)),
            .conv(ConvOp(store, prefix: "conv_final.2.conv.", in: filters, out: try a.int("out_channels", 2), kernel: one, stride: one,
                         padding: [Int](repeating: 0, count: dims), bias: true)),
        ])
        if useConvFinal { t = b.chain(final, t) }
        plan = b.finish(output: t)
    }
}
