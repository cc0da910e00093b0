import LumenTensor

/// One convolution (or transposed convolution) with whatever was fused into
/// its output pass at freeze time: bias, folded BatchNorm, activation.
final class ConvOp {
    let weightKey: String
    let biasKey: String?
    let geometry: ConvGeometry
    let transposed: Bool
    let inChannels: Int, outChannels: Int
    private(set) var weight = Tensor(zeros: [0])
    private(set) var bias: [Float]?
    var activation: Activation = .identity
    /// The kernel-ready form (Winograd-transformed weights, fused epilogue),
    /// made once per load so no window pays for it.
    private var prepared: PreparedConvolution?

    init(_ store: ParamStore, prefix: String, in inC: Int, out outC: Int, kernel: [Int], stride: [Int],
         padding: [Int], outputPadding: [Int]? = nil, bias hasBias: Bool, transposed: Bool = false) {
        weightKey = prefix + "weight"
        biasKey = hasBias ? prefix + "bias" : nil
        geometry = ConvGeometry(kernel: kernel, stride: stride, padding: padding, outputPadding: outputPadding)
        self.transposed = transposed
        inChannels = inC
        outChannels = outC
        store.declare(weightKey, (transposed ? [inC, outC] : [outC, inC]) + kernel)
        if let biasKey { store.declare(biasKey, [outC]) }
    }

    /// Takes the raw checkpoint values; `freeze` must follow once fusion is decided.
    func bind(_ store: ParamStore) {
        weight = store[weightKey]
        bias = biasKey.map { store[$0].data }
        activation = .identity
        prepared = nil
    }

    /// Eval BatchNorm after this conv: w' = w·scale[o], b' = b·scale[o] + shift[o].
    func fold(scale: [Float], shift: [Float]) {
        let k = weight.shape.dropFirst(2).reduce(1, *)
        let rows = weight.shape[0], cols = weight.shape[1]
        weight.data.withUnsafeMutableBufferPointer { w in
            for i in 0..<rows {
                for j in 0..<cols {
                    let factor = scale[transposed ? j : i]
                    let base = (i * cols + j) * k
                    for t in 0..<k { w[base + t] *= factor }
                }
            }
        }
        let b = bias ?? [Float](repeating: 0, count: outChannels)
        bias = (0..<outChannels).map { b[$0] * scale[$0] + shift[$0] }
    }

    func freeze() {
        prepared = PreparedConvolution(weight: weight, bias: bias, geometry: geometry,
                                       epilogue: Epilogue(activation: activation), transposed: transposed)
    }

    func callAsFunction(_ x: Tensor) -> Tensor {
        let conv = prepared!
        return Profiler.measure("\(label(conv.method)) \(inChannels)→\(outChannels) k\(geometry.kernel.map(String.init).joined(separator: "×")) s\(geometry.stride[0]) @\(x.spatialShape.map(String.init).joined(separator: "×"))") {
            conv(x)
        }
    }

    static func pair(_ a: ConvOp, _ b: ConvOp, on x: Tensor) -> (Tensor, Tensor) {
        let (pa, pb) = (a.prepared!, b.prepared!)
        return Profiler.measure("conv pair \(a.inChannels)→\(a.outChannels)+\(b.outChannels) k\(a.geometry.kernel.map(String.init).joined(separator: "×")) s\(a.geometry.stride[0]) @\(x.spatialShape.map(String.init).joined(separator: "×"))") {
            PreparedConvolution.pair(pa, pb, on: x)
        }
    }

    private func label(_ method: PreparedConvolution.Method) -> String {
        switch method {
        case .gemm: return "conv"
        case .winograd: return "conv-winograd"
        case .transposed: return "convT"
        }
    }

    func outputSpatial(_ spatial: [Int]) -> [Int] {
        transposed ? geometry.transposedOutput(spatial) : geometry.convOutput(spatial)
    }

