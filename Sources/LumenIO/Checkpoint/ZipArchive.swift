/// The subset of zip that `torch.save` writes: stored entries, sizes from the
/// central directory (local headers may say 0), zip64 records even for small
/// files, and a top folder whose name varies.
struct ZipArchive {
    struct Entry {
        var name: String
        var method: Int
        var size: Int
        var localHeaderOffset: Int
    }

    let reader: ByteReader
    private(set) var entries: [String: Entry] = [:]
    private(set) var order: [String] = []

    init(bytes: [UInt8], file: String) throws {
        reader = ByteReader(bytes: bytes, file: file)
        let eocd = try Self.findEndRecord(reader)
        var count = try reader.u16(eocd + 10)
        var cdSize = try reader.u32(eocd + 12)
        var cdOffset = try reader.u32(eocd + 16)
        if count == 0xFFFF || cdSize == 0xFFFF_FFFF || cdOffset == 0xFFFF_FFFF {
            let locator = eocd - 20
            guard locator >= 0, try reader.u32(locator) == 0x0706_4B50 else {
                throw CheckpointError.badZip(file: file, detail: "zip64 fields without a zip64 locator")
            }
            let record = try reader.u64(locator + 8)
            guard try reader.u32(record) == 0x0606_4B50 else {
                throw CheckpointError.badZip(file: file, detail: "zip64 end record missing at \(record)")
            }
            count = try reader.u64(record + 32)
            cdSize = try reader.u64(record + 40)
            cdOffset = try reader.u64(record + 48)
        }
        guard count <= bytes.count / 46, cdOffset <= bytes.count, cdSize <= bytes.count - cdOffset else {
            throw CheckpointError.truncated(file: file, detail: "central directory (\(count) entries at \(cdOffset)) lies outside the file")
        }
        var p = cdOffset
        for _ in 0..<count {
            guard try reader.u32(p) == 0x0201_4B50 else {
                throw CheckpointError.badZip(file: file, detail: "bad central directory signature at \(p)")
            }
            let method = try reader.u16(p + 10)
            var size = try reader.u32(p + 20)
            var uncompressed = try reader.u32(p + 24)
            let nameLength = try reader.u16(p + 28)
            let extraLength = try reader.u16(p + 30)
            let commentLength = try reader.u16(p + 32)
            var offset = try reader.u32(p + 42)
            let name = String(decoding: try reader.slice(p + 46, nameLength), as: UTF8.self)
            // zip64 extra field: the 64-bit values appear only for fields saturated above.
            var e = p + 46 + nameLength
            let extraEnd = e + extraLength
            while e + 4 <= extraEnd {
                let id = try reader.u16(e), length = try reader.u16(e + 2)
                if id == 1 {
                    var q = e + 4
                    if uncompressed == 0xFFFF_FFFF { uncompressed = try reader.u64(q); q += 8 }
                    if size == 0xFFFF_FFFF { size = try reader.u64(q); q += 8 }
                    if offset == 0xFFFF_FFFF { offset = try reader.u64(q) }
                }
                e += 4 + length
            }
            entries[name] = Entry(name: name, method: method, size: method == 0 ? max(size, uncompressed) : size,
                                  localHeaderOffset: offset)
            order.append(name)
            p = extraEnd + commentLength
        }
    }

    /// The bytes of a stored entry; the data offset comes from the local header's
    /// own name and extra lengths, which differ from the central directory's.
    func data(_ name: String) throws -> ArraySlice<UInt8> {
        guard let entry = entries[name] else { throw CheckpointError.missingEntry(file: reader.file, entry: name) }
        guard entry.method == 0 else { throw CheckpointError.compressedEntry(file: reader.file, entry: name) }
        let h = entry.localHeaderOffset
        guard try reader.u32(h) == 0x0403_4B50 else {
            throw CheckpointError.badZip(file: reader.file, detail: "bad local header for \(name)")
        }
        let start = h + 30 + (try reader.u16(h + 26)) + (try reader.u16(h + 28))
        return try reader.slice(start, entry.size)
    }

    private static func findEndRecord(_ r: ByteReader) throws -> Int {
        let n = r.bytes.count
        guard n >= 22 else { throw CheckpointError.truncated(file: r.file, detail: "\(n) bytes is too short for a zip") }
        var p = n - 22
        let stop = max(0, n - 22 - 65_535)
        while p >= stop {
            if r.bytes[p] == 0x50, r.bytes[p + 1] == 0x4B, r.bytes[p + 2] == 0x05, r.bytes[p + 3] == 0x06 { return p }
            p -= 1
        }
        throw CheckpointError.truncated(file: r.file, detail: "no end-of-central-directory record; the file was cut short")
    }
}
