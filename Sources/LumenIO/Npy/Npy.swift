import Foundation
import LumenTensor

public enum NpyError: Error, Equatable, CustomStringConvertible {
    case notNpy(file: String)
    case unsupported(file: String, detail: String)
    case truncated(file: String, expected: Int, got: Int)

    public var description: String {
        switch self {
        case .notNpy(let f): return "\(f): not a .npy file (missing \\x93NUMPY magic)"
        case .unsupported(let f, let d): return "\(f): \(d)"
        case .truncated(let f, let e, let g): return "\(f): truncated: \(e) data bytes expected, \(g) present"
        }
    }
}

/// NumPy's `.npy`, the tensor format of `lumen forward` (float32 NCDHW, C order).
public enum Npy {
    public static func read(_ url: URL) throws -> Tensor {
        let name = url.lastPathComponent
        guard let data = FileManager.default.contents(atPath: url.path) else { throw NpyError.notNpy(file: name) }
        return try decode([UInt8](data), name: name)
    }

    static func decode(_ b: [UInt8], name: String) throws -> Tensor {
        guard b.count >= 10, b.starts(with: [0x93] + Array("NUMPY".utf8)) else { throw NpyError.notNpy(file: name) }
        let major = b[6]
        let headerLength: Int, start: Int
        if major == 1 { headerLength = Int(b[8]) | Int(b[9]) << 8; start = 10 }
        else {
            guard b.count >= 12 else { throw NpyError.notNpy(file: name) }
            headerLength = Int(b[8]) | Int(b[9]) << 8 | Int(b[10]) << 16 | Int(b[11]) << 24; start = 12
        }
        guard start + headerLength <= b.count else { throw NpyError.truncated(file: name, expected: headerLength, got: b.count - start) }
        let header = String(decoding: b[start..<(start + headerLength)], as: UTF8.self)
        guard let descr = field(header, "descr"), let order = field(header, "fortran_order"), let shapeText = field(header, "shape") else {
            throw NpyError.unsupported(file: name, detail: "unreadable header \(header)")
        }
        guard order.hasPrefix("False") else {
            throw NpyError.unsupported(file: name, detail: "Fortran-ordered arrays are not supported; save with np.ascontiguousarray")
        }
        let shape = shapeText.trimmingCharacters(in: CharacterSet(charactersIn: "() ")).split(separator: ",")
            .compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        let dtype = descr.trimmingCharacters(in: CharacterSet(charactersIn: "'\" "))
        let sizes: [String: Int] = ["<f4": 4, "<f8": 8, "<i8": 8, "<i4": 4, "<i2": 2, "|i1": 1, "|u1": 1, "<u2": 2, "|b1": 1]
        guard let size = sizes[dtype] else {
            throw NpyError.unsupported(file: name, detail: "dtype \(dtype) is not supported; use float32")
        }
        let count = shape.reduce(1, *)
        let offset = start + headerLength
        guard b.count - offset >= count * size else { throw NpyError.truncated(file: name, expected: count * size, got: b.count - offset) }
        var out = [Float](repeating: 0, count: count)
        b.withUnsafeBytes { raw in
            for i in 0..<count {
                let o = offset + i * size
                switch dtype {
                case "<f4": out[i] = raw.loadUnaligned(fromByteOffset: o, as: Float.self)
                case "<f8": out[i] = Float(raw.loadUnaligned(fromByteOffset: o, as: Double.self))
                case "<i8": out[i] = Float(raw.loadUnaligned(fromByteOffset: o, as: Int64.self))
                case "<i4": out[i] = Float(raw.loadUnaligned(fromByteOffset: o, as: Int32.self))
                case "<i2": out[i] = Float(raw.loadUnaligned(fromByteOffset: o, as: Int16.self))
                case "<u2": out[i] = Float(raw.loadUnaligned(fromByteOffset: o, as: UInt16.self))
                case "|i1": out[i] = Float(raw.load(fromByteOffset: o, as: Int8.self))
                default: out[i] = Float(raw.load(fromByteOffset: o, as: UInt8.self))
                }
            }
        }
        return Tensor(shape: shape, data: out)
    }

    public static func encode(_ t: Tensor) -> Data {
        let shape = t.shape.count == 1 ? "(\(t.shape[0]),)" : "(" + t.shape.map(String.init).joined(separator: ", ") + ")"
        var header = "{'descr': '<f4', 'fortran_order': False, 'shape': \(shape), }"
        while (10 + header.utf8.count + 1) % 64 != 0 { header += " " }
        header += "\n"
        var out = Data([0x93] + Array("NUMPY".utf8) + [1, 0])
        out.append(UInt8(header.utf8.count & 0xFF)); out.append(UInt8(header.utf8.count >> 8))
        out.append(Data(header.utf8))
        t.data.withUnsafeBytes { out.append(contentsOf: $0) }
        return out
    }

    public static func write(_ t: Tensor, to url: URL) throws {
        try AtomicFile.write(encode(t), to: url)
    }

    private static func field(_ header: String, _ key: String) -> String? {
        guard let r = header.range(of: "'\(key)':") else { return nil }
        let rest = header[r.upperBound...].trimmingCharacters(in: .whitespaces)
        if rest.hasPrefix("(") { return rest.firstIndex(of: ")").map { String(rest[...$0]) } }
        return rest.split(separator: ",", maxSplits: 1).first.map(String.init)
    }
}
