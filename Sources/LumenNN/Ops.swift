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
    /// Winograd-transformed weights, for 3×3×3 stride-1 convolutions.
    private var winograd: [Float]?

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

    func bind(_ store: ParamStore) {
        weight = store[weightKey]
        bias = biasKey.map { store[$0].data }
        prepare()
    }

    private var winogradEligible: Bool {
        !transposed && geometry.kernel == [3, 3, 3] && geometry.stride == [1, 1, 1] && geometry.padding == [1, 1, 1]
            && Winograd.enabled && min(inChannels, outChannels) >= Winograd.minimumChannels
    }

    private func prepare() {
        winograd = winogradEligible ? Winograd.transformWeights(weight) : nil
    }

    /// Eval BatchNorm after this conv: w' = w·scale[o], b' = b·scale[o] + shift[o].
    func fold(scale: [Float], shift: [Float]) {
        let k = weight.shape.dropFirst(2).reduce(1, *)
        for i in 0..<weight.shape[0] {
            for j in 0..<weight.shape[1] {
                let o = transposed ? j : i
                let base = (i * weight.shape[1] + j) * k
                for t in 0..<k { weight.data[base + t] *= scale[o] }
            }
        }
        let b = bias ?? [Float](repeating: 0, count: outChannels)
        bias = (0..<outChannels).map { b[$0] * scale[$0] + shift[$0] }
        prepare()
    }

    func callAsFunction(_ x: Tensor) -> Tensor {
        Profiler.measure("\(transposed ? "convT" : winograd != nil ? "conv-winograd" : "conv") \(inChannels)→\(outChannels) k\(geometry.kernel.map(String.init).joined(separator: "×")) s\(geometry.stride[0]) @\(x.spatialShape.map(String.init).joined(separator: "×"))") {
            run(x)
        }
    }

    func run(_ x: Tensor) -> Tensor {
        if let winograd {
            return Winograd.forward(x, transformed: winograd, cout: outChannels, bias: bias, activation: activation)
        }
        return transposed
            ? TransposedConvolution.forward(x, weight: weight, bias: bias, geometry: geometry, activation: activation)
            : Convolution.forward(x, weight: weight, bias: bias, geometry: geometry, activation: activation)
    }

    /// Multiply-adds, for GFLOP/s.
    func macs(input spatial: [Int]) -> (Int, [Int]) {
        let out = transposed ? geometry.transposedOutput(spatial) : geometry.convOutput(spatial)
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

    private func apply(_ x: Tensor) -> Tensor {
        switch kind {
        case .batch: return Normalization.channelAffine(x, scale: scale, shift: shift, activation: activation)
        case .instance: return Normalization.instanceNorm(x, weight: weight, bias: bias, activation: activation)
        case .group(let g): return Normalization.groupNorm(x, groups: g, weight: weight, bias: bias, activation: activation)
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

/// A straight run of ops. `freeze` fuses conv → BatchNorm → activation into the
/// conv, and norm → activation into the norm, so most chains run as one pass.
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

    /// The activation this chain ends with, when a residual add must apply it after the sum.
    func callAsFunction(_ x: Tensor) -> Tensor {
        var t = x
        for op in frozen {
            switch op {
            case .conv(let c): t = c(t)
            case .norm(let n): t = n(t)
            case .act(let a): t = Ops.activate(t, a.activation)
            }
        }
        return t
    }

    func macs(input spatial: [Int]) -> (Int, [Int]) {
        var total = 0, s = spatial
        for op in ops { if case .conv(let c) = op { let (m, o) = c.macs(input: s); total += m; s = o } }
        return (total, s)
    }
}
