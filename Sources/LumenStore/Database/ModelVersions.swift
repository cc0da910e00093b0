import Foundation
import GRDB

/// One version of a served model: what it is (content hash, files, labels),
/// where it came from (bundled, an admin's upload, a fine-tuning job, and its
/// parent), and where it stands (candidate, serving, retired, failed).
public struct ModelVersionRecord: Sendable, Equatable {
    public enum State: String, Sendable, CaseIterable { case candidate, serving, retired, failed }
    public enum Source: String, Sendable { case bundled, upload, finetune, patch }

    public var name: String
    public var version: Int
    public var sha256: String
    public var source: Source
    /// The uploader, or the fine-tuning job id.
    public var sourceDetail: String
    public var parent: Int?
    public var state: State
    /// Why it failed, or what the gate said.
    public var reason: String
    /// The bundle folder: `<store>/models/<name>/<version>`, or a bundled MMAR read in place.
    public var path: String
    public var labels: [String]
    /// Validation and evaluation results as JSON (Dice per label for it and for the version it was compared to).
    public var metrics: String
    /// For fine-tuned versions: the label versions trained on (image id, tag, version, sha256), as JSON.
    public var trainedOn: String
    public var createdAt: Date
    public var promotedBy: String?
    public var promotedAt: Date?

    public init(name: String, version: Int, sha256: String, source: Source, sourceDetail: String = "", parent: Int? = nil,
                state: State, reason: String = "", path: String, labels: [String], metrics: String = "{}",
                trainedOn: String = "[]", createdAt: Date = Date(), promotedBy: String? = nil, promotedAt: Date? = nil) {
        self.name = name; self.version = version; self.sha256 = sha256; self.source = source
        self.sourceDetail = sourceDetail; self.parent = parent; self.state = state; self.reason = reason
        self.path = path; self.labels = labels; self.metrics = metrics; self.trainedOn = trainedOn
        self.createdAt = createdAt; self.promotedBy = promotedBy; self.promotedAt = promotedAt
    }

    init(row: Row) {
        name = row["name"]; version = row["version"]; sha256 = row["sha256"]
        source = Source(rawValue: row["source"]) ?? .upload
        sourceDetail = row["source_detail"]; parent = row["parent"]
        state = State(rawValue: row["state"]) ?? .failed
        reason = row["reason"]; path = row["path"]
        labels = (try? JSONDecoder().decode([String].self, from: Data((row["labels"] as String).utf8))) ?? []
        metrics = row["metrics"]; trainedOn = row["trained_on"]
        createdAt = Date(timeIntervalSince1970: row["created_at"])
        promotedBy = row["promoted_by"]
        promotedAt = (row["promoted_at"] as Double?).map { Date(timeIntervalSince1970: $0) }
    }
}

extension Datastore {
    /// Every version of `name`, oldest first (every model when nil).
    public func modelVersions(name: String? = nil) throws -> [ModelVersionRecord] {
        try read { db in
            let rows: [Row]
            if let name {
                rows = try Row.fetchAll(db, sql: "SELECT * FROM model_version WHERE name = ? ORDER BY version", arguments: [name])
            } else {
                rows = try Row.fetchAll(db, sql: "SELECT * FROM model_version ORDER BY name, version")
            }
            return rows.map(ModelVersionRecord.init(row:))
        }
    }

    public func modelVersion(name: String, version: Int) throws -> ModelVersionRecord? {
        try read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM model_version WHERE name = ? AND version = ?", arguments: [name, version])
                .map(ModelVersionRecord.init(row:))
        }
    }

    /// The next free version number of `name`.
    public func nextModelVersion(name: String) throws -> Int {
        try read { db in (try Int.fetchOne(db, sql: "SELECT MAX(version) FROM model_version WHERE name = ?", arguments: [name]) ?? 0) + 1 }
    }

    /// Records a new version (its files are already in place), audited in the same transaction.
    public func addModelVersion(_ record: ModelVersionRecord, user: String) throws {
        try write { db in
            try db.execute(sql: """
                INSERT INTO model_version (name, version, sha256, source, source_detail, parent, state, reason, path, labels,
                                           metrics, trained_on, created_at, promoted_by, promoted_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [record.name, record.version, record.sha256, record.source.rawValue, record.sourceDetail,
                                 record.parent, record.state.rawValue, record.reason, record.path,
                                 String(decoding: (try? JSONEncoder().encode(record.labels)) ?? Data("[]".utf8), as: UTF8.self),
                                 record.metrics, record.trainedOn, record.createdAt.timeIntervalSince1970,
                                 record.promotedBy, record.promotedAt?.timeIntervalSince1970])
            try Self.appendAudit(db, user: user, action: "model.add", object: "\(record.name)@\(record.version)",
                                 details: ["source": record.source.rawValue, "state": record.state.rawValue, "sha256": record.sha256,
                                           "reason": record.reason])
        }
    }

    /// Updates a version's gate result or failure reason.
    public func updateModelVersion(name: String, version: Int, state: ModelVersionRecord.State? = nil, reason: String? = nil,
                                   metrics: String? = nil, user: String, action: String) throws {
        try write { db in
            if let state { try db.execute(sql: "UPDATE model_version SET state = ? WHERE name = ? AND version = ?", arguments: [state.rawValue, name, version]) }
            if let reason { try db.execute(sql: "UPDATE model_version SET reason = ? WHERE name = ? AND version = ?", arguments: [reason, name, version]) }
            if let metrics { try db.execute(sql: "UPDATE model_version SET metrics = ? WHERE name = ? AND version = ?", arguments: [metrics, name, version]) }
            try Self.appendAudit(db, user: user, action: action, object: "\(name)@\(version)",
                                 details: ["state": state?.rawValue ?? "", "reason": reason ?? ""])
        }
    }

    /// Makes `version` the one serving `name` and retires whatever served before,
    /// in one transaction: there is never a moment with two, or none by accident.
    public func promoteModelVersion(name: String, version: Int, user: String, reason: String, forced: Bool) throws {
        try write { db in
            try db.execute(sql: "UPDATE model_version SET state = 'retired' WHERE name = ? AND state = 'serving'", arguments: [name])
            try db.execute(sql: """
                UPDATE model_version SET state = 'serving', promoted_by = ?, promoted_at = ? WHERE name = ? AND version = ?
                """, arguments: [user, Date().timeIntervalSince1970, name, version])
            guard db.changesCount == 1 else { throw StoreError.database(reason: "model \(name) has no version \(version)") }
            try Self.appendAudit(db, user: user, action: forced ? "model.promote.forced" : "model.promote", object: "\(name)@\(version)",
                                 details: ["reason": reason])
        }
    }
}
