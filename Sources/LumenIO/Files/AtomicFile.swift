import Foundation

/// Crash-safe file replacement: a reader sees the old file or the new one, never
/// a torn one. MONAI Label lost its whole datastore index to an in-place rewrite
/// killed mid-way; every file Lumen writes goes through here instead.
public enum AtomicFile {
    public struct Failure: Error, CustomStringConvertible {
        public var path: String
        public var reason: String
        public var description: String { "\(path): \(reason)" }
    }

    /// A temp path in the destination's directory (so the rename cannot cross
    /// file systems) that keeps the destination's extension, e.g. `.nii.gz`.
    public static func temporaryURL(for destination: URL) -> URL {
        let dir = destination.deletingLastPathComponent()
        let name = destination.lastPathComponent
        let ext = multiExtension(of: name)
        let stem = String(name.dropLast(ext.count))
        return dir.appendingPathComponent(".\(stem).tmp-\(UUID().uuidString.prefix(8))\(ext)")
    }

    /// `.nii.gz`, `.hdr`, `.npy`; libnifti decides the format from the whole extension.
    public static func multiExtension(of name: String) -> String {
        let lower = name.lowercased()
        for ext in [".nii.gz", ".hdr.gz", ".img.gz", ".tar.gz"] where lower.hasSuffix(ext) {
            return String(name.suffix(ext.count))
        }
        if let dot = name.lastIndex(of: "."), dot != name.startIndex { return String(name[dot...]) }
        return ""
    }

    public static func write(_ data: Data, to destination: URL) throws {
        let temp = temporaryURL(for: destination)
        // Not FileManager.createFile: corelibs Foundation writes that through its own
        // `.dat.nosync…` temp file, which a kill leaves behind under a name no sweep knows.
        do {
            try data.write(to: temp)
        } catch {
            try? FileManager.default.removeItem(at: temp)
            throw Failure(path: destination.path, reason: "cannot write \(temp.lastPathComponent): \(error.localizedDescription)")
        }
        try commit(temp, to: destination)
    }

    /// fsync the finished temp file, rename it over the destination, then fsync the
    /// directory so the rename itself survives a power cut.
    public static func commit(_ temp: URL, to destination: URL) throws {
        do {
            try fsync(path: temp.path)
            guard rename(temp.path, destination.path) == 0 else {
                throw Failure(path: destination.path, reason: "rename failed: \(String(cString: strerror(errno)))")
            }
            try fsync(path: destination.deletingLastPathComponent().path)
        } catch {
            try? FileManager.default.removeItem(at: temp)
            throw error
        }
    }

    public static func fsync(path: String) throws {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw Failure(path: path, reason: "open for fsync: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        guard Foundation.fsync(fd) == 0 else {
            throw Failure(path: path, reason: "fsync: \(String(cString: strerror(errno)))")
        }
    }
}
