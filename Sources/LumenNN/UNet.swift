import LumenTensor

/// MONAI `UNet`: nested levels of down → skip(submodule) → up, with residual
/// units when `num_res_units > 0`. Key names follow MONAI's Sequential nesting
/// (`model.1.submodule.…`), so a real checkpoint binds without renaming.
final class UNet: NetworkBody {
    let store = ParamStore()
    let inChannels: Int, outChannels: Int, spatialDims: Int
    let sizeMultiple: [Int]
    let plan: ExecutionPlan

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
        let ordering = try a.string("adn_ordering", "NDA").uppercased()
        guard !ordering.isEmpty, ordering.allSatisfy({ "NDA".contains($0) }), Set(ordering).count == ordering.count else {
            throw NetworkError.badArgument(network: "UNet", key: "adn_ordering",
                                           detail: "expected some of the letters N, D, A, each at most once (e.g. \"NDA\"), got \"\(ordering)\"")
        }
        let config = UNetConfig(
            dims: spatialDims, kernel: try Self.kernel(a, "kernel_size", dims: spatialDims),
            upKernel: try Self.kernel(a, "up_kernel_size", dims: spatialDims),
            resUnits: try a.int("num_res_units", 0),
            norm: try NormKind(try a.layer("norm", LayerArg(name: "instance")), network: "UNet", key: "norm"),
            act: try ActKind(try a.layer("act", LayerArg(name: "prelu")), network: "UNet", key: "act"),
            bias: try a.bool("bias", true), ordering: ordering)
        let product = strides.reduce(1, *)
        sizeMultiple = [Int](repeating: product, count: spatialDims)
        let builder = PlanBuilder()
        let output = UNetBuilder(store: store, b: builder, c: config).level(
            builder.input, prefix: "model.", in: inChannels, out: outChannels, channels: channels, strides: strides, top: true)
        plan = builder.finish(output: output)
        // MONAI ≤ 0.3 named the ADN children `norm` and `act`.
        store.aliases = { key in
            key.contains(".adn.N.") ? [key.replacingOccurrences(of: ".adn.N.", with: ".norm.")]
                : key.contains(".adn.A.") ? [key.replacingOccurrences(of: ".adn.A.", with: ".act.")] : []
        }
    }

}

extension UNet {
    /// An int or one int per spatial dim, odd: MONAI's "same" padding has no even form.
    static func kernel(_ a: NetworkArgs, _ key: String, dims: Int) throws -> [Int] {
        let k = try a.ints(key, [3])
        let kernel = k.count == 1 ? [Int](repeating: k[0], count: dims) : k
        guard kernel.count == dims, kernel.allSatisfy({ $0 > 0 && $0 % 2 == 1 }) else {
            throw NetworkError.badArgument(network: "UNet", key: key, detail: "expected an odd size or \(dims) odd sizes, got \(k)")
        }
        return kernel
    }
}

struct UNetConfig {
    var dims: Int, kernel: [Int], upKernel: [Int], resUnits: Int
    var norm: NormKind?, act: ActKind?, bias: Bool
    var ordering: String

    func repeated(_ v: Int) -> [Int] { [Int](repeating: v, count: dims) }
}

/// Builds MONAI UNet's blocks into a plan; key prefixes mirror the nesting
/// of MONAI's Sequentials.
struct UNetBuilder {
    let store: ParamStore
    let b: PlanBuilder
    let c: UNetConfig

    /// MONAI `ResidualUnit`: `conv.unitK` subunits, then `residual` (strided
    /// conv, 1×1 conv or identity) added after the last unit's activation.
    func residualUnit(_ x: Slot, prefix: String, in inC: Int, out outC: Int, stride: Int, subunits: Int, lastConvOnly: Bool) -> Slot {
        let first = Chain(), rest = Chain()
        var channels = inC, s = stride
        let n = max(1, subunits)
        for unit in 0..<n {
            (unit == 0 ? first : rest).append(contentsOf: monaiConvolution(
                store, prefix: "\(prefix)conv.unit\(unit).", in: channels, out: outC, kernel: c.kernel,
                stride: c.repeated(s), norm: c.norm, act: c.act, bias: c.bias, ordering: c.ordering, convOnly: lastConvOnly && unit == n - 1))
            channels = outC; s = 1
        }
        guard stride != 1 || inC != outC else { return b.add(b.chain(rest, b.chain(first, x)), x) }
        let k = stride == 1 ? c.repeated(1) : c.kernel
        let shortcut = Chain([.conv(ConvOp(store, prefix: "\(prefix)residual.", in: inC, out: outC, kernel: k, stride: c.repeated(stride),
                                           padding: k.map { ($0 - 1) / 2 }, bias: c.bias))])
        // unit0 and a strided shortcut read the same input with the same geometry.
        let (main, residual) = b.pair(first, shortcut, x)
        return b.add(b.chain(rest, main), residual)
    }

    func down(_ x: Slot, prefix: String, in inC: Int, out outC: Int, stride: Int) -> Slot {
        if c.resUnits > 0 {
            return residualUnit(x, prefix: prefix, in: inC, out: outC, stride: stride, subunits: c.resUnits, lastConvOnly: false)
        }
        return b.chain(monaiConvolution(store, prefix: prefix, in: inC, out: outC, kernel: c.kernel,
                                        stride: c.repeated(stride), norm: c.norm, act: c.act, bias: c.bias, ordering: c.ordering), x)
    }

    /// Transposed Convolution (conv-only at the top without residual units),
    /// then with residual units a one-unit ResidualUnit whose residual is identity.
    func up(_ x: Slot, prefix: String, in inC: Int, out outC: Int, stride: Int, top: Bool) -> Slot {
        let convPrefix = c.resUnits > 0 ? prefix + "0." : prefix
        let t = b.chain(monaiConvolution(store, prefix: convPrefix, in: inC, out: outC, kernel: c.upKernel,
                                         stride: c.repeated(stride), norm: c.norm, act: c.act, bias: c.bias, ordering: c.ordering,
                                         convOnly: top && c.resUnits == 0, transposed: true), x)
        guard c.resUnits > 0 else { return t }
        return residualUnit(t, prefix: prefix + "1.", in: outC, out: outC, stride: 1, subunits: 1, lastConvOnly: top)
    }

    /// One level: down → (deeper level or bottom) → concat(encoder first) → up.
    func level(_ x: Slot, prefix: String, in inC: Int, out outC: Int, channels: [Int], strides: [Int], top: Bool) -> Slot {
        let ch = channels[0], s = strides[0]
        let d = down(x, prefix: prefix + "0.", in: inC, out: ch, stride: s)
        let inner: Slot, upIn: Int
        if channels.count > 2 {
            inner = level(d, prefix: prefix + "1.submodule.", in: ch, out: ch, channels: Array(channels.dropFirst()),
                          strides: Array(strides.dropFirst()), top: false)
            upIn = 2 * ch
        } else {
            inner = down(d, prefix: prefix + "1.submodule.", in: ch, out: channels[1], stride: 1)
            upIn = ch + channels[1]
        }
        return up(b.concat(d, inner), prefix: prefix + "2.", in: upIn, out: outC, stride: s, top: top)
    }
}
