/// `torch.save` since 1.6: a zip of `<top>/data.pkl` plus one raw file per storage.
enum TorchZipFormat {
    static func load(bytes: [UInt8], file: String) throws -> Checkpoint {
        let zip = try ZipArchive(bytes: bytes, file: file)
        guard let first = zip.order.first else { throw CheckpointError.badZip(file: file, detail: "the archive is empty") }
        guard let slash = first.firstIndex(of: "/") else {
            throw CheckpointError.badZip(file: file, detail: "entry \(first) is not inside a top folder, so this is not a torch.save archive")
        }
        let top = String(first[..<slash])
        if zip.entries["\(top)/constants.pkl"] != nil || zip.order.contains(where: { $0.hasPrefix("\(top)/code/") }) {
            throw CheckpointError.torchScript(file: file)
        }
        if zip.entries["\(top)/byteorder"] != nil,
           String(decoding: try zip.data("\(top)/byteorder"), as: UTF8.self) == "big" {
            throw CheckpointError.bigEndian(file: file)
        }
        var unpickler = Unpickler(bytes: try zip.data("\(top)/data.pkl"), file: file) { pid in
            try storageRef(pid, file: file)
        }
        let root = try unpickler.load()
        return try CheckpointLoader.unwrap(root, file: file, format: .zip) { ref in
            try StorageDecoder.tensor(ref, storage: try zip.data("\(top)/data/\(ref.storage.key)"), file: file)
        }
    }

    /// `('storage', torch.FloatStorage, key, location, numel[, view_metadata])`.
    static func storageRef(_ pid: [PickleValue], file: String) throws -> PickleValue {
        guard pid.count >= 5, pid[0].text == "storage", case .global(_, let cls) = pid[1],
              let key = pid[2].text, let count = pid[4].integer, count >= 0 else {
            throw CheckpointError.badPickle(file: file, detail: "a persistent id is not a storage record")
        }
        // torch ≥ 2 may write untyped storages; _rebuild_tensor_v3 then supplies the dtype.
        guard let dtype = TorchDType(torchName: cls) ?? (cls == "UntypedStorage" ? .uint8 : nil) else {
            throw CheckpointError.unsupportedDType(file: file, dtype: cls)
        }
        return .storage(StorageRef(key: key, dtype: dtype, count: count))
    }
}

/// torch < 1.6 (or `_use_new_zipfile_serialization=False`): consecutive pickles,
/// then each storage as an int64 element count followed by its raw bytes.
enum TorchLegacyFormat {
    /// 0x1950a86a20f9469cfc6c, the first pickle of every legacy file, as LONG1 bytes.
    static let magic: [UInt8] = [0x6C, 0xFC, 0x9C, 0x46, 0xF9, 0x20, 0x6A, 0xA8, 0x50, 0x19]

    /// Storage records precede their data, so their item sizes are gathered as the pickle names them.
    private final class Storages { var itemSize: [String: Int] = [:] }

    static func load(bytes: [UInt8], file: String) throws -> Checkpoint {
        let all = bytes[...]
        let seen = Storages()
        var position = 0
        func next() throws -> PickleValue {
            var u = Unpickler(bytes: all[position...], file: file) { pid in
                let ref = try TorchZipFormat.storageRef(pid, file: file)
                if case .storage(let s) = ref { seen.itemSize[s.key] = s.dtype.size }
                return ref
            }
            let v = try u.load()
            position = u.position
            return v
        }
        guard case .bytes(let m) = try next(), m == magic else { throw CheckpointError.notACheckpoint(file: file) }
        guard case .int(let proto) = try next(), proto == 1001 else {
            throw CheckpointError.badPickle(file: file, detail: "legacy protocol version is not 1001")
        }
        if case .dict(let info) = try next(), case .bool(false) = info.values["little_endian"] ?? .bool(true) {
            throw CheckpointError.bigEndian(file: file)
        }
        let root = try next()
        guard let keyList = try next().sequence else {
            throw CheckpointError.badPickle(file: file, detail: "the list of storage keys is missing")
        }
        let reader = ByteReader(bytes: bytes, file: file)
        var storages: [String: ArraySlice<UInt8>] = [:]
        for item in keyList {
            guard let key = item.text, let size = seen.itemSize[key] else {
                throw CheckpointError.badPickle(file: file, detail: "storage key \(item) was never described")
            }
            let count = try reader.u64(position)
            let (length, overflow) = count.multipliedReportingOverflow(by: size)
            guard !overflow, position + 8 <= bytes.count, length <= bytes.count - position - 8 else {
                throw CheckpointError.truncated(file: file, detail: "storage \(key) claims \(count) elements past the end of the file")
            }
            storages[key] = all[(position + 8)..<(position + 8 + length)]
            position += 8 + length
        }
        return try CheckpointLoader.unwrap(root, file: file, format: .legacy) { ref in
            guard let s = storages[ref.storage.key] else {
                throw CheckpointError.storageOutOfRange(file: file, key: ref.storage.key, detail: "its data is not in the file")
            }
            return try StorageDecoder.tensor(ref, storage: s, file: file)
        }
    }
}
