import LumenTensor

/// MONAI `UNet`: nested levels of down → skip(submodule) → up, with residual
/// units when `num_res_units > 0`. Key names follow MONAI's Sequential nesting
/// (`model.1.submodule.…`), so a real checkpoint binds without renaming.
final class UNet: NetworkBody {
    let store = ParamStore()
    let inChannels: Int, outChannels: Int, spatialDims: Int
    let sizeMultiple: [Int]
    private let root: UNetLevel

    init(args: [String: JSONValue]) throws {
        let a = try NetworkArgs(network: "UNet", values: args, known: [
            "spatial_dims", "in_channels", "out_channels", "channels", "strides", "kernel_size", "up_kernel_size",
            "num_res_units", "act", "norm", "dropout", "bias", "adn_ordering"], renames: ["dimensions": "spatial_dims"])
        spatialDims = try a.int("spatial_dims")
        inChannels = try a.int("in_channels")
        outChannels = try a.int("out_channels")
        let channels = try a.ints("channels")
        var strides = try a.ints("strides")
        guard spatialDims == 2 || spatialDims == 3 else {
            throw NetworkError.badArgument(network: "UNet", key: "spatial_dims", detail: "must be 2 or 3")
        }
        guard channels.count >= 2, strides.count >= channels.count - 1 else {
            throw NetworkError.badArgument(network: "UNet", key: "strides", detail: "needs at least len(channels) - 1 entries")
        }
        strides = Array(strides.prefix(channels.count - 1))
        guard try a.string("adn_ordering", "NDA") == "NDA" else {
            throw NetworkError.badArgument(network: "UNet", key: "adn_ordering", detail: "only \"NDA\" is supported")
        }
        let config = UNetConfig(
            dims: spatialDims, kernel: try a.int("kernel_size", 3), upKernel: try a.int("up_kernel_size", 3),
            resUnits: try a.int("num_res_units", 0),
            norm: try NormKind(try a.layer("norm", LayerArg(name: "instance")), network: "UNet", key: "norm"),
            act: try ActKind(try a.layer("act", LayerArg(name: "prelu")), network: "UNet", key: "act"),
            bias: try a.bool("bias", true))
        let product = strides.reduce(1, *)
        sizeMultiple = [Int](repeating: product, count: spatialDims)
        root = UNetLevel(store, prefix: "model.", in: inChannels, out: outChannels, channels: channels,
                         strides: strides, top: true, c: config)
        // MONAI ≤ 0.3 named the ADN children `norm` and `act`.
        store.aliases = { key in
            key.contains(".adn.N.") ? [key.replacingOccurrences(of: ".adn.N.", with: ".norm.")]
                : key.contains(".adn.A.") ? [key.replacingOccurrences(of: ".adn.A.", with: ".act.")] : []
        }
    }

    func bind() { root.bind(store) }
    func forward(_ x: Tensor) -> Tensor { root(x) }
}

struct UNetConfig {
    var dims: Int, kernel: Int, upKernel: Int, resUnits: Int
    var norm: NormKind?, act: ActKind?, bias: Bool
}

/// Either a residual unit or a plain chain; both map a tensor to a tensor.
final class UNetBlock {
    let main: Chain
    let residual: Chain?
    let identityResidual: Bool

    init(main: Chain, residual: Chain?, identityResidual: Bool) {
        self.main = main; self.residual = residual; self.identityResidual = identityResidual
    }

    func bind(_ store: ParamStore) { main.bind(store); residual?.bind(store) }

    func callAsFunction(_ x: Tensor) -> Tensor {
        let y = main(x)
        if let residual { return Ops.add(y, residual(x)) }
        return identityResidual ? Ops.add(y, x) : y
    }

