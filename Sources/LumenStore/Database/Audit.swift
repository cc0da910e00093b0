import Foundation
import GRDB

extension Datastore {
    /// Records an action in the same transaction as the change it describes, so
    /// the log and the data can never disagree after a crash.
    static func appendAudit(_ db: Database, user: String, action: String, object: String,
                            details: [String: Any] = [:]) throws {
        let data = (try? JSONSerialization.data(withJSONObject: details, options: [.sortedKeys])) ?? Data("{}".utf8)
        try db.execute(sql: "INSERT INTO audit (at, user, action, object, details) VALUES (?, ?, ?, ?, ?)",
                       arguments: [Date().timeIntervalSince1970, user, action, object, String(decoding: data, as: UTF8.self)])
    }

    /// For actions that change no row (an ingest refused for PHI): still on record.
    public func recordAudit(user: String, action: String, object: String, details: [String: any Sendable] = [:]) throws {
        try write { db in try Self.appendAudit(db, user: user, action: action, object: object, details: details) }
    }

    /// Oldest first.
    public func auditLog() throws -> [AuditEntry] {
        try read { db in try Row.fetchAll(db, sql: "SELECT * FROM audit ORDER BY pk").map(AuditEntry.init(row:)) }
    }
}
