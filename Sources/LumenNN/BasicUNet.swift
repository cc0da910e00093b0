import LumenTensor

/// MONAI `BasicUNet` (also the deepgrow networks): TwoConv blocks, max-pool
/// downs, deconv ups that replicate-pad odd sizes, encoder-first concat.
final class BasicUNet: NetworkBody {
    let store = ParamStore()
    let inChannels: Int, outChannels: Int, spatialDims: Int
    var sizeMultiple: [Int] { [Int](repeating: 1, count: spatialDims) }
    var minimumSize: Int { 16 }
    let plan: ExecutionPlan

    init(args: [String: JSONValue]) throws {
        let name = "BasicUNet"
        let a = try NetworkArgs(network: name, values: args, known: [
            "spatial_dims", "in_channels", "out_channels", "features", "act", "norm", "bias", "dropout", "upsample"],
            renames: ["dimensions": "spatial_dims"])
        spatialDims = try a.int("spatial_dims", 3)
        inChannels = try a.int("in_channels", 1)
        outChannels = try a.int("out_channels", 2)
        let f = try a.ints("features", [32, 32, 64, 128, 256, 32])
        guard f.count == 6 else { throw NetworkError.badArgument(network: name, key: "features", detail: "needs 6 entries") }
        guard spatialDims == 2 || spatialDims == 3 else {
            throw NetworkError.badArgument(network: name, key: "spatial_dims", detail: "must be 2 or 3")
        }
        guard try a.string("upsample", "deconv") == "deconv" else {
            throw NetworkError.badArgument(network: name, key: "upsample", detail: "only \"deconv\" is supported")
        }
        let norm = try NormKind(try a.layer("norm", LayerArg(name: "instance", options: ["affine": .bool(true)])), network: name, key: "norm")
        let act = try ActKind(try a.layer("act", LayerArg(name: "leakyrelu", options: ["negative_slope": .number(0.1)])), network: name, key: "act")
        let bias = try a.bool("bias", true)
        let dims = spatialDims, store = store
        func twoConv(_ prefix: String, _ i: Int, _ o: Int) -> Chain {
            let c = Chain()
            c.append(contentsOf: monaiConvolution(store, prefix: prefix + "conv_0.", in: i, out: o, kernel: [Int](repeating: 3, count: dims),
                                                  stride: [Int](repeating: 1, count: dims), norm: norm, act: act, bias: bias))
            c.append(contentsOf: monaiConvolution(store, prefix: prefix + "conv_1.", in: o, out: o, kernel: [Int](repeating: 3, count: dims),
                                                  stride: [Int](repeating: 1, count: dims), norm: norm, act: act, bias: bias))
            return c
        }
        // Declared in MONAI's registration order: conv_0, down_1…4, upcat_4…1, final_conv.
        let b = PlanBuilder()
        var encoders = [b.chain(twoConv("conv_0.", inChannels, f[0]), b.input)]
        for i in 1...4 {
            encoders.append(b.chain(twoConv("down_\(i).convs.", f[i - 1], f[i]), b.maxPool(encoders[i - 1])))
        }
        var u = encoders.removeLast()
        // upcat_k: (input channels, encoder channels, output channels, halves)
        let ups = [(4, f[4], f[3], f[3], true), (3, f[3], f[2], f[2], true), (2, f[2], f[1], f[1], true), (1, f[1], f[0], f[5], false)]
        for (k, inC, catC, outC, halves) in ups {
            let upC = halves ? inC / 2 : inC
            let deconv = ConvOp(store, prefix: "upcat_\(k).upsample.deconv.", in: inC, out: upC, kernel: [Int](repeating: 2, count: dims),
                                stride: [Int](repeating: 2, count: dims), padding: [Int](repeating: 0, count: dims), bias: true, transposed: true)
            let skip = encoders.removeLast()
            let upsampled = b.padHigh(b.conv(deconv, u), like: skip)
            u = b.chain(twoConv("upcat_\(k).convs.", catC + upC, outC), b.concat(skip, upsampled))
        }
        let final = ConvOp(store, prefix: "final_conv.", in: f[5], out: outChannels, kernel: [Int](repeating: 1, count: dims),
                           stride: [Int](repeating: 1, count: dims), padding: [Int](repeating: 0, count: dims), bias: true)
        plan = b.finish(output: b.conv(final, u))
    }
}
