import Foundation
import LumenTensor

public enum NpyError: Error, Equatable, CustomStringConvertible {
    case unreadable(file: String, reason: String)
    case notNpy(file: String)
    case badHeader(file: String, detail: String)
    case unsupported(file: String, detail: String)
    case truncated(file: String, expected: Int, got: Int)

    public var description: String {
        switch self {
        case .unreadable(let f, let r): return "\(f): cannot be read (\(r))"
        case .notNpy(let f): return "\(f): not a .npy file (missing the \\x93NUMPY magic); save arrays with numpy.save"
        case .badHeader(let f, let d): return "\(f): unreadable .npy header: \(d)"
        case .unsupported(let f, let d): return "\(f): \(d)"
        case .truncated(let f, let e, let g): return "\(f): truncated: \(e) data bytes expected, \(g) present"
        }
    }
}

extension NpyError: LocalizedError {
    public var errorDescription: String? { description }
}

/// NumPy's `.npy`, the tensor format of `lumen forward` (float32 NCDHW, C order).
/// Reading converts any plain numeric dtype to Float32 so that inputs saved as
/// float64 or integer label maps work too; writing is always float32 v1.0.
public enum Npy {
    public static func read(_ url: URL) throws -> Tensor {
        let name = url.lastPathComponent
        let data: Data
        do { data = try Data(contentsOf: url, options: .mappedIfSafe) } catch {
            throw NpyError.unreadable(file: name, reason: error.localizedDescription)
        }
        return try decode([UInt8](data), name: name)
    }

    public static func write(_ t: Tensor, to url: URL) throws {
        try AtomicFile.write(encode(t), to: url)
    }

    public static func encode(_ t: Tensor) -> Data {
        let shape = t.shape.count == 1 ? "(\(t.shape[0]),)" : "(" + t.shape.map(String.init).joined(separator: ", ") + ")"
        var header = "{'descr': '<f4', 'fortran_order': False, 'shape': \(shape), }"
        // numpy pads so that the data starts on a 64-byte boundary, ending the header with a newline.
        while (10 + header.utf8.count + 1) % 64 != 0 { header += " " }
        header += "\n"
        var out = Data([0x93] + Array("NUMPY".utf8) + [1, 0])
        out.append(UInt8(header.utf8.count & 0xFF)); out.append(UInt8(header.utf8.count >> 8))
        out.append(Data(header.utf8))
        t.data.map { $0.bitPattern.littleEndian }.withUnsafeBytes { out.append(contentsOf: $0) }
        return out
    }

    /// Element kinds Lumen converts, by the descr without its byte-order mark.
    private static let itemSizes: [String: Int] = [
        "f2": 2, "f4": 4, "f8": 8, "i1": 1, "i2": 2, "i4": 4, "i8": 8, "u1": 1, "u2": 2, "u4": 4, "u8": 8, "b1": 1,
    ]

