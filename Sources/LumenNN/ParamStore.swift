import LumenTensor

/// The state dict a network expects, declared by its layers as they are
/// built, and bound to a checkpoint in one step so that every mismatch is
/// reported together.
final class ParamStore {
    private(set) var specs: [(key: String, shape: [Int])] = []
    private var optional: Set<String> = []
    private var values: [String: Tensor] = [:]
    /// Older spellings of a key (MONAI ≤ 0.3 UNet: `unit0.norm` for `unit0.adn.N`).
    var aliases: (String) -> [String] = { _ in [] }
    /// Keys a checkpoint may carry that eval never uses (DynUNet `skip_layers.*`).
    var ignorable: (String) -> Bool = { _ in false }

    func declare(_ key: String, _ shape: [Int], optional isOptional: Bool = false) {
        specs.append((key, shape))
        if isOptional { optional.insert(key) }
    }

    subscript(key: String) -> Tensor { values[key]! }
    func has(_ key: String) -> Bool { values[key] != nil }

    func bind(_ stateDict: [String: Tensor]) throws {
        var missing: [String] = [], wrong: [String] = []
        var used: Set<String> = []
        for (key, shape) in specs {
            let found = ([key] + aliases(key)).first { stateDict[$0] != nil }
            guard let name = found, let tensor = stateDict[name] else {
                if !optional.contains(key) { missing.append("\(key) \(shape)") }
                continue
            }
            used.insert(name)
            if tensor.shape != shape && !(optional.contains(key) && shape.isEmpty) {
                wrong.append("\(key): expected \(shape), got \(tensor.shape)")
                continue
            }
            values[key] = tensor
        }
        let unexpected = stateDict.keys.filter { !used.contains($0) && !ignorable($0) }.sorted()
            .map { "\($0) \(stateDict[$0]!.shape)" }
        if !missing.isEmpty || !unexpected.isEmpty || !wrong.isEmpty {
            throw NetworkError.stateDictMismatch(missing: missing, unexpected: unexpected, wrongShape: wrong)
        }
    }
}
