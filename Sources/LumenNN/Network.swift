import Foundation
import LumenTensor

/// A network definition as found in an MMAR's `config_train.json`
/// (`{"name": "UNet", "args": {…}}`) or a MONAI bundle's `network_def`
/// (`{"_target_": "monai.networks.nets.UNet", …}`).
public struct NetworkSpec: Sendable, Equatable {
    public var name: String
    public var args: [String: JSONValue]

    public static let families = ["UNet", "BasicUNet", "SegResNet", "DynUNet"]

    public init(name: String, args: [String: JSONValue]) {
        self.name = name
        self.args = args
    }

    public init(json: JSONValue) throws {
        guard let object = json.object else {
            throw NetworkError.badArgument(network: "?", key: "network", detail: "a network definition must be a JSON object")
        }
        if let target = object["_target_"]?.string {
            name = target
            args = object.filter { $0.key != "_target_" }
        } else if let n = object["name"]?.string {
            name = n
            args = object["args"]?.object ?? [:]
            if let path = object["path"]?.string, object["name"] == nil { name = path }
        } else if let path = object["path"]?.string {
            name = path
            args = object["args"]?.object ?? [:]
        } else {
            throw NetworkError.badArgument(network: "?", key: "name", detail: "the definition has neither \"name\" nor \"_target_\"")
        }
    }

    public init(contentsOf url: URL) throws {
        try self.init(json: try JSONValue(parsing: Data(contentsOf: url)))
    }

    /// `monai.networks.nets.UNet`, `Unet`, `BasicUnet`, `basicunet` → the family.
    public var family: String? {
        let short = name.split(separator: ".").last.map(String.init)?.lowercased() ?? ""
        switch short {
        case "unet": return "UNet"
        case "basicunet": return "BasicUNet"
        case "segresnet": return "SegResNet"
        case "dynunet": return "DynUNet"
        default: return nil
        }
    }
}

/// A MONAI network bound to its weights and frozen for inference: BatchNorm
/// folded into convolutions, activations fused, nothing left to decide per call.
///
/// `forward` only reads the bound weights, so one instance may serve
/// concurrent requests; `load` rebinds them and must not overlap a forward.
public final class Network: @unchecked Sendable {
    public let spec: NetworkSpec
    private var body: NetworkBody
    /// Set once a state dict has bound every op; a failed load leaves the previous weights in place.
    private var loaded = false

    public var inChannels: Int { body.inChannels }
    public var outChannels: Int { body.outChannels }
    public var spatialDims: Int { body.spatialDims }
    public var sizeMultiple: [Int] { body.sizeMultiple }
    var plan: ExecutionPlan { body.plan }

    /// Builds the layers only; `expectedKeys` is then available (for random-weight benchmarks).
    public init(spec: NetworkSpec) throws {
        self.spec = spec
        switch spec.family {
        case "UNet": body = try UNet(args: spec.args)
        case "BasicUNet": body = try BasicUNet(args: spec.args)
        case "SegResNet": body = try SegResNet(args: spec.args)
        case "DynUNet": body = try DynUNet(args: spec.args)
        default:
            throw NetworkError.unknownNetwork(spec.name, supported: NetworkSpec.families)
        }
        try checkGroups()
    }

    /// GroupNorm needs its channels to split evenly, which only the built
    /// layer widths reveal; PyTorch refuses such a layer at construction too.
    private func checkGroups() throws {
        for chain in body.plan.chains {
            for case .norm(let n) in chain.ops {
                if case .group(let g) = n.kind, n.channels % g != 0 {
                    throw NetworkError.badArgument(network: spec.name, key: spec.family == "DynUNet" ? "norm_name" : "norm",
                                                   detail: "group norm with \(g) groups cannot split a layer of \(n.channels) channels (\(n.prefix.dropLast()))")
                }
            }
        }
    }

    public convenience init(spec: NetworkSpec, stateDict: [String: Tensor]) throws {
        try self.init(spec: spec)
        try load(stateDict)
    }

    public func load(_ stateDict: [String: Tensor]) throws {
        do {
            try body.store.bind(stateDict)
        } catch let error as NetworkError {
            guard let legacy = try body.legacyAlternative(for: stateDict) else { throw error }
            try legacy.store.bind(stateDict)
            body = legacy
        }
        body.bind()
        loaded = true
    }

    /// The state dict this network wants, in registration order.
    public var expectedKeys: [(key: String, shape: [Int])] { body.store.specs }

    public func validate(_ shape: [Int]) throws {
        guard shape.count == spatialDims + 2 else {
            throw NetworkError.badInput("\(spec.name) expects a \(spatialDims + 2)-D input (N, C, \(spatialDims == 3 ? "D, H, W" : "H, W")), got shape \(shape)")
        }
        guard shape[1] == inChannels else {
            throw NetworkError.badInput("\(spec.name) expects \(inChannels) input channel\(inChannels == 1 ? "" : "s"), got \(shape[1]) (input shape \(shape))")
        }
        let spatial = Array(shape.dropFirst(2))
        guard spatial.allSatisfy({ $0 >= 1 }), shape[0] >= 1 else { throw NetworkError.badInput("empty input shape \(shape)") }
        if spatial.contains(where: { $0 < body.minimumSize }) {
            throw NetworkError.badInput("\(spec.name) needs every spatial size to be at least \(body.minimumSize), got \(spatial); pad the input")
        }
        if zip(spatial, sizeMultiple).contains(where: { $0 % $1 != 0 }) {
            throw NetworkError.badInput("\(spec.name) needs spatial sizes divisible by \(sizeMultiple), got \(spatial); pad the input")
        }
    }

    public func forward(_ x: Tensor) throws -> Tensor {
        guard loaded else { throw NetworkError.notLoaded(network: spec.name) }
        try validate(x.shape)
        return body.forward(x)
    }

    /// Estimated peak of live activation memory during `forward` for this
    /// input shape, in bytes: every tensor is freed after its last reader, so
    /// this is the widest point of the plan, input included. Kernel scratch
    /// (im2col panels, Winograd tiles) comes on top. Lets a server decide how
    /// many windows it can run at once before it runs any.
    public func peakBytes(inputShape: [Int]) throws -> Int {
        try validate(inputShape)
        return body.plan.peakBytes(input: inputShape)
    }

    /// Multiply-adds of every convolution for this input shape (norms,
    /// activations and copies are not counted).
    public func multiplyAdds(inputShape: [Int]) throws -> Int {
        try validate(inputShape)
        return body.plan.multiplyAdds(input: inputShape)
    }

    /// Floating-point operations (2 per multiply-add) for GFLOP/s reports.
    public func flops(inputShape: [Int]) throws -> Int {
        2 * (try multiplyAdds(inputShape: inputShape))
    }

    /// The shape `forward` returns for an input of this shape.
    public func outputShape(inputShape: [Int]) throws -> [Int] {
        try validate(inputShape)
        return body.plan.shapes(input: inputShape)[body.plan.output]
    }
}