    static func decode(_ b: [UInt8], name: String) throws -> Tensor {
        guard b.count >= 10, b.starts(with: [0x93] + Array("NUMPY".utf8)) else { throw NpyError.notNpy(file: name) }
        let major = b[6]
        let headerLength: Int, start: Int
        switch major {
        case 1:
            headerLength = Int(b[8]) | Int(b[9]) << 8; start = 10
        case 2, 3:
            guard b.count >= 12 else { throw NpyError.truncated(file: name, expected: 12, got: b.count) }
            headerLength = Int(b[8]) | Int(b[9]) << 8 | Int(b[10]) << 16 | Int(b[11]) << 24; start = 12
        default:
            throw NpyError.unsupported(file: name, detail: ".npy format version \(major).\(b[7]) is not supported (1.0, 2.0 and 3.0 are)")
        }
        guard headerLength <= b.count - start else {
            throw NpyError.truncated(file: name, expected: headerLength, got: b.count - start)
        }
        let header = String(decoding: b[start..<(start + headerLength)], as: UTF8.self)
        guard let descrText = field(header, "descr"), let order = field(header, "fortran_order"),
              let shapeText = field(header, "shape") else {
            throw NpyError.badHeader(file: name, detail: "expected descr, fortran_order and shape in \(header.trimmingCharacters(in: .whitespacesAndNewlines))")
        }
        guard order == "False" else {
            if order == "True" {
                throw NpyError.unsupported(file: name, detail: "Fortran-ordered arrays are not supported; save np.ascontiguousarray(x) instead")
            }
            throw NpyError.badHeader(file: name, detail: "fortran_order is \(order)")
        }
        let descr = descrText.trimmingCharacters(in: CharacterSet(charactersIn: "'\" "))
        guard let mark = descr.first, "<|=>".contains(mark), let size = itemSizes[String(descr.dropFirst())] else {
            throw NpyError.unsupported(file: name, detail: "dtype \(descr) is not supported; save float32 (or another plain numeric dtype)")
        }
        guard mark != ">" || size == 1 else {
            throw NpyError.unsupported(file: name, detail: "big-endian dtype \(descr); save with x.astype('<f4')")
        }
        let shape = try parseShape(shapeText, name: name)
        let offset = start + headerLength
        let available = b.count - offset
        var count = 1
        for s in shape {
            let (c, overflow) = count.multipliedReportingOverflow(by: s)
            guard !overflow, c <= available else {
                let bytes = c.multipliedReportingOverflow(by: size)
                throw NpyError.truncated(file: name, expected: overflow || bytes.overflow ? Int.max : bytes.partialValue, got: available)
            }
            count = c
        }
        guard available / size >= count else { throw NpyError.truncated(file: name, expected: count * size, got: available) }
        let kind = descr.dropFirst()
        var out = [Float](repeating: 0, count: count)
        b.withUnsafeBytes { raw in
            out.withUnsafeMutableBufferPointer { dst in
                for i in 0..<count {
                    let o = offset + i * size
                    switch kind {
                    case "f4": dst[i] = Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: o, as: UInt32.self)))
                    case "f8": dst[i] = Float(Double(bitPattern: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: o, as: UInt64.self))))
                    case "f2": dst[i] = Float(Float16(bitPattern: UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: o, as: UInt16.self))))
                    case "i8": dst[i] = Float(Int64(littleEndian: raw.loadUnaligned(fromByteOffset: o, as: Int64.self)))
                    case "i4": dst[i] = Float(Int32(littleEndian: raw.loadUnaligned(fromByteOffset: o, as: Int32.self)))
                    case "i2": dst[i] = Float(Int16(littleEndian: raw.loadUnaligned(fromByteOffset: o, as: Int16.self)))
                    case "u8": dst[i] = Float(UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: o, as: UInt64.self)))
                    case "u4": dst[i] = Float(UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: o, as: UInt32.self)))
                    case "u2": dst[i] = Float(UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: o, as: UInt16.self)))
                    case "i1": dst[i] = Float(raw.load(fromByteOffset: o, as: Int8.self))
                    case "b1": dst[i] = raw.load(fromByteOffset: o, as: UInt8.self) != 0 ? 1 : 0
                    default: dst[i] = Float(raw.load(fromByteOffset: o, as: UInt8.self))
                    }
                }
            }
        }
        return Tensor(shape: shape, data: out)
    }

    /// `(2, 3)`, `(5,)` or `()`; every dimension a non-negative integer.
    private static func parseShape(_ text: String, name: String) throws -> [Int] {
        guard text.hasPrefix("("), text.hasSuffix(")") else { throw NpyError.badHeader(file: name, detail: "shape \(text)") }
        let parts = text.dropFirst().dropLast().split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty }
        return try parts.map { part in
            let digits = part.hasSuffix("L") ? String(part.dropLast()) : part
            guard let n = Int(digits), n >= 0 else { throw NpyError.badHeader(file: name, detail: "shape \(text)") }
            return n
        }
    }

    private static func field(_ header: String, _ key: String) -> String? {
        guard let r = header.range(of: "'\(key)':") ?? header.range(of: "\"\(key)\":") else { return nil }
        let rest = header[r.upperBound...].trimmingCharacters(in: .whitespaces)
        if rest.hasPrefix("(") { return rest.firstIndex(of: ")").map { String(rest[...$0]) } }
        return rest.split(whereSeparator: { $0 == "," || $0 == "}" }).first.map { $0.trimmingCharacters(in: .whitespaces) }
    }
}