    /// MONAI `ResidualUnit`: `conv.unitK` subunits, then `residual` (conv or identity) added at the end.
    static func residualUnit(_ store: ParamStore, prefix: String, in inC: Int, out outC: Int, stride: Int, subunits: Int,
                             lastConvOnly: Bool, c: UNetConfig) -> UNetBlock {
        let main = Chain()
        var channels = inC, s = stride
        let n = max(1, subunits)
        for unit in 0..<n {
            main.append(contentsOf: monaiConvolution(
                store, prefix: "\(prefix)conv.unit\(unit).", in: channels, out: outC,
                kernel: [Int](repeating: c.kernel, count: c.dims), stride: [Int](repeating: s, count: c.dims),
                norm: c.norm, act: c.act, bias: c.bias, convOnly: lastConvOnly && unit == n - 1))
            channels = outC; s = 1
        }
        if stride != 1 || inC != outC {
            let k = stride == 1 ? 1 : c.kernel
            let conv = ConvOp(store, prefix: "\(prefix)residual.", in: inC, out: outC,
                              kernel: [Int](repeating: k, count: c.dims), stride: [Int](repeating: stride, count: c.dims),
                              padding: [Int](repeating: (k - 1) / 2, count: c.dims), bias: c.bias)
            return UNetBlock(main: main, residual: Chain([.conv(conv)]), identityResidual: false)
        }
        return UNetBlock(main: main, residual: nil, identityResidual: true)
    }

    static func down(_ store: ParamStore, prefix: String, in inC: Int, out outC: Int, stride: Int, c: UNetConfig) -> UNetBlock {
        if c.resUnits > 0 {
            return residualUnit(store, prefix: prefix, in: inC, out: outC, stride: stride, subunits: c.resUnits, lastConvOnly: false, c: c)
        }
        let chain = monaiConvolution(store, prefix: prefix, in: inC, out: outC, kernel: [Int](repeating: c.kernel, count: c.dims),
                                     stride: [Int](repeating: stride, count: c.dims), norm: c.norm, act: c.act, bias: c.bias)
        return UNetBlock(main: chain, residual: nil, identityResidual: false)
    }

    static func up(_ store: ParamStore, prefix: String, in inC: Int, out outC: Int, stride: Int, top: Bool, c: UNetConfig) -> UNetBlock {
        let convPrefix = c.resUnits > 0 ? prefix + "0." : prefix
        let up = monaiConvolution(store, prefix: convPrefix, in: inC, out: outC, kernel: [Int](repeating: c.upKernel, count: c.dims),
                                  stride: [Int](repeating: stride, count: c.dims), norm: c.norm, act: c.act, bias: c.bias,
                                  convOnly: top && c.resUnits == 0, transposed: true)
        guard c.resUnits > 0 else { return UNetBlock(main: up, residual: nil, identityResidual: false) }
        let unit = residualUnit(store, prefix: prefix + "1.", in: outC, out: outC, stride: 1, subunits: 1, lastConvOnly: top, c: c)
        return UNetBlock(main: up, residual: nil, identityResidual: false).then(unit)
    }

    private var next: UNetBlock?
    func then(_ block: UNetBlock) -> UNetBlock { next = block; return self }
    func run(_ x: Tensor) -> Tensor { let y = self(x); return next.map { $0.run(y) } ?? y }
    func bindAll(_ store: ParamStore) { bind(store); next?.bindAll(store) }
}

final class UNetLevel {
    let down: UNetBlock
    let inner: UNetLevel?
    let bottom: UNetBlock?
    let up: UNetBlock

    init(_ store: ParamStore, prefix: String, in inC: Int, out outC: Int, channels: [Int], strides: [Int], top: Bool, c: UNetConfig) {
        let ch = channels[0], s = strides[0]
        down = UNetBlock.down(store, prefix: prefix + "0.", in: inC, out: ch, stride: s, c: c)
        let upIn: Int
        if channels.count > 2 {
            inner = UNetLevel(store, prefix: prefix + "1.submodule.", in: ch, out: ch, channels: Array(channels.dropFirst()),
                              strides: Array(strides.dropFirst()), top: false, c: c)
            bottom = nil
            upIn = 2 * ch
        } else {
            inner = nil
            bottom = UNetBlock.down(store, prefix: prefix + "1.submodule.", in: ch, out: channels[1], stride: 1, c: c)
            upIn = ch + channels[1]
        }
        up = UNetBlock.up(store, prefix: prefix + "2.", in: upIn, out: outC, stride: s, top: top, c: c)
    }

    func bind(_ store: ParamStore) {
        down.bindAll(store); inner?.bind(store); bottom?.bindAll(store); up.bindAll(store)
    }

    func callAsFunction(_ x: Tensor) -> Tensor {
        let d = down.run(x)
        let i = inner.map { $0(d) } ?? bottom!.run(d)
        return up.run(Ops.concatChannels(d, i))
    }
}
