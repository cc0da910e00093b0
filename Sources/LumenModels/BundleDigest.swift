import Crypto
import Foundation

/// A bundle's content hash: SHA-256 over its config and weight files, in path
/// order, each preceded by its relative path, so two folders with the same
/// configs and weights get one hash wherever they live.
enum BundleDigest {
    static let parts = ["config", "configs", "models"]

    static func sha256(of directory: URL) throws -> String {
        var hasher = SHA256()
        let fm = FileManager.default
        var files: [String] = []
        for part in parts {
            let base = directory.appendingPathComponent(part)
            guard let walker = fm.enumerator(atPath: base.path) else { continue }
            for case let relative as String in walker {
                var isDirectory: ObjCBool = false
                if fm.fileExists(atPath: base.appendingPathComponent(relative).path, isDirectory: &isDirectory), !isDirectory.boolValue {
                    files.append(part + "/" + relative)
                }
            }
        }
        for relative in files.sorted() {
            hasher.update(data: Data(relative.utf8 + [0]))
            let handle = try FileHandle(forReadingFrom: directory.appendingPathComponent(relative))
            defer { try? handle.close() }
            while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty { hasher.update(data: chunk) }
        }
        return hasher.finalize().map { String(format: "%02x", $0) }.joined()
    }
}
