import Foundation
import LumenTensor

/// safetensors: a little-endian u64 header length, a JSON header, then the data.
/// Lumen reads it as a checkpoint and writes it to export Float32 weights.
public enum SafetensorsFormat {
    /// A JSON header larger than this is not a weights file (the reference reader caps it at 100 MB too).
    static let maxHeader = 100_000_000

    static func looksLike(_ bytes: [UInt8]) -> Bool {
        bytes.count >= 10 && bytes[8] == UInt8(ascii: "{")
    }

    static func load(bytes: [UInt8], file: String) throws -> Checkpoint {
        func bad(_ detail: String) -> CheckpointError { .badSafetensors(file: file, detail: detail) }
        let reader = ByteReader(bytes: bytes, file: file)
        let length = try reader.u64(0)
        guard length <= maxHeader else { throw bad("a header of \(length) bytes") }
        guard length <= bytes.count - 8 else {
            throw CheckpointError.truncated(file: file, detail: "a header of \(length) bytes in a \(bytes.count)-byte file")
        }
        let header: JSONValue
        do { header = try JSONValue(parsing: Data(try reader.slice(8, length))) } catch {
            throw bad("the header is not valid JSON")
        }
        guard let entries = header.object else { throw bad("the header is not a JSON object") }
        let base = 8 + length
        let bufferSize = bytes.count - base
        var tensors: [String: Tensor] = [:]
        var extras: [String: JSONValue] = [:]
        var placed: [(Int, String)] = []
        for (name, entry) in entries {
            if name == "__metadata__" { extras = entry.object ?? [:]; continue }
            guard let dt = entry["dtype"]?.string else { throw bad("entry \(name) has no dtype") }
            guard let dtype = TorchDType(safetensors: dt) else { throw CheckpointError.unsupportedDType(file: file, dtype: dt) }
            guard let shapeValues = entry["shape"]?.array, let offsetValues = entry["data_offsets"]?.array else {
                throw bad("entry \(name) lacks shape or data_offsets")
            }
            let shape = shapeValues.compactMap(\.int), offsets = offsetValues.compactMap(\.int)
            guard shape.count == shapeValues.count, shape.allSatisfy({ $0 >= 0 }),
                  offsets.count == 2, offsets.count == offsetValues.count, offsets[0] >= 0, offsets[1] >= offsets[0] else {
                throw bad("entry \(name) has shape \(shapeValues) and data_offsets \(offsetValues)")
            }
            guard offsets[1] <= bufferSize else {
                throw CheckpointError.truncated(file: file, detail: "entry \(name) ends at byte \(offsets[1]) of a \(bufferSize)-byte buffer")
            }
            var count = 1
            for s in shape {
                let (c, overflow) = count.multipliedReportingOverflow(by: s)
                guard !overflow, c <= bufferSize else { throw bad("entry \(name): shape \(shape) does not fit in the file") }
                count = c
            }
            guard offsets[1] - offsets[0] == count * dtype.size else {
                throw bad("entry \(name): \(offsets[1] - offsets[0]) bytes for \(dt) shape \(shape)")
            }
            let storage = bytes[(base + offsets[0])..<(base + offsets[1])]
            var strides = [Int](repeating: 1, count: shape.count)
            for d in stride(from: shape.count - 2, through: 0, by: -1) { strides[d] = strides[d + 1] * shape[d + 1] }
            let ref = TensorRef(storage: StorageRef(key: name, dtype: dtype, count: count), offset: 0, shape: shape, strides: strides)
            tensors[name] = try StorageDecoder.tensor(ref, storage: storage, file: file)
            placed.append((offsets[0], name))
        }
        // The JSON object has no order; data order is the writer's order.
        let order = placed.sorted { $0.0 != $1.0 ? $0.0 < $1.0 : $0.1 < $1.1 }.map(\.1)
        return Checkpoint(tensors: tensors, keyOrder: order, extras: extras, format: .safetensors)
    }

    /// Float32 tensors in the order given (default: sorted keys), atomically.
    /// Metadata values are strings, as the format requires.
    public static func write(_ tensors: [String: Tensor], order: [String]? = nil, metadata: [String: String] = [:],
                             to url: URL) throws {
        try AtomicFile.write(encode(tensors, order: order, metadata: metadata), to: url)
    }

    public static func encode(_ tensors: [String: Tensor], order: [String]? = nil, metadata: [String: String] = [:]) throws -> Data {
        let names = order ?? tensors.keys.sorted()
        guard Set(names) == Set(tensors.keys), names.count == tensors.count else {
            throw CheckpointError.badSafetensors(file: "(writer)", detail: "order must list every tensor once")
        }
        var header: [String: Any] = [:]
        var body = Data()
        for name in names {
            let t = tensors[name]!
            let start = body.count
            t.data.map { $0.bitPattern.littleEndian }.withUnsafeBytes { body.append(contentsOf: $0) }
            header[name] = ["dtype": "F32", "shape": t.shape, "data_offsets": [start, body.count]]
        }
        if !metadata.isEmpty { header["__metadata__"] = metadata }
        var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        // Aligning the buffer to 8 bytes lets readers map it directly.
        while (8 + json.count) % 8 != 0 { json.append(UInt8(ascii: " ")) }
        var out = Data()
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { out.append(contentsOf: $0) }
        out.append(json)
        out.append(body)
        return out
    }
}
