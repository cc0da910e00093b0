import Foundation
import LumenTensor

/// safetensors: a little-endian u64 header length, a JSON header, then the data.
public enum SafetensorsFormat {
    static func looksLike(_ bytes: [UInt8]) -> Bool {
        guard bytes.count >= 10 else { return false }
        return bytes[8] == UInt8(ascii: "{")
    }

    static func load(bytes: [UInt8], file: String) throws -> Checkpoint {
        let reader = ByteReader(bytes: bytes, file: file)
        let length = try reader.u64(0)
        guard length <= bytes.count - 8 else {
            throw CheckpointError.truncated(file: file, detail: "header of \(length) bytes in a \(bytes.count)-byte file")
        }
        let header: JSONValue
        do { header = try JSONValue(parsing: Data(try reader.slice(8, length))) } catch {
            throw CheckpointError.badSafetensors(file: file, detail: "header is not valid JSON")
        }
        guard let entries = header.object else { throw CheckpointError.badSafetensors(file: file, detail: "header is not an object") }
        let base = 8 + length
        var tensors: [String: Tensor] = [:]
        var extras: [String: JSONValue] = [:]
        var placed: [(Int, String)] = []
        for (name, entry) in entries {
            if name == "__metadata__" { extras = entry.object ?? [:]; continue }
            guard let dt = entry["dtype"]?.string, let dtype = TorchDType(safetensors: dt) else {
                throw CheckpointError.unsupportedDType(file: file, dtype: entry["dtype"]?.string ?? "?")
            }
            guard let shape = entry["shape"]?.array?.compactMap(\.int), let offsets = entry["data_offsets"]?.array?.compactMap(\.int),
                  offsets.count == 2, shape.allSatisfy({ $0 >= 0 }), offsets[0] >= 0, offsets[1] >= offsets[0] else {
                throw CheckpointError.badSafetensors(file: file, detail: "entry \(name) has no valid shape or data_offsets")
            }
            let count = shape.reduce(1, *)
            guard offsets[1] - offsets[0] == count * dtype.size else {
                throw CheckpointError.badSafetensors(file: file, detail: "entry \(name): \(offsets[1] - offsets[0]) bytes for shape \(shape)")
            }
            let storage = try reader.slice(base + offsets[0], offsets[1] - offsets[0])
            var strides = [Int](repeating: 1, count: shape.count)
            for d in stride(from: shape.count - 2, through: 0, by: -1) { strides[d] = strides[d + 1] * shape[d + 1] }
            let ref = TensorRef(storage: StorageRef(key: name, dtype: dtype, count: count), offset: 0, shape: shape, strides: strides)
            tensors[name] = try StorageDecoder.tensor(ref, storage: storage, file: file)
            placed.append((offsets[0], name))
        }
        let order = placed.sorted { $0.0 < $1.0 }.map(\.1)
        return Checkpoint(tensors: tensors, keyOrder: order, extras: extras, format: .safetensors)
    }

    /// Writes Float32 tensors (keys sorted, as the reference writer does), atomically.
    public static func write(_ tensors: [String: Tensor], to url: URL) throws {
        var header: [String: Any] = [:]
        var body = Data()
        for name in tensors.keys.sorted() {
            let t = tensors[name]!
            let start = body.count
            t.data.withUnsafeBytes { body.append(contentsOf: $0) }
            header[name] = ["dtype": "F32", "shape": t.shape, "data_offsets": [start, body.count]]
        }
        var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        while json.count % 8 != 0 { json.append(UInt8(ascii: " ")) }
        var out = Data()
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { out.append(contentsOf: $0) }
        out.append(json)
        out.append(body)
        try AtomicFile.write(out, to: url)
    }
}
