import Foundation
import ZIPFoundation

public enum UnzipError: Error, CustomStringConvertible, Equatable {
    case notZip(String)
    case unsafePath(String)
    case link(String)
    case tooLarge(limit: Int)
    case tooManyEntries(limit: Int)
    case corrupt(String)
    case conflict(String)

    public var description: String {
        switch self {
        case .notZip(let why): "the upload is not a readable zip archive (\(why))"
        case .unsafePath(let path): "the zip holds \"\(path)\", a path that would land outside the bundle; zip the MMAR folder itself"
        case .link(let path): "the zip holds a symbolic link (\(path)); links are refused, zip the files themselves"
        case .tooLarge(let limit): "the zip unpacks to more than \(limit >> 20) MiB; an MMAR for serving needs only config/ and models/"
        case .tooManyEntries(let limit): "the zip holds more than \(limit) entries"
        case .corrupt(let why): "the zip is damaged: \(why)"
        case .conflict(let path): "the zip holds \"\(path)\" twice, or both as a file and as a folder; each path may appear once"
        }
    }
}

/// Unpacks an uploaded archive (an admin's MMAR) without trusting it: no
/// absolute paths, no `..`, no links, and a cap on the bytes actually
/// written, counted as they inflate (a zip's declared sizes can lie).
public enum SafeUnzip {
    public static func extract(_ zip: URL, into directory: URL, maxBytes: Int = 4 << 30, maxEntries: Int = 10_000) throws {
        let archive: Archive
        do { archive = try Archive(url: zip, accessMode: .read) } catch { throw UnzipError.notZip("\(error)") }
        let fm = FileManager.default
        try fm.createDirectory(at: directory, withIntermediateDirectories: true)
        var written = 0, count = 0
        // Every path taken so far and whether it is a folder: an entry may not
        // reuse a path, nor put a file where a folder is or the other way round.
        var taken: [String: Bool] = [:]
        func claim(_ parts: [Substring], folder: Bool, entry: String) throws {
            for depth in 1..<parts.count {
                let prefix = parts[0..<depth].joined(separator: "/")
                if taken[prefix] == false { throw UnzipError.conflict(entry) }
                taken[prefix] = true
            }
            let whole = parts.joined(separator: "/")
            if let existing = taken[whole], !(existing && folder) { throw UnzipError.conflict(entry) }
            taken[whole] = folder
        }
        for entry in archive {
            count += 1
            guard count <= maxEntries else { throw UnzipError.tooManyEntries(limit: maxEntries) }
            let path = entry.path.replacingOccurrences(of: "\\", with: "/")
            let parts = path.split(separator: "/", omittingEmptySubsequences: true)
            guard !path.hasPrefix("/"), !parts.isEmpty, !parts.contains(".."), !parts.contains("."), !path.contains(":") else {
                throw UnzipError.unsafePath(entry.path)
            }
            let target = parts.reduce(directory) { $0.appendingPathComponent(String($1)) }
            if entry.type == .symlink { throw UnzipError.link(entry.path) }
            try claim(parts, folder: entry.type == .directory, entry: entry.path)
            // Folder errors would carry the server's staging path; the client gets the entry's own.
            let folder = entry.type == .directory ? target : target.deletingLastPathComponent()
            do { try fm.createDirectory(at: folder, withIntermediateDirectories: true) } catch {
                throw UnzipError.corrupt("cannot unpack \(path)")
            }
            switch entry.type {
            case .symlink, .directory: break
            case .file:
                guard let handle = try? NewFile.open(target) else {
                    throw UnzipError.corrupt("cannot write \(path)")
                }
                defer { try? handle.close() }
                do {
                    _ = try archive.extract(entry) { data in
                        written += data.count
                        guard written <= maxBytes else { throw UnzipError.tooLarge(limit: maxBytes) }
                        try handle.write(contentsOf: data)
                    }
                } catch let error as UnzipError { throw error } catch {
                    throw UnzipError.corrupt("\(path): \(error)")
                }
            }
        }
        guard count > 0 else { throw UnzipError.notZip("it holds no entries") }
    }
}
