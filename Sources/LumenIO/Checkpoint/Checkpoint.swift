import Foundation
import LumenTensor

/// A loaded weights file: Float32 tensors by state-dict key, plus the plain
/// values saved next to them (an MMAR's `train_conf` holds the network spec).
public struct Checkpoint: Sendable {
    public enum Format: String, Sendable { case zip, legacy, safetensors }

    public var tensors: [String: Tensor]
    /// Keys in file order, which is the network's registration order.
    public var keyOrder: [String]
    public var extras: [String: JSONValue]
    public var format: Format
}

public enum CheckpointLoader {
    public static func load(_ url: URL) throws -> Checkpoint {
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw CheckpointError.missingEntry(file: url.lastPathComponent, entry: "file (cannot read \(url.path))")
        }
        return try load(bytes: [UInt8](data), name: url.lastPathComponent)
    }

    public static func load(data: Data, name: String) throws -> Checkpoint {
        try load(bytes: [UInt8](data), name: name)
    }

    static func load(bytes: [UInt8], name: String) throws -> Checkpoint {
        if bytes.starts(with: [0x50, 0x4B, 0x03, 0x04]) || bytes.starts(with: [0x50, 0x4B, 0x05, 0x06]) {
            return try TorchZipFormat.load(bytes: bytes, file: name)
        }
        if bytes.starts(with: [0x80, 0x02, 0x8A, 0x0A]) {
            return try TorchLegacyFormat.load(bytes: bytes, file: name)
        }
        if SafetensorsFormat.looksLike(bytes) {
            return try SafetensorsFormat.load(bytes: bytes, file: name)
        }
        if bytes.count < 8 { throw CheckpointError.truncated(file: name, detail: "only \(bytes.count) bytes") }
        throw CheckpointError.notACheckpoint(file: name)
    }

    /// MMAR checkpoints wrap the state dict (`{"model": sd, "optimizer": …}`);
    /// DataParallel adds `module.` to every key. Both are undone here.
    static func unwrap(_ root: PickleValue, file: String,
                       materialize: (TensorRef) throws -> Tensor) throws -> (tensors: [String: Tensor], order: [String], extras: [String: JSONValue]) {
        guard case .dict(let top) = root else { throw CheckpointError.noStateDict(file: file, keys: []) }
        func isStateDict(_ d: PickleDict) -> Bool {
            !d.keys.isEmpty && d.keys.allSatisfy { if case .tensor = d.values[$0]! { return true } else { return false } }
        }
        var stateDict = top
        var extras: [String: JSONValue] = [:]
        if !isStateDict(top) {
            guard let key = ["model", "state_dict", "net", "network"].first(where: {
                if case .dict(let d) = top.values[$0] { return isStateDict(d) } else { return false }
            }), case .dict(let inner) = top.values[key] else {
                throw CheckpointError.noStateDict(file: file, keys: top.keys)
            }
            stateDict = inner
            for k in top.keys where k != key { extras[k] = json(top.values[k]!) }
        }
        var tensors: [String: Tensor] = [:]
        var order: [String] = []
        let prefixed = stateDict.keys.allSatisfy { $0.hasPrefix("module.") }
        for key in stateDict.keys {
            guard case .tensor(let ref) = stateDict.values[key]! else { continue }
            let name = prefixed ? String(key.dropFirst("module.".count)) : key
            tensors[name] = try materialize(ref)
            order.append(name)
        }
        return (tensors, order, extras)
    }

    static func json(_ v: PickleValue) -> JSONValue {
        switch v {
        case .none, .mark: return .null
        case .bool(let b): return .bool(b)
        case .int(let i): return .number(Double(i))
        case .float(let f): return .number(f)
        case .string(let s): return .string(s)
        case .bytes(let b): return .string(String(decoding: b, as: UTF8.self))
        case .tuple(let items): return .array(items.map(json))
        case .list(let l): return .array(l.items.map(json))
        case .dict(let d): return .object(d.values.mapValues(json))
        case .global(let m, let n): return .string("\(m).\(n)")
        case .storage, .tensor: return .string("<tensor>")
        case .opaque(let s): return .string("<\(s)>")
        }
    }
}

/// Gathers a strided view out of raw storage bytes as contiguous Float32.
enum StorageDecoder {
    static func tensor(_ ref: TensorRef, storage: ArraySlice<UInt8>, file: String) throws -> Tensor {
        let count = ref.shape.reduce(1, *)
        let itemSize = ref.storage.dtype.size
        let available = storage.count / itemSize
        if count > 0 {
            let last = ref.offset + zip(ref.shape, ref.strides).map { ($0 - 1) * $1 }.reduce(0, +)
            guard ref.offset >= 0, last < available else {
                throw CheckpointError.storageOutOfRange(file: file, key: ref.storage.key)
            }
        }
        var out = [Float](repeating: 0, count: count)
        let rank = ref.shape.count
        storage.withUnsafeBytes { raw in
            var index = [Int](repeating: 0, count: rank)
            for n in 0..<count {
                var element = ref.offset
                for d in 0..<rank { element += index[d] * ref.strides[d] }
                out[n] = decode(raw, element * itemSize, ref.storage.dtype)
                var d = rank - 1
                while d >= 0 {
                    index[d] += 1
                    if index[d] < ref.shape[d] { break }
                    index[d] = 0
                    d -= 1
                }
            }
        }
        return Tensor(shape: ref.shape, data: out)
    }

    @inline(__always)
    static func decode(_ raw: UnsafeRawBufferPointer, _ o: Int, _ dtype: TorchDType) -> Float {
        switch dtype {
        case .float32: return raw.loadUnaligned(fromByteOffset: o, as: Float.self)
        case .float64: return Float(raw.loadUnaligned(fromByteOffset: o, as: Double.self))
        case .float16: return Float(Float16(bitPattern: raw.loadUnaligned(fromByteOffset: o, as: UInt16.self)))
        case .bfloat16: return Float(bitPattern: UInt32(raw.loadUnaligned(fromByteOffset: o, as: UInt16.self)) << 16)
        case .int64: return Float(raw.loadUnaligned(fromByteOffset: o, as: Int64.self))
        case .int32: return Float(raw.loadUnaligned(fromByteOffset: o, as: Int32.self))
        case .int16: return Float(raw.loadUnaligned(fromByteOffset: o, as: Int16.self))
        case .int8: return Float(raw.load(fromByteOffset: o, as: Int8.self))
        case .uint8: return Float(raw.load(fromByteOffset: o, as: UInt8.self))
        case .bool: return raw.load(fromByteOffset: o, as: UInt8.self) != 0 ? 1 : 0
        }
    }
}
