import Crypto
import Foundation
import LumenIO

/// Files named by their SHA-256, so a torn or altered file can be recognised by
/// its name alone and identical uploads share one file. A file appears only by
/// rename after fsync; nothing in here is ever rewritten.
struct ObjectStore: Sendable {
    let root: URL

    /// `objects/ab/abcdef….nii.gz`: two-character fan-out keeps directories small.
    func url(sha256: String, ext: String) -> URL {
        root.appendingPathComponent(String(sha256.prefix(2)), isDirectory: true)
            .appendingPathComponent(sha256 + ext)
    }

    /// Copies `source` in while hashing it; returns the hash and size once the
    /// file and its directory entry are on disk.
    func put(copying source: URL, ext: String) throws -> (sha256: String, size: Int64) {
        try put(ext: ext) { try Self.copyHashing(from: source, to: $0) }
    }

    /// Writes `data` in (a label the server made): the same temp, fsync and rename.
    func put(data: Data, ext: String) throws -> (sha256: String, size: Int64) {
        try put(ext: ext) { temp in
            let output: FileHandle
            do { output = try NewFile.open(temp) } catch {
                throw StoreError.io(path: temp.path, reason: "cannot create the file: \(error)")
            }
            defer { try? output.close() }
            do { try output.write(contentsOf: data) } catch {
                throw StoreError.io(path: temp.path, reason: "write failed: \(error)")
            }
            return (SHA256.hash(data: data).hexString, Int64(data.count))
        }
    }

    private func put(ext: String, fill: (URL) throws -> (String, Int64)) throws -> (sha256: String, size: Int64) {
        let temp = AtomicFile.temporaryURL(for: root.appendingPathComponent("incoming" + ext))
        let (digest, size): (String, Int64)
        do {
            (digest, size) = try fill(temp)
        } catch {
            try? FileManager.default.removeItem(at: temp)
            throw error
        }
        let destination = url(sha256: digest, ext: ext)
        let fm = FileManager.default
        let shard = destination.deletingLastPathComponent()
        do {
            if !fm.fileExists(atPath: shard.path) {
                try fm.createDirectory(at: shard, withIntermediateDirectories: true)
                try AtomicFile.fsync(path: root.path)
            }
            if let existing = try? fm.attributesOfItem(atPath: destination.path)[.size] as? NSNumber,
               existing.int64Value == size {
                try fm.removeItem(at: temp)   // same content already stored
                return (digest, size)
            }
            try AtomicFile.commit(temp, to: destination)
        } catch let error as StoreError {
            throw error
        } catch {
            try? fm.removeItem(at: temp)
            throw StoreError.io(path: destination.path, reason: "\(error)")
        }
        return (digest, size)
    }

    static func copyHashing(from source: URL, to destination: URL) throws -> (String, Int64) {
        guard let input = FileHandle(forReadingAtPath: source.path) else {
            throw StoreError.io(path: source.path, reason: "cannot open for reading")
        }
        defer { try? input.close() }
        let output: FileHandle
        do { output = try NewFile.open(destination) } catch {
            throw StoreError.io(path: destination.path, reason: "cannot create the file: \(error)")
        }
        defer { try? output.close() }
        var hasher = SHA256()
        var size: Int64 = 0
        do {
            while let chunk = try input.read(upToCount: 1 << 20), !chunk.isEmpty {
                hasher.update(data: chunk)
                try output.write(contentsOf: chunk)
                size += Int64(chunk.count)
            }
        } catch {
            throw StoreError.io(path: destination.path, reason: "copy failed: \(error)")
        }
        return (hasher.finalize().hexString, size)
    }

    /// Leftovers of writes that were killed before their rename: never referenced
    /// by a row (rows are committed after the rename), so removing them is safe.
    func sweepTemporaryFiles() -> [String] {
        var swept: [String] = []
        guard let walker = FileManager.default.enumerator(at: root, includingPropertiesForKeys: [.isRegularFileKey]) else {
            return []
        }
        for case let file as URL in walker where Self.isTemporary(file.lastPathComponent) {
            if (try? FileManager.default.removeItem(at: file)) != nil {
                swept.append(file.path.replacingOccurrences(of: root.deletingLastPathComponent().path + "/", with: ""))
            }
        }
        return swept.sorted()
    }

    static func isTemporary(_ name: String) -> Bool {
        // `.dat.nosync…` is corelibs Foundation's own atomic-write temp, left by older builds.
        name.hasPrefix(".") && (name.contains(".tmp-") || name.hasPrefix(".dat.nosync"))
    }
}

public enum SHA256File {
    /// Hex digest of a file, read in 1 MiB pieces so large volumes need no large buffer.
    public static func hex(of url: URL) throws -> String {
        guard let input = FileHandle(forReadingAtPath: url.path) else {
            throw StoreError.io(path: url.path, reason: "cannot open for reading")
        }
        defer { try? input.close() }
        var hasher = SHA256()
        while let chunk = try input.read(upToCount: 1 << 20), !chunk.isEmpty { hasher.update(data: chunk) }
        return hasher.finalize().hexString
    }
}

extension Digest {
    var hexString: String { map { String(format: "%02x", $0) }.joined() }
}
