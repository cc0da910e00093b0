import Foundation
import GRDB

extension Schema {
    /// Fine-tuning jobs run by a scheduler (LumenCluster). Registered after v1 and after any
    /// migration another feature appends before it: identifiers, not positions, are what GRDB records.
    static func registerJobs(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v3: fine-tuning jobs") { db in
            try db.execute(sql: """
                CREATE TABLE finetune_job (
                    pk INTEGER PRIMARY KEY AUTOINCREMENT,
                    id TEXT NOT NULL UNIQUE,
                    slurm_job_id TEXT,
                    model_name TEXT NOT NULL,
                    base_version TEXT,
                    run_dir TEXT NOT NULL,
                    state TEXT NOT NULL,
                    reason TEXT,
                    exit_code TEXT,
                    submitted_by TEXT NOT NULL,
                    submitted_at DOUBLE NOT NULL,
                    updated_at DOUBLE NOT NULL,
                    -- when the current state was first seen (for UNKNOWN: since when the controller is unreachable)
                    state_since DOUBLE NOT NULL,
                    finished_at DOUBLE,
                    -- set once the owner was told about the final state; NULL on a final job = tell it (again)
                    notified_at DOUBLE,
                    config TEXT NOT NULL DEFAULT '{}',
                    progress TEXT,
                    result TEXT
                );
                CREATE INDEX finetune_job_open ON finetune_job(finished_at, notified_at);
                CREATE TRIGGER finetune_job_immutable BEFORE UPDATE OF id, model_name, base_version, run_dir,
                    submitted_by, submitted_at, config ON finetune_job
                    BEGIN SELECT RAISE(ABORT, 'a job''s identity and configuration never change'); END;
                """)
        }
    }
}

/// One fine-tuning job as the store keeps it. `state` is the scheduler's word (PENDING, RUNNING,
/// COMPLETED, ..., or UNKNOWN while it cannot be asked); the store does not interpret it.
public struct FinetuneJobRecord: Sendable, Equatable {
    public var id: String
    public var slurmJobID: String?
    public var modelName: String
    public var baseVersion: String?
    public var runDir: String
    public var state: String
    public var reason: String?
    /// `status:signal`, as Slurm prints it.
    public var exitCode: String?
    public var submittedBy: String
    public var submittedAt: Date
    public var updatedAt: Date
    public var stateSince: Date
    public var finishedAt: Date?
    public var notifiedAt: Date?
    /// JSON object texts.
    public var config: String
    public var progress: String?
    public var result: String?

    public init(id: String, slurmJobID: String?, modelName: String, baseVersion: String?, runDir: String,
                state: String, submittedBy: String, submittedAt: Date = Date(), config: String = "{}") {
        self.id = id
        self.slurmJobID = slurmJobID
        self.modelName = modelName
        self.baseVersion = baseVersion
        self.runDir = runDir
        self.state = state
        self.submittedBy = submittedBy
        self.submittedAt = submittedAt
        self.updatedAt = submittedAt
        self.stateSince = submittedAt
        self.config = config
    }

    init(row: Row) {
        id = row["id"]
        slurmJobID = row["slurm_job_id"]
        modelName = row["model_name"]
        baseVersion = row["base_version"]
        runDir = row["run_dir"]
        state = row["state"]
        reason = row["reason"]
        exitCode = row["exit_code"]
        submittedBy = row["submitted_by"]
        submittedAt = Date(timeIntervalSince1970: row["submitted_at"])
        updatedAt = Date(timeIntervalSince1970: row["updated_at"])
        stateSince = Date(timeIntervalSince1970: row["state_since"])
        finishedAt = (row["finished_at"] as Double?).map(Date.init(timeIntervalSince1970:))
        notifiedAt = (row["notified_at"] as Double?).map(Date.init(timeIntervalSince1970:))
        config = row["config"]
        progress = row["progress"]
        result = row["result"]
    }
}

/// What a poll learned about a job; nil fields leave the column as it is.
public struct FinetuneJobUpdate: Sendable, Equatable {
    public var state: String
    public var reason: String?
    public var exitCode: String?
    public var progress: String?
    public var result: String?
    /// Set when the state is final: the row stops being followed once its owner was notified.
    public var isFinal: Bool

    public init(state: String, reason: String? = nil, exitCode: String? = nil, progress: String? = nil,
                result: String? = nil, isFinal: Bool = false) {
        self.state = state
        self.reason = reason
        self.exitCode = exitCode
        self.progress = progress
        self.result = result
        self.isFinal = isFinal
    }
}