    /// Multiply-adds, for GFLOP/s.
    func macs(input spatial: [Int]) -> (Int, [Int]) {
        let out = outputSpatial(spatial)
        let k = geometry.kernel.reduce(1, *)
        let positions = (transposed ? spatial : out).reduce(1, *)
        return (positions * k * inChannels * outChannels, out)
    }
}

final class NormOp {
    let kind: NormKind
    let prefix: String
    let channels: Int
    var weight: [Float]?, bias: [Float]?
    var scale: [Float] = [], shift: [Float] = []
    var activation: Activation = .identity

    init(_ store: ParamStore, prefix: String, kind: NormKind, channels: Int) {
        self.kind = kind
        self.prefix = prefix
        self.channels = channels
        switch kind {
        case .batch:
            for name in ["weight", "bias", "running_mean", "running_var"] { store.declare(prefix + name, [channels]) }
            store.declare(prefix + "num_batches_tracked", [], optional: true)
        case .instance(let affine):
            if affine { store.declare(prefix + "weight", [channels]); store.declare(prefix + "bias", [channels]) }
        case .group:
            store.declare(prefix + "weight", [channels]); store.declare(prefix + "bias", [channels])
        }
    }

    func bind(_ store: ParamStore) {
        activation = .identity
        if store.has(prefix + "weight") { weight = store[prefix + "weight"].data; bias = store[prefix + "bias"].data }
        if kind == .batch {
            let mean = store[prefix + "running_mean"].data, variance = store[prefix + "running_var"].data
            scale = (0..<channels).map { weight![$0] / (variance[$0] + 1e-5).squareRoot() }
            shift = (0..<channels).map { bias![$0] - mean[$0] * scale[$0] }
        }
    }

    func callAsFunction(_ x: Tensor) -> Tensor {
        Profiler.measure("norm \(kind) \(channels) @\(x.spatialShape.map(String.init).joined(separator: "×"))") { apply(x) }
    }

    /// In place, on a buffer the caller owns.
    func apply(_ x: inout Tensor) {
        Profiler.measure("norm \(kind) \(channels) in place @\(x.spatialShape.map(String.init).joined(separator: "×"))") {
            switch kind {
            case .batch: Kernels.channelAffine(&x, scale: scale, shift: shift, activation: activation)
            case .instance: Kernels.instanceNorm(&x, weight: weight, bias: bias, activation: activation)
            case .group(let g): Kernels.groupNorm(&x, groups: g, weight: weight, bias: bias, activation: activation)
            }
        }
    }

    private func apply(_ x: Tensor) -> Tensor {
        switch kind {
        case .batch: return Kernels.channelAffine(x, scale: scale, shift: shift, activation: activation)
        case .instance: return Kernels.instanceNorm(x, weight: weight, bias: bias, activation: activation)
        case .group(let g): return Kernels.groupNorm(x, groups: g, weight: weight, bias: bias, activation: activation)
        }
    }
}

final class ActOp {
    let kind: ActKind
    let key: String?
    var activation: Activation = .identity

    init(_ store: ParamStore, prefix: String, kind: ActKind) {
        self.kind = kind
        key = kind == .prelu ? prefix + "weight" : nil
        if let key { store.declare(key, [1]) }
    }

    func bind(_ store: ParamStore) {
        switch kind {
        case .relu: activation = .relu
        case .leaky(let a): activation = .leakyReLU(a)
        case .prelu: activation = .prelu(store[key!].data[0])
        }
    }
}

enum Op {
    case conv(ConvOp), norm(NormOp), act(ActOp)
}

/// A straight run of ops. Binding fuses conv → BatchNorm → activation into the
/// conv and norm → activation into the norm, so most chains run as one pass
/// per layer instead of three trips through memory.
final class Chain {
    private(set) var ops: [Op]
    private var frozen: [Op] = []

    init(_ ops: [Op] = []) { self.ops = ops }

    func append(_ op: Op) { ops.append(op) }
    func append(contentsOf other: Chain) { ops.append(contentsOf: other.ops) }

