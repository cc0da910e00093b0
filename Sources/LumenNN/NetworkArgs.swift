import LumenTensor

/// Reads a network's `args` with MONAI's defaults and refuses keys the family
/// does not have, so a typo in a config fails at load time with a clear message.
struct NetworkArgs {
    let network: String
    let values: [String: JSONValue]
    let known: [String]

    init(network: String, values: [String: JSONValue], known: [String], renames: [String: String] = [:]) throws {
        self.network = network
        self.known = known
        var v: [String: JSONValue] = [:]
        for (key, value) in values {
            let name = renames[key] ?? key
            guard known.contains(name) else {
                throw NetworkError.unknownArgument(network: network, key: key, supported: known.sorted())
            }
            if let text = value.string, let first = text.first, "@$%".contains(first) {
                throw NetworkError.badArgument(network: network, key: key, detail:
                    "\"\(text)\" is a MONAI bundle reference or expression; resolve it to a literal value before building the network")
            }
            v[name] = value
        }
        self.values = v
    }

    func int(_ key: String, _ fallback: Int? = nil) throws -> Int {
        guard let value = values[key] else {
            if let fallback { return fallback }
            throw NetworkError.badArgument(network: network, key: key, detail: "is required")
        }
        guard let i = value.int else { throw NetworkError.badArgument(network: network, key: key, detail: "expected an integer") }
        return i
    }

    func double(_ key: String, _ fallback: Double) throws -> Double {
        guard let value = values[key], value != .null else { return fallback }
        guard let d = value.double else { throw NetworkError.badArgument(network: network, key: key, detail: "expected a number") }
        return d
    }

    func bool(_ key: String, _ fallback: Bool) throws -> Bool {
        guard let value = values[key] else { return fallback }
        guard let b = value.bool else { throw NetworkError.badArgument(network: network, key: key, detail: "expected true or false") }
        return b
    }

    func string(_ key: String, _ fallback: String) throws -> String {
        guard let value = values[key] else { return fallback }
        guard let s = value.string else { throw NetworkError.badArgument(network: network, key: key, detail: "expected a string") }
        return s
    }

    func ints(_ key: String, _ fallback: [Int]? = nil) throws -> [Int] {
        guard let value = values[key] else {
            if let fallback { return fallback }
            throw NetworkError.badArgument(network: network, key: key, detail: "is required")
        }
        if let i = value.int { return [i] }
        guard let a = value.array, a.allSatisfy({ $0.int != nil }) else {
            throw NetworkError.badArgument(network: network, key: key, detail: "expected a list of integers")
        }
        return a.map { $0.int! }
    }

    /// Per-level sizes that may each be an int or a per-dimension list (DynUNet kernels, strides).
    func perLevel(_ key: String, dims: Int, _ fallback: [[Int]]? = nil) throws -> [[Int]] {
        guard let value = values[key] else {
            if let fallback { return fallback }
            throw NetworkError.badArgument(network: network, key: key, detail: "is required")
        }
        guard let a = value.array else { throw NetworkError.badArgument(network: network, key: key, detail: "expected a list") }
        return try a.map { item in
            if let i = item.int { return [Int](repeating: i, count: dims) }
            guard let l = item.array?.compactMap(\.int), l.count == dims else {
                throw NetworkError.badArgument(network: network, key: key, detail: "each entry must be an int or \(dims) ints")
            }
            return l
        }
    }

    func layer(_ key: String, _ fallback: LayerArg?) throws -> LayerArg? {
        guard let value = values[key] else { return fallback }
        if value == .null { return nil }
        return try LayerArg(value, network: network, key: key)
    }
}

/// MONAI's `Convolution` block: conv, then the ADN children `N` and `A`
/// (dropout is identity at eval and has no keys).
func monaiConvolution(_ store: ParamStore, prefix: String, in inC: Int, out outC: Int, kernel: [Int], stride: [Int],
                      norm: NormKind?, act: ActKind?, bias: Bool, ordering: String = "NDA", convOnly: Bool = false,
                      transposed: Bool = false, padding: [Int]? = nil, outputPadding: [Int]? = nil) -> Chain {
    let pad = padding ?? kernel.map { ($0 - 1) / 2 }
    let outPad = outputPadding ?? (transposed ? stride.map { $0 - 1 } : nil)
    let chain = Chain([.conv(ConvOp(store, prefix: prefix + "conv.", in: inC, out: outC, kernel: kernel, stride: stride,
                                    padding: pad, outputPadding: outPad, bias: bias, transposed: transposed))])
    if !convOnly {
        // ADN adds its children in the ordering string's order and leaves out letters it lacks.
        for letter in ordering {
            if letter == "N", let norm { chain.append(.norm(NormOp(store, prefix: prefix + "adn.N.", kind: norm, channels: outC))) }
            if letter == "A", let act { chain.append(.act(ActOp(store, prefix: prefix + "adn.A.", kind: act))) }
        }
    }
    return chain
}
