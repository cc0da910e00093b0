/// Values the state-dict subset of pickle can build. Lists and dicts are
/// classes because pickle fills them after they are memoised.
enum PickleValue {
    case none
    case bool(Bool)
    case int(Int64)
    case float(Double)
    case string(String)
    case bytes([UInt8])
    case tuple(PickleTuple)
    case list(PickleList)
    case dict(PickleDict)
    case global(module: String, name: String)
    case storage(StorageRef)
    case tensor(TensorRef)
    /// Something a state dict can carry but Lumen does not need (numpy dtypes, slices).
    case opaque(String)

    var text: String? { if case .string(let s) = self { return s } else { return nil } }
    var integer: Int? { if case .int(let i) = self { return Int(i) } else { return nil } }

    /// How deeply containers nest below this value; bounded so that walking or
    /// freeing a hostile pickle cannot exhaust the stack.
    var nesting: Int {
        switch self {
        case .tuple(let t): t.nesting
        case .list(let l): l.nesting
        case .dict(let d): d.nesting
        default: 0
        }
    }

    /// The items of a tuple or list (pickle uses both for argument lists).
    var sequence: [PickleValue]? {
        switch self {
        case .tuple(let t): t.items
        case .list(let l): l.items
        default: nil
        }
    }
}

struct PickleTuple {
    let items: [PickleValue]
    let nesting: Int
}

/// Containers are sealed once placed inside another value. Python's pickler
/// always finishes a container before its parent takes it, so a later write
/// can only come from a crafted file trying to build cycles or deep chains.
class PickleContainer {
    var nesting = 0
    var sealed = false
}

final class PickleList: PickleContainer {
    var items: [PickleValue] = []
}

final class PickleDict: PickleContainer {
    var keys: [String] = []
    var values: [String: PickleValue] = [:]

    func set(_ key: String, _ value: PickleValue) {
        if values.updateValue(value, forKey: key) == nil { keys.append(key) }
    }
}

/// A storage named by a persistent id: `('storage', torch.FloatStorage, key, location, numel)`.
struct StorageRef {
    var key: String
    var dtype: TorchDType
    var count: Int
}

/// A view into a storage, as `_rebuild_tensor_v2` describes it (offset and strides in elements).
struct TensorRef {
    var storage: StorageRef
    var offset: Int
    var shape: [Int]
    var strides: [Int]
}

enum TorchDType: String, Sendable {
    case float32, float64, float16, bfloat16, int64, int32, int16, int8, uint8, bool

    var size: Int {
        switch self {
        case .float64, .int64: 8
        case .float32, .int32: 4
        case .float16, .bfloat16, .int16: 2
        case .int8, .uint8, .bool: 1
        }
    }

    /// `torch.FloatStorage` → float32, also the dtype globals `torch.float32` of v3 rebuilds.
    init?(torchName: String) {
        switch torchName {
        case "FloatStorage", "float32", "float": self = .float32
        case "DoubleStorage", "float64", "double": self = .float64
        case "HalfStorage", "float16", "half": self = .float16
        case "BFloat16Storage", "bfloat16": self = .bfloat16
        case "LongStorage", "int64", "long": self = .int64
        case "IntStorage", "int32", "int": self = .int32
        case "ShortStorage", "int16", "short": self = .int16
        case "CharStorage", "int8": self = .int8
        case "ByteStorage", "uint8": self = .uint8
        case "BoolStorage", "bool": self = .bool
        default: return nil
        }
    }

    /// safetensors spells dtypes differently.
    init?(safetensors: String) {
        switch safetensors {
        case "F32": self = .float32
        case "F64": self = .float64
        case "F16": self = .float16
        case "BF16": self = .bfloat16
        case "I64": self = .int64
        case "I32": self = .int32
        case "I16": self = .int16
        case "I8": self = .int8
        case "U8": self = .uint8
        case "BOOL": self = .bool
        default: return nil
        }
    }
}
