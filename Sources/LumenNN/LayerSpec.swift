import LumenTensor

/// A MONAI layer argument: `"prelu"` or `["leakyrelu", {"negative_slope": 0.1}]`.
struct LayerArg {
    var name: String
    var options: [String: JSONValue]

    init(_ value: JSONValue, network: String, key: String) throws {
        switch value {
        case .string(let s):
            name = s.lowercased(); options = [:]
        case .array(let a) where a.count >= 1 && a[0].string != nil:
            name = a[0].string!.lowercased()
            options = a.count > 1 ? (a[1].object ?? [:]) : [:]
        default:
            throw NetworkError.badArgument(network: network, key: key, detail: "expected a name or [name, {options}]")
        }
    }

    init(name: String, options: [String: JSONValue] = [:]) {
        self.name = name
        self.options = options
    }
}

/// Normalisation after a convolution, as configured.
enum NormKind: Equatable {
    case batch
    case instance(affine: Bool)
    case group(groups: Int)

    init?(_ arg: LayerArg?, network: String, key: String, channelsHint: Int = 0) throws {
        guard let arg else { return nil }
        switch arg.name {
        case "batch", "batchnorm", "syncbatch":   // SyncBatchNorm is BatchNorm at eval, same keys
            self = .batch
        case "instance", "instance_nvfuser", "instancenorm":
            self = .instance(affine: arg.options["affine"]?.bool ?? false)
        case "group", "groupnorm":
            guard let g = arg.options["num_groups"]?.int, g > 0 else {
                throw NetworkError.badArgument(network: network, key: key, detail: "group norm needs num_groups")
            }
            self = .group(groups: g)
        default:
            throw NetworkError.badArgument(network: network, key: key,
                                           detail: "norm \"\(arg.name)\" is not supported; use batch, instance or group")
        }
    }
}

/// Activation as configured; PReLU's slope comes from the checkpoint.
enum ActKind: Equatable {
    case relu, leaky(Float), prelu

    init?(_ arg: LayerArg?, network: String, key: String) throws {
        guard let arg else { return nil }
        switch arg.name {
        case "relu": self = .relu
        case "leakyrelu":
            self = .leaky(Float(arg.options["negative_slope"]?.double ?? 0.01))
        case "prelu":
            if let n = arg.options["num_parameters"]?.int, n != 1 {
                throw NetworkError.badArgument(network: network, key: key, detail: "PReLU with \(n) parameters is not supported")
            }
            self = .prelu
        default:
            throw NetworkError.badArgument(network: network, key: key,
                                           detail: "activation \"\(arg.name)\" is not supported; use relu, leakyrelu or prelu")
        }
    }
}
