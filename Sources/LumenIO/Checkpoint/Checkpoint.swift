import Foundation
import LumenTensor

/// A loaded weights file: Float32 tensors by state-dict key, plus the plain
/// values saved next to them (an MMAR's `train_conf` holds the network spec).
public struct Checkpoint: Sendable {
    public enum Format: String, Sendable { case zip, legacy, safetensors }

    public var tensors: [String: Tensor]
    /// Keys in file order, which is the network's registration order.
    public var keyOrder: [String]
    /// Everything beside the state dict in a wrapper (`epoch`, `train_conf`, …)
    /// or a safetensors `__metadata__`; tensors among them appear as a number
    /// when they hold one value, else as a `"<tensor [shape]>"` string.
    public var extras: [String: JSONValue]
    public var format: Format

    public init(tensors: [String: Tensor], keyOrder: [String], extras: [String: JSONValue] = [:], format: Format) {
        self.tensors = tensors
        self.keyOrder = keyOrder
        self.extras = extras
        self.format = format
    }
}

public enum CheckpointLoader {
    public static func load(_ url: URL) throws -> Checkpoint {
        let data: Data
        do { data = try Data(contentsOf: url, options: .mappedIfSafe) } catch {
            throw CheckpointError.unreadable(file: url.lastPathComponent, reason: error.localizedDescription)
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
        // Shorter than any header: an interrupted copy rather than some other kind of file.
        if bytes.count < 16 { throw CheckpointError.truncated(file: name, detail: "only \(bytes.count) bytes") }
        throw CheckpointError.notACheckpoint(file: name)
    }

    /// MMAR checkpoints wrap the state dict (`{"model": sd, "optimizer": …}`);
    /// DataParallel adds `module.` to every key. Both are undone here.
    static func unwrap(_ root: PickleValue, file: String, format: Checkpoint.Format,
                       materialize: (TensorRef) throws -> Tensor) throws -> Checkpoint {
        guard case .dict(let top) = root else { throw CheckpointError.noStateDict(file: file, keys: []) }
        func isStateDict(_ d: PickleDict) -> Bool {
            !d.keys.isEmpty && d.values.values.allSatisfy { if case .tensor = $0 { return true } else { return false } }
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
            // One shared value can make a later key, e.g. train_conf, run out: each key gets its own share.
            var total = 2_000_000
            for k in top.keys where k != key {
                var budget = min(total, 200_000)
                let before = budget
                extras[k] = json(top.values[k]!, budget: &budget, materialize: materialize)
                total -= before - max(budget, 0)
            }
        }
        var tensors: [String: Tensor] = [:]
        var order: [String] = []
        for key in stateDict.keys {
            guard case .tensor(let ref) = stateDict.values[key]! else { continue }
            let name = key.hasPrefix("module.") ? String(key.dropFirst("module.".count)) : key
            guard tensors[name] == nil else { throw CheckpointError.duplicateKey(file: file, key: name) }
            tensors[name] = try materialize(ref)
            order.append(name)
        }
        return Checkpoint(tensors: tensors, keyOrder: order, extras: extras, format: format)
    }

    /// Plain Python values as JSON, so callers can search `train_conf` for a network spec.
    /// Memoised values may be shared many times over (a tuple of a tuple of the
    /// same list…), so the walk has a budget: past it, values become null
    /// instead of letting a small file expand into gigabytes of JSON.
    static func json(_ v: PickleValue, budget: inout Int, materialize: (TensorRef) throws -> Tensor) -> JSONValue {
        json(v, depth: 0, budget: &budget, materialize)
    }

    private static func json(_ v: PickleValue, depth: Int, budget: inout Int,
                             _ materialize: (TensorRef) throws -> Tensor) -> JSONValue {
        budget -= 1
        // The unpickler already bounds nesting; the depth guard keeps this walk safe on its own.
        guard budget >= 0, depth <= Unpickler.maxNesting else { return .null }
        func items(_ list: [PickleValue], _ budget: inout Int) -> JSONValue {
            var out: [JSONValue] = []
            for item in list { out.append(json(item, depth: depth + 1, budget: &budget, materialize)) }
            return .array(out)
        }
        switch v {
        case .none: return .null
        case .bool(let b): return .bool(b)
        case .int(let i): return .number(Double(i))
        case .float(let f): return .number(f)
        case .string(let s): return .string(s)
        case .bytes(let b): return .string(String(decoding: b, as: UTF8.self))
        case .tuple(let t): return items(t.items, &budget)
        case .list(let l): return items(l.items, &budget)
        case .dict(let d):
            var out: [String: JSONValue] = [:]
            for key in d.keys { out[key] = json(d.values[key]!, depth: depth + 1, budget: &budget, materialize) }
            return .object(out)
        case .global(let m, let n): return .string("\(m).\(n)")
        case .storage(let s): return .string("<storage \(s.key)>")
        case .tensor(let ref):
            // A 0-d tensor in extras is usually a metric someone forgot to .item().
            if ref.shape.allSatisfy({ $0 == 1 }), let t = try? materialize(ref) { return .number(Double(t.data[0])) }
            return .string("<tensor \(ref.shape)>")
        case .opaque(let s): return .string("<\(s)>")
        }
    }
}

/// Gathers a strided view out of raw storage bytes as contiguous Float32.
enum StorageDecoder {
    /// Expanded views (stride 0) may hold more elements than their storage;
    /// beyond this a file could make Lumen allocate far more than it weighs.
    static let maxBroadcastElements = 1 << 24

