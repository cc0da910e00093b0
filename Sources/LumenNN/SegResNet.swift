import LumenTensor

/// MONAI `SegResNet`: pre-activation residual blocks (norm → act → conv),
/// stride-2 convs down, 1×1 conv + upsample up, encoder features added back.
final class SegResNet: NetworkBody {
    let store = ParamStore()
    let inChannels: Int, outChannels: Int, spatialDims: Int
    let sizeMultiple: [Int]
    private let convInit: ConvOp
    private let downLayers: [(pre: ConvOp?, blocks: [ResBlock])]
    private let upSamples: [(conv: ConvOp, deconv: ConvOp?)]
    private let upLayers: [[ResBlock]]
    private let finalNorm: NormOp?
    private let finalConv: ConvOp?
    private let activation: ActKind

    final class ResBlock {
        let norm1: NormOp, conv1: ConvOp, norm2: NormOp, conv2: ConvOp
        let act: ActKind
        init(_ store: ParamStore, prefix: String, channels: Int, dims: Int, norm: NormKind, act: ActKind) {
            let k = [Int](repeating: 3, count: dims), s = [Int](repeating: 1, count: dims), p = [Int](repeating: 1, count: dims)
            norm1 = NormOp(store, prefix: prefix + "norm1.", kind: norm, channels: channels)
            norm2 = NormOp(store, prefix: prefix + "norm2.", kind: norm, channels: channels)
            conv1 = ConvOp(store, prefix: prefix + "conv1.conv.", in: channels, out: channels, kernel: k, stride: s, padding: p, bias: false)
            conv2 = ConvOp(store, prefix: prefix + "conv2.conv.", in: channels, out: channels, kernel: k, stride: s, padding: p, bias: false)
            self.act = act
        }
        func bind(_ store: ParamStore, activation: Activation) {
            norm1.bind(store); norm2.bind(store); conv1.bind(store); conv2.bind(store)
            norm1.activation = activation; norm2.activation = activation
        }
        func callAsFunction(_ x: Tensor) -> Tensor {
            Ops.add(conv2(norm2(conv1(norm1(x)))), x)
        }
    }

    init(args: [String: JSONValue]) throws {
        let name = "SegResNet"
        let a = try NetworkArgs(network: name, values: args, known: [
            "spatial_dims", "init_filters", "in_channels", "out_channels", "dropout_prob", "act", "norm", "norm_name",
            "num_groups", "use_conv_final", "blocks_down", "blocks_up", "upsample_mode"], renames: ["dimensions": "spatial_dims"])
        spatialDims = try a.int("spatial_dims", 3)
        inChannels = try a.int("in_channels", 1)
        outChannels = try a.int("out_channels", 2)
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
        if let old = a.values["norm_name"]?.string {   // deprecated spelling: norm_name + num_groups
            normArg = LayerArg(name: old, options: ["num_groups": .number(Double(try a.int("num_groups", 8)))])
        }
        guard let norm = try NormKind(normArg, network: name, key: "norm") else {
            throw NetworkError.badArgument(network: name, key: "norm", detail: "is required")
        }
        guard let act = try ActKind(try a.layer("act", LayerArg(name: "relu")), network: name, key: "act"), act != .prelu else {
            throw NetworkError.badArgument(network: name, key: "act", detail: "use relu or leakyrelu")
        }
        activation = act
        let mode = try a.string("upsample_mode", "nontrainable")
        guard mode == "nontrainable" || mode == "deconv" else {
            throw NetworkError.badArgument(network: name, key: "upsample_mode", detail: "use nontrainable or deconv")
        }
        let dims = spatialDims, store = store
        let k3 = [Int](repeating: 3, count: dims), one = [Int](repeating: 1, count: dims)
        sizeMultiple = [Int](repeating: 1 << (blocksDown.count - 1), count: dims)
        convInit = ConvOp(store, prefix: "convInit.conv.", in: inChannels, out: filters, kernel: k3, stride: one, padding: one, bias: false)
        downLayers = blocksDown.enumerated().map { (i, count) in
            let c = filters << i
            let pre = i == 0 ? nil : ConvOp(store, prefix: "down_layers.\(i).0.conv.", in: c / 2, out: c, kernel: k3,
                                              stride: [Int](repeating: 2, count: dims), padding: one, bias: false)
            let blocks = (0..<count).map { ResBlock(store, prefix: "down_layers.\(i).\($0 + 1).", channels: c, dims: dims, norm: norm, act: act) }
            return (pre, blocks)
        }
        let nUp = blocksUp.count
        upSamples = (0..<nUp).map { i in
            let c = filters << (nUp - i)
            let conv = ConvOp(store, prefix: "up_samples.\(i).0.conv.", in: c, out: c / 2, kernel: one, stride: one,
                              padding: [Int](repeating: 0, count: dims), bias: false)
            let deconv = mode == "deconv"
                ? ConvOp(store, prefix: "up_samples.\(i).1.deconv.", in: c / 2, out: c / 2, kernel: [Int](repeating: 2, count: dims),
                         stride: [Int](repeating: 2, count: dims), padding: [Int](repeating: 0, count: dims), bias: true, transposed: true)
                : nil
            return (conv, deconv)
        }
        upLayers = (0..<nUp).map { i in
            (0..<blocksUp[i]).map { ResBlock(store, prefix: "up_layers.\(i).\($0).", channels: (filters << (nUp - i)) / 2, dims: dims, norm: norm, act: act) }
        }
        if try a.bool("use_conv_final", true) {
            finalNorm = NormOp(store, prefix: "conv_final.0.", kind: norm, channels: filters)
            finalConv = ConvOp(store, prefix: "conv_final.2.conv.", in: filters, out: outChannels, kernel: one, stride: one,
                               padding: [Int](repeating: 0, count: dims), bias: true)
        } else {
            finalNorm = nil; finalConv = nil
        }
    }

    func bind() {
        let act: Activation = { if case .leaky(let s) = activation { return .leakyReLU(s) } else { return .relu } }()
        convInit.bind(store)
        for (pre, blocks) in downLayers { pre?.bind(store); blocks.forEach { $0.bind(store, activation: act) } }
        for (conv, deconv) in upSamples { conv.bind(store); deconv?.bind(store) }
        upLayers.forEach { $0.forEach { $0.bind(store, activation: act) } }
        finalNorm?.bind(store); finalNorm?.activation = act
        finalConv?.bind(store)
    }

    func forward(_ x: Tensor) -> Tensor {
        var t = convInit(x)
        var encoders: [Tensor] = []
        for (pre, blocks) in downLayers {
            if let pre { t = pre(t) }
            for b in blocks { t = b(t) }
            encoders.append(t)
        }
        encoders.reverse()
        for (i, (conv, deconv)) in upSamples.enumerated() {
            let reduced = conv(t)
            let up = deconv.map { $0(reduced) } ?? Ops.upsampleLinear2(reduced)
            t = Ops.add(up, encoders[i + 1])
            for b in upLayers[i] { t = b(t) }
        }
        if let finalNorm, let finalConv { t = finalConv(finalNorm(t)) }
        return t
    }
}
