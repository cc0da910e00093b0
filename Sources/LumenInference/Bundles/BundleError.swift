/// Why a model bundle cannot be served; each message names the file and key.
public enum BundleError: Error, Equatable, CustomStringConvertible {
    case missingFile(bundle: String, file: String)
    case badJSON(file: String, detail: String)
    case unsupportedTransform(file: String, key: String, name: String, supported: [String])
    case unsupportedType(file: String, type: String, supported: [String])
    case noNetwork(bundle: String)
    case badArgument(file: String, key: String, detail: String)
    case tensorFlowMMAR(bundle: String)

    public var description: String {
        switch self {
        case .missingFile(let b, let f): return "\(b): missing \(f)"
        case .badJSON(let f, let d): return "\(f): \(d)"
        case .unsupportedTransform(let f, let k, let n, let s):
            return "\(f): \(k): transform \"\(n)\" is not supported; supported: \(s.joined(separator: ", "))"
        case .unsupportedType(let f, let t, let s): return "\(f): type \"\(t)\" is not supported; supported: \(s.joined(separator: ", "))"
        case .noNetwork(let b): return "\(b): no network definition in models/model.pt (train_conf) or config/config_train.json"
        case .badArgument(let f, let k, let d): return "\(f): \(k): \(d)"
        case .tensorFlowMMAR(let b): return "\(b): a Clara 3 (TensorFlow) MMAR; only PyTorch MMARs (models/model.pt) are supported"
        }
    }
}