    static func tensor(_ ref: TensorRef, storage: ArraySlice<UInt8>, file: String) throws -> Tensor {
        let key = ref.storage.key
        func outOfRange(_ detail: String) -> CheckpointError { .storageOutOfRange(file: file, key: key, detail: detail) }
        let itemSize = ref.storage.dtype.size
        let available = storage.count / itemSize
        var count = 1
        var last = ref.offset
        for (size, stride) in zip(ref.shape, ref.strides) {
            let (c, o1) = count.multipliedReportingOverflow(by: size)
            guard !o1 else { throw outOfRange("shape \(ref.shape) overflows") }
            count = c
            if size > 0 {
                let (span, o2) = (size - 1).multipliedReportingOverflow(by: stride)
                let (l, o3) = last.addingReportingOverflow(span)
                guard !o2, !o3 else { throw outOfRange("strides \(ref.strides) overflow") }
                last = l
            }
        }
        if count > 0 {
            guard last < available else {
                throw outOfRange("shape \(ref.shape), strides \(ref.strides), offset \(ref.offset) reach element \(last) of \(available)")
            }
            guard count <= available || count <= maxBroadcastElements else {
                throw outOfRange("\(count) elements from a storage of \(available)")
            }
        }
        var out = [Float](repeating: 0, count: count)
        guard count > 0 else { return Tensor(shape: ref.shape, data: out) }
        let rank = ref.shape.count
        var contiguous = true
        var expected = 1
        for d in stride(from: rank - 1, through: 0, by: -1) where ref.shape[d] != 1 {
            if ref.strides[d] != expected { contiguous = false }
            expected *= ref.shape[d]
        }
        let dtype = ref.storage.dtype
        storage.withUnsafeBytes { raw in
            out.withUnsafeMutableBufferPointer { dst in
                if contiguous {
                    if dtype == .float32 {
                        UnsafeMutableRawBufferPointer(dst).copyMemory(
                            from: UnsafeRawBufferPointer(rebasing: raw[(ref.offset * 4)..<((ref.offset + count) * 4)]))
                    } else {
                        for n in 0..<count { dst[n] = decode(raw, (ref.offset + n) * itemSize, dtype) }
                    }
                    return
                }
                var index = [Int](repeating: 0, count: rank)
                var element = ref.offset
                for n in 0..<count {
                    dst[n] = decode(raw, element * itemSize, dtype)
                    var d = rank - 1
                    while d >= 0 {
                        index[d] += 1
                        element += ref.strides[d]
                        if index[d] < ref.shape[d] { break }
                        element -= ref.strides[d] * ref.shape[d]
                        index[d] = 0
                        d -= 1
                    }
                }
            }
        }
        return Tensor(shape: ref.shape, data: out)
    }

    @inline(__always)
    static func decode(_ raw: UnsafeRawBufferPointer, _ o: Int, _ dtype: TorchDType) -> Float {
        switch dtype {
        case .float32: return Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: o, as: UInt32.self)))
        case .float64: return Float(Double(bitPattern: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: o, as: UInt64.self))))
        case .float16: return Float(Float16(bitPattern: UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: o, as: UInt16.self))))
        case .bfloat16: return Float(bitPattern: UInt32(UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: o, as: UInt16.self))) << 16)
        case .int64: return Float(Int64(littleEndian: raw.loadUnaligned(fromByteOffset: o, as: Int64.self)))
        case .int32: return Float(Int32(littleEndian: raw.loadUnaligned(fromByteOffset: o, as: Int32.self)))
        case .int16: return Float(Int16(littleEndian: raw.loadUnaligned(fromByteOffset: o, as: Int16.self)))
        case .int8: return Float(raw.load(fromByteOffset: o, as: Int8.self))
        case .uint8: return Float(raw.load(fromByteOffset: o, as: UInt8.self))
        case .bool: return raw.load(fromByteOffset: o, as: UInt8.self) != 0 ? 1 : 0
        }
    }
}
