/// Why a network definition, a checkpoint or an input does not fit.
public enum NetworkError: Error, Equatable, CustomStringConvertible {
    case unknownNetwork(String, supported: [String])
    case badArgument(network: String, key: String, detail: String)
    case unknownArgument(network: String, key: String, supported: [String])
    case stateDictMismatch(missing: [String], unexpected: [String], wrongShape: [String])
    case badInput(String)
    /// `forward` on a network built with `init(spec:)` whose weights were never loaded.
    case notLoaded(network: String)

    public var description: String {
        switch self {
        case .unknownNetwork(let n, let s):
            return "unknown network \"\(n)\"; supported: \(s.joined(separator: ", "))"
        case .badArgument(let n, let k, let d):
            return "\(n): argument \"\(k)\": \(d)"
        case .unknownArgument(let n, let k, let s):
            return "\(n): unknown argument \"\(k)\"; supported: \(s.joined(separator: ", "))"
        case .stateDictMismatch(let missing, let unexpected, let wrong):
            var parts = ["the checkpoint does not fit this network (wrong architecture or arguments?)"]
            if !missing.isEmpty { parts.append("missing \(missing.count) keys: " + list(missing)) }
            if !unexpected.isEmpty { parts.append("unexpected \(unexpected.count) keys: " + list(unexpected)) }
            if !wrong.isEmpty { parts.append("wrong shape for \(wrong.count) keys: " + list(wrong)) }
            return parts.joined(separator: "\n  ")
        case .badInput(let d):
            return d
        case .notLoaded(let n):
            return "\(n): no weights loaded; call load(_:) with a state dict first"
        }
    }

    private func list(_ items: [String]) -> String {
        let shown = items.prefix(12).joined(separator: ", ")
        return items.count > 12 ? shown + ", … (\(items.count - 12) more)" : shown
    }
}