extension Datastore {
    /// Records a submitted job (and who submitted it) in one transaction.
    public func insertJob(_ job: FinetuneJobRecord) throws {
        try Identifiers.validate(job.id, what: "a job id")
        try write { db in
            try db.execute(sql: """
                INSERT INTO finetune_job (id, slurm_job_id, model_name, base_version, run_dir, state, reason, exit_code,
                    submitted_by, submitted_at, updated_at, state_since, finished_at, notified_at, config, progress, result)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [job.id, job.slurmJobID, job.modelName, job.baseVersion, job.runDir, job.state, job.reason,
                                 job.exitCode, job.submittedBy, job.submittedAt.timeIntervalSince1970,
                                 job.updatedAt.timeIntervalSince1970, job.stateSince.timeIntervalSince1970,
                                 job.finishedAt?.timeIntervalSince1970, job.notifiedAt?.timeIntervalSince1970,
                                 job.config, job.progress, job.result])
            try Self.appendAudit(db, user: job.submittedBy, action: "job.submit", object: "job '\(job.id)'",
                                 details: ["model": job.modelName, "slurm_job_id": job.slurmJobID ?? "",
                                           "base_version": job.baseVersion ?? ""])
        }
    }

    /// Applies a poll's findings. Writes only when something changed; a new final state is audited.
    /// Returns the row as it now stands.
    @discardableResult
    public func updateJob(id: String, _ update: FinetuneJobUpdate, at now: Date = Date()) throws -> FinetuneJobRecord {
        try write { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT * FROM finetune_job WHERE id = ?", arguments: [id]) else {
                throw StoreError.database(reason: "no fine-tuning job '\(id)'")
            }
            var job = FinetuneJobRecord(row: row)
            let before = job
            if job.state != update.state { job.stateSince = now }
            job.state = update.state
            if let r = update.reason { job.reason = r }
            if let e = update.exitCode { job.exitCode = e }
            if let p = update.progress { job.progress = p }
            if let r = update.result { job.result = r }
            if update.isFinal, job.finishedAt == nil { job.finishedAt = now }
            if !update.isFinal { job.finishedAt = nil }   // requeued after a final-looking state
            guard job != before else { return job }
            job.updatedAt = now
            try db.execute(sql: """
                UPDATE finetune_job SET state = ?, reason = ?, exit_code = ?, progress = ?, result = ?,
                    updated_at = ?, state_since = ?, finished_at = ? WHERE id = ?
                """, arguments: [job.state, job.reason, job.exitCode, job.progress, job.result,
                                 job.updatedAt.timeIntervalSince1970, job.stateSince.timeIntervalSince1970,
                                 job.finishedAt?.timeIntervalSince1970, id])
            if update.isFinal, before.finishedAt == nil {
                try Self.appendAudit(db, user: "lumen", action: "job.finish", object: "job '\(id)'",
                                     details: ["state": job.state, "exit_code": job.exitCode ?? "",
                                               "slurm_job_id": job.slurmJobID ?? ""])
            }
            return job
        }
    }

    /// The owner has been told about the job's final state.
    /// A progress report the job sent itself (rank 0 over HTTP): only the progress changes.
    public func updateJobProgress(id: String, progress: String, at now: Date = Date()) throws {
        try write { db in
            try db.execute(sql: "UPDATE finetune_job SET progress = ?, updated_at = ? WHERE id = ?",
                           arguments: [progress, now.timeIntervalSince1970, id])
        }
    }

    public func markJobNotified(id: String, at now: Date = Date()) throws {
        try write { db in
            try db.execute(sql: "UPDATE finetune_job SET notified_at = ? WHERE id = ? AND notified_at IS NULL",
                           arguments: [now.timeIntervalSince1970, id])
        }
    }

    public func job(id: String) throws -> FinetuneJobRecord? {
        try read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM finetune_job WHERE id = ?", arguments: [id]).map(FinetuneJobRecord.init(row:))
        }
    }

    /// Newest first.
    public func jobs(modelName: String? = nil) throws -> [FinetuneJobRecord] {
        try read { db in
            if let modelName {
                return try Row.fetchAll(db, sql: "SELECT * FROM finetune_job WHERE model_name = ? ORDER BY pk DESC",
                                        arguments: [modelName]).map(FinetuneJobRecord.init(row:))
            }
            return try Row.fetchAll(db, sql: "SELECT * FROM finetune_job ORDER BY pk DESC").map(FinetuneJobRecord.init(row:))
        }
    }

    /// Jobs a monitor must follow: not finished, or finished without the owner having been told.
    public func openJobs() throws -> [FinetuneJobRecord] {
        try read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM finetune_job WHERE finished_at IS NULL OR notified_at IS NULL ORDER BY pk")
                .map(FinetuneJobRecord.init(row:))
        }
    }
}
