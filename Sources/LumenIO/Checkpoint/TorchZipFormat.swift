/// `torch.save` since 1.6: a zip of `<top>/data.pkl` plus one raw file per storage.
enum TorchZipFormat {
    static func load(bytes: [UInt8], file: String) throws -> Checkpoint {
        let zip = try ZipArchive(bytes: bytes, file: file)
        guard let first = zip.order.first, let slash = first.firstIndex(of: "/") else {
            throw CheckpointError.badZip(file: file, detail: "no entries")
        }
        let top = String(first[..<slash])
        if zip.entries["\(top)/constants.pkl"] != nil || zip.order.contains(where: { $0.hasPrefix("\(top)/code/") }) {
            throw CheckpointError.torchScript(file: file)
        }
        if let order = zip.entries["\(top)/byteorder"], order.size > 0,
           String(decoding: try zip.data("\(top)/byteorder"), as: UTF8.self) == "big" {
            throw CheckpointError.unsupportedDType(file: file, dtype: "big-endian storages")
        }
        var unpickler = Unpickler(bytes: try zip.data("\(top)/data.pkl"), file: file) { pid in
            try storageRef(pid, file: file)
        }
        let root = try unpickler.load()
        let (tensors, order, extras) = try CheckpointLoader.unwrap(root, file: file) { ref in
            try StorageDecoder.tensor(ref, storage: try zip.data("\(top)/data/\(ref.storage.key)"), file: file)
        }
        return Checkpoint(tensors: tensors, keyOrder: order, extras: extras, format: .zip)
    }

    /// `('storage', torch.FloatStorage, key, location, numel[, view_metadata])`.
    static func storageRef(_ pid: [PickleValue], file: String) throws -> PickleValue {
        guard pid.count >= 5, pid[0].text == "storage", case .global(_, let cls) = pid[1],
              let key = pid[2].text, let count = pid[4].integer else {
            throw CheckpointError.badPickle(file: file, detail: "unexpected persistent id")
        }
        guard let dtype = TorchDType(torchName: cls) ?? (cls == "UntypedStorage" ? .uint8 : nil) else {
            throw CheckpointError.unsupportedDType(file: file, dtype: cls)
        }
        return .storage(StorageRef(key: key, dtype: dtype, count: count))
    }
}

/// torch < 1.6 (or `_use_new_zipfile_serialization=False`): consecutive pickles,
/// then each storage as an int64 element count followed by its raw bytes.
enum TorchLegacyFormat {
    static func load(bytes: [UInt8], file: String) throws -> Checkpoint {
        let all = bytes[...]
        var position = 0
        func next() throws -> PickleValue {
            var u = Unpickler(bytes: all[position...], file: file) { try TorchZipFormat.storageRef($0, file: file) }
            let v = try u.load()
            position = u.position
            return v
        }
        _ = try next()          // magic number
        _ = try next()          // protocol version
        _ = try next()          // sys_info
        let root = try next()
        guard case .list(let keyList) = try next() else {
            throw CheckpointError.badPickle(file: file, detail: "storage key list missing")
        }
        let reader = ByteReader(bytes: bytes, file: file)
        var storages: [String: ArraySlice<UInt8>] = [:]
        var itemSizes: [String: Int] = [:]
        collectItemSizes(root, into: &itemSizes)
        for key in keyList.items.compactMap(\.text) {
            let count = try reader.u64(position)
            let size = itemSizes[key] ?? 4
            let (bytesNeeded, overflow) = count.multipliedReportingOverflow(by: size)
            guard !overflow else { throw CheckpointError.storageOutOfRange(file: file, key: key) }
            storages[key] = try reader.slice(position + 8, bytesNeeded)
            position += 8 + bytesNeeded
        }
        let (tensors, order, extras) = try CheckpointLoader.unwrap(root, file: file) { ref in
            guard let s = storages[ref.storage.key] else { throw CheckpointError.storageOutOfRange(file: file, key: ref.storage.key) }
            return try StorageDecoder.tensor(ref, storage: s, file: file)
        }
        return Checkpoint(tensors: tensors, keyOrder: order, extras: extras, format: .legacy)
    }

    /// The storage records precede their data, so item sizes come from the tensors.
    private static func collectItemSizes(_ v: PickleValue, into sizes: inout [String: Int]) {
        switch v {
        case .tensor(let t): sizes[t.storage.key] = t.storage.dtype.size
        case .dict(let d): d.values.values.forEach { collectItemSizes($0, into: &sizes) }
        case .list(let l): l.items.forEach { collectItemSizes($0, into: &sizes) }
        case .tuple(let items): items.forEach { collectItemSizes($0, into: &sizes) }
        default: break
        }
    }
}
