/// Everything a transform refuses, phrased so the person who wrote the model
/// config (or sent the request) can fix it without reading Lumen's source.
public enum TransformError: Error, Equatable, CustomStringConvertible {
    case unknownTransform(name: String, supported: [String])
    case unknownArgument(transform: String, argument: String, supported: [String])
    case badArgument(transform: String, argument: String, detail: String)
    case badInput(transform: String, detail: String)

    public var description: String {
        switch self {
        case .unknownTransform(let name, let supported):
            return "transform \"\(name)\" is not supported; supported transforms: \(supported.joined(separator: ", "))"
        case .unknownArgument(let t, let a, let supported):
            return "\(t): argument \"\(a)\" is not supported; supported arguments: \(supported.joined(separator: ", "))"
        case .badArgument(let t, let a, let detail):
            return "\(t): argument \"\(a)\" \(detail)"
        case .badInput(let t, let detail):
            return "\(t): \(detail)"
        }
    }
}
