import Foundation

/// Bounds-checked little-endian reads over a file's bytes: a hostile or cut
/// checkpoint must end in an error, never a crash or a huge allocation.
struct ByteReader {
    let bytes: [UInt8]
    let file: String

    func u16(_ o: Int) throws -> Int { try int(o, 2) }
    func u32(_ o: Int) throws -> Int { try int(o, 4) }
    func u64(_ o: Int) throws -> Int { try int(o, 8) }

    func int(_ o: Int, _ n: Int) throws -> Int {
        guard o >= 0, n >= 0, n <= 8, o <= bytes.count - n else {
            throw CheckpointError.truncated(file: file, detail: "a \(n)-byte field at offset \(o) lies past the end (\(bytes.count) bytes)")
        }
        var v: UInt64 = 0
        for k in 0..<n { v |= UInt64(bytes[o + k]) << (8 * UInt64(k)) }
        guard v <= UInt64(Int.max) else {
            throw CheckpointError.truncated(file: file, detail: "the field at offset \(o) holds an impossible value \(v)")
        }
        return Int(v)
    }

    func slice(_ o: Int, _ n: Int) throws -> ArraySlice<UInt8> {
        guard o >= 0, n >= 0, o <= bytes.count, n <= bytes.count - o else {
            throw CheckpointError.truncated(file: file, detail: "\(n) bytes at offset \(o) lie past the end (\(bytes.count) bytes)")
        }
        return bytes[o..<(o + n)]
    }
}
