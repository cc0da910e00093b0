import Foundation
import LumenIO

extension Datastore {
    /// A secret per store, so remapped UIDs are stable for re-ingested series
    /// but cannot be recomputed from the originals by anyone without the store.
    func uidSalt() throws -> String {
        let url = directory.appendingPathComponent("uid-salt")
        if let existing = try? String(contentsOf: url, encoding: .utf8), existing.count >= 32 {
            return existing.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        var generator = SystemRandomNumberGenerator()
        let salt = (0..<32).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &generator)) }.joined()
        do { try AtomicFile.write(Data(salt.utf8), to: url) } catch {
            throw StoreError.io(path: url.path, reason: "cannot write the UID salt: \(error)")
        }
        return salt
    }
}