    func bind(_ store: ParamStore) {
        for op in ops {
            switch op {
            case .conv(let c): c.bind(store)
            case .norm(let n): n.bind(store)
            case .act(let a): a.bind(store)
            }
        }
        frozen = []
        var i = 0
        while i < ops.count {
            switch ops[i] {
            case .conv(let c):
                if i + 1 < ops.count, case .norm(let n) = ops[i + 1], n.kind == .batch {
                    c.fold(scale: n.scale, shift: n.shift); i += 1
                }
                if i + 1 < ops.count, case .act(let a) = ops[i + 1] { c.activation = a.activation; i += 1 }
                c.freeze()
                frozen.append(.conv(c))
            case .norm(let n):
                if i + 1 < ops.count, case .act(let a) = ops[i + 1] { n.activation = a.activation; i += 1 }
                frozen.append(.norm(n))
            case .act(let a):
                frozen.append(.act(a))
            }
            i += 1
        }
    }

    func callAsFunction(_ x: Tensor) -> Tensor { run(x, from: 0) }

    /// Runs `a` and `b` on one input; when both start with a convolution of
    /// the same geometry, the kernels build the column matrix once for both.
    static func pair(_ a: Chain, _ b: Chain, on x: Tensor) -> (Tensor, Tensor) {
        guard case .conv(let ca)? = a.frozen.first, case .conv(let cb)? = b.frozen.first else { return (a(x), b(x)) }
        let (ya, yb) = ConvOp.pair(ca, cb, on: x)
        return (a.run(ya, from: 1), b.run(yb, from: 1))
    }

    /// The frozen ops from `start` on, applied to `x`.
    private func run(_ x: Tensor, from start: Int) -> Tensor {
        var t = x
        for (i, op) in frozen[start...].enumerated() {
            // After the first op `t` is a buffer this chain made and alone
            // holds, so norms and activations can overwrite it; before, it is
            // the caller's input (often still needed, e.g. for a residual sum).
            let owned = i > 0
            switch op {
            case .conv(let c): t = c(t)
            case .norm(let n) where owned: n.apply(&t)
            case .norm(let n): t = n(t)
            case .act(let a): Kernels.activate(&t, a.activation)
            }
        }
        return t
    }

    /// The ops as they will run: fused after bind, as declared before it.
    var runningOps: [Op] { frozen.isEmpty ? ops : frozen }

    /// Shape after the first op only (the part a `pair` step runs jointly).
    func leadingShape(_ input: [Int]) -> [Int] {
        guard case .conv(let c)? = ops.first else { return input }
        return [input[0], c.outChannels] + c.outputSpatial(Array(input.dropFirst(2)))
    }

    func outputShape(_ input: [Int]) -> [Int] {
        var shape = input
        for op in ops {
            if case .conv(let c) = op { shape = [shape[0], c.outChannels] + c.outputSpatial(Array(shape.dropFirst(2))) }
        }
        return shape
    }

    /// Bytes this chain adds on top of its (still live) input: each conv's
    /// output exists together with the previous op's output while it runs;
    /// norms and activations after the first op work in place.
    func transientBytes(input: [Int]) -> Int {
        var shape = input, previous = 0, peak = 0
        for (j, op) in runningOps.enumerated() {
            switch op {
            case .conv(let c): shape = [shape[0], c.outChannels] + c.outputSpatial(Array(shape.dropFirst(2)))
            case .act, .norm: if j > 0 { continue }
            }
            let bytes = shape.reduce(1, *) * MemoryLayout<Float>.size
            peak = max(peak, previous + bytes)
            previous = bytes
        }
        return peak
    }

    func macs(input spatial: [Int]) -> (Int, [Int]) {
        var total = 0, s = spatial
        for op in ops { if case .conv(let c) = op { let (m, o) = c.macs(input: s); total += m; s = o } }
        return (total, s)
    }
}
