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
    /// Entry names in central-directory order; the first one names the top folder.
    private(set) var order: [String] = []

    private var file: String { reader.file }

    init(bytes: [UInt8], file: String) throws {
        reader = ByteReader(bytes: bytes, file: file)
        let eocd = try Self.findEndRecord(reader)
        var count = try reader.u16(eocd + 10)
        var cdSize = try reader.u32(eocd + 12)
        var cdOffset = try reader.u32(eocd + 16)
        let saturated = try reader.u16(eocd + 4) == 0xFFFF || reader.u16(eocd + 6) == 0xFFFF
            || reader.u16(eocd + 8) == 0xFFFF || count == 0xFFFF || cdSize == 0xFFFF_FFFF || cdOffset == 0xFFFF_FFFF
        if saturated {
            let locator = eocd - 20
            guard locator >= 0, try reader.u32(locator) == 0x0706_4B50 else {
                throw CheckpointError.badZip(file: file, detail: "the end record defers to zip64 but there is no zip64 locator")
            }
            let record = try reader.u64(locator + 8)
            guard try reader.u32(record) == 0x0606_4B50 else {
                throw CheckpointError.badZip(file: file, detail: "no zip64 end record at offset \(record)")
            }
            count = try reader.u64(record + 32)
            cdSize = try reader.u64(record + 40)
            cdOffset = try reader.u64(record + 48)
        }
        // Each central record is at least 46 bytes, which also caps what a lying count can make us do.
        guard cdOffset <= bytes.count, cdSize <= bytes.count - cdOffset, count <= cdSize / 46 else {
            throw CheckpointError.truncated(file: file, detail: "the central directory (\(count) entries, \(cdSize) bytes at offset \(cdOffset)) does not fit in the file")
        }
        let cdEnd = cdOffset + cdSize
        var p = cdOffset
        for _ in 0..<count {
            guard p <= cdEnd - 46, try reader.u32(p) == 0x0201_4B50 else {
                throw CheckpointError.badZip(file: file, detail: "bad central directory record at offset \(p)")
            }
            let flags = try reader.u16(p + 8)
            let method = try reader.u16(p + 10)
            var size = try reader.u32(p + 20)
            var uncompressed = try reader.u32(p + 24)
            let nameLength = try reader.u16(p + 28)
            let extraLength = try reader.u16(p + 30)
            let commentLength = try reader.u16(p + 32)
            var offset = try reader.u32(p + 42)
            let name = String(decoding: try reader.slice(p + 46, nameLength), as: UTF8.self)
            let extraStart = p + 46 + nameLength
            let extraEnd = extraStart + extraLength
            guard extraEnd + commentLength <= cdEnd else {
                throw CheckpointError.badZip(file: file, detail: "central record of \(name) runs past the directory")
            }
            guard flags & 1 == 0 else { throw CheckpointError.badZip(file: file, detail: "entry \(name) is encrypted") }
            // zip64 extra field: 64-bit values appear only for the fields saturated above, in this order.
            var e = extraStart
            while e + 4 <= extraEnd {
                let id = try reader.u16(e), length = try reader.u16(e + 2)
                let fieldEnd = e + 4 + length
                guard fieldEnd <= extraEnd else { throw CheckpointError.badZip(file: file, detail: "extra field of \(name) overruns its record") }
                if id == 1 {
                    var q = e + 4
                    func next() throws -> Int {
                        guard q + 8 <= fieldEnd else { throw CheckpointError.badZip(file: file, detail: "short zip64 field for \(name)") }
                        defer { q += 8 }
                        return try reader.u64(q)
                    }
                    if uncompressed == 0xFFFF_FFFF { uncompressed = try next() }
                    if size == 0xFFFF_FFFF { size = try next() }
                    if offset == 0xFFFF_FFFF { offset = try next() }
                }
                e = fieldEnd
            }
            if method == 0, size != uncompressed {
                throw CheckpointError.badZip(file: file, detail: "stored entry \(name) says \(size) bytes and \(uncompressed) bytes")
            }
            entries[name] = Entry(name: name, method: method, size: size, localHeaderOffset: offset)
            order.append(name)
            p = extraEnd + commentLength
        }
    }

    /// The bytes of a stored entry; the data offset comes from the local header's
    /// own name and extra lengths, which differ from the central directory's.
    func data(_ name: String) throws -> ArraySlice<UInt8> {
        guard let entry = entries[name] else { throw CheckpointError.missingEntry(file: file, entry: name) }
        guard entry.method == 0 else { throw CheckpointError.compressedEntry(file: file, entry: name, method: entry.method) }
        let h = entry.localHeaderOffset
        guard try reader.u32(h) == 0x0403_4B50 else {
            throw CheckpointError.badZip(file: file, detail: "no local header for \(name) at offset \(h)")
        }
        let start = h + 30 + (try reader.u16(h + 26)) + (try reader.u16(h + 28))
        guard start <= reader.bytes.count, entry.size <= reader.bytes.count - start else {
            throw CheckpointError.truncated(file: file, detail: "entry \(name) (\(entry.size) bytes at offset \(start)) runs past the end of the file")
        }
        return reader.bytes[start..<(start + entry.size)]
    }

    /// The end record sits in the last 64 KiB (its comment is at most 65535
    /// bytes). A candidate whose comment reaches exactly to the end is preferred,
    /// so signature bytes inside stored data cannot be mistaken for it.
    private static func findEndRecord(_ r: ByteReader) throws -> Int {
        let n = r.bytes.count
        guard n >= 22 else { throw CheckpointError.truncated(file: r.file, detail: "\(n) bytes is too short for a zip") }
        var p = n - 22
        let stop = max(0, n - 22 - 65_535)
        var fallback: Int?
        while p >= stop {
            if r.bytes[p] == 0x50, r.bytes[p + 1] == 0x4B, r.bytes[p + 2] == 0x05, r.bytes[p + 3] == 0x06 {
                if p + 22 + (try r.u16(p + 20)) == n { return p }
                fallback = fallback ?? p
            }
            p -= 1
        }
        if let fallback { return fallback }
        throw CheckpointError.truncated(file: r.file, detail: "no end-of-central-directory record; the file was cut short")
    }
}
