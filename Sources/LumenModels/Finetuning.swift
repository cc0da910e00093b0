import Foundation
import LumenPreview
import Logging
import LumenCluster
import LumenInference
import LumenStore
import LumenTensor

/// Doctors' `final` labels become a better model: the serving version of a
/// model is fine-tuned on them by a Slurm job, the job is followed, and its
/// candidate goes through the version gate like any other new version. The
/// gate's held-out images are never exported for training, so the candidate is
/// scored on cases it has not seen. One job runs at a time, as in MONAI Label.
public actor Finetuning {
    public nonisolated let versions: ModelVersions
    public nonisolated let submitter: FinetuneSubmitter
    public nonisolated let slurm: SlurmClient
    nonisolated let logger: Logger

    /// Where rank 0 posts its progress (`…/train/progress`); empty: the run directory's file only.
    public nonisolated let reportURL: String

    public init(versions: ModelVersions, submitter: FinetuneSubmitter, reportURL: String = "",
                logger: Logger = Logger(label: "lumen.finetune")) {
        self.versions = versions
        self.submitter = submitter
        self.reportURL = reportURL
        self.slurm = submitter.slurm
        self.logger = logger
    }

    /// The monitor to run in the server's service group; its finished jobs come back here.
    public nonisolated func makeMonitor(options: JobMonitor.Options = JobMonitor.Options()) -> JobMonitor {
        JobMonitor(store: versions.store, slurm: slurm, options: options) { [weak self] job in
            await self?.finished(job)
        }
    }

    nonisolated var store: Datastore { versions.store }

    /// The jobs of `model` (every model when nil), newest first.
    public nonisolated func jobs(model: String? = nil) throws -> [FinetuneJobRecord] {
        try versions.store.jobs(modelName: model).sorted { $0.submittedAt > $1.submittedAt }
    }

    public nonisolated func running() throws -> FinetuneJobRecord? { try versions.store.openJobs().first }

    /// Exports the training set and submits the job.
    public func submit(model name: String, user: String, training: TrainingSettings, enqueue: Bool) async throws -> FinetuneJobRecord {
        if let busy = try running(), !enqueue {
            throw ModelError.busy("fine-tuning job \(busy.id) (\(busy.modelName)) is still running; wait for it, cancel it, or ask with enqueue=true")
        }
        let bundle = try versions.registry.model(name)
        guard bundle.kind == .segmentation else {
            throw ModelError.conflict("\(name) is a \(bundle.kind.rawValue) model; only segmentation models can be fine-tuned here")
        }
        guard let version = Int(bundle.version), let base = try store.modelVersion(name: name, version: version) else {
            throw ModelError.notFound("\(name) has no recorded serving version")
        }
        let store = self.store
        let ids = try store.newestLabels(tag: "final").map(\.image.id)
        let heldOut = LabelEvaluation.heldOut(ids)
        let data = submitter.runRoot.appendingPathComponent("data-\(name)-\(Int(Date().timeIntervalSince1970))", isDirectory: true)
        let summary = try await ComputePool.shared.run {
            try DatasetExport.export(store: store, tag: "final", output: data, user: user, excluding: heldOut)
        }
        guard summary.pairs >= 2 else {
            throw ModelError.conflict("fine-tuning \(name) needs at least 2 images with final labels outside the gate's held-out fifth; the datastore has \(summary.pairs)")
        }
        var training = training
        training.reportURL = reportURL
        let submitted = try await submitter.submit(FinetuneRequest(
            modelName: name, baseVersion: String(base.version), bundleDir: URL(fileURLWithPath: base.path), datasetDir: data,
            submittedBy: user, training: training))
        logger.info("\(user) submitted fine-tuning job \(submitted.job.id) of \(name)@\(base.version) on \(summary.pairs) labelled image(s)")
        return submitted.job
    }

    /// A job's own progress report, authenticated by its per-job token (the
    /// `report.token` file, 0600, in its run directory). Returns the job id.
    public nonisolated func report(token: String, stats: String) throws -> String {
        guard let object = (try? JSONSerialization.jsonObject(with: Data(stats.utf8))) as? [String: Any] else {
            throw ModelError.invalid("a progress report is a train_stats JSON object")
        }
        // The counters every reader turns into integers (a progress bar, an ETA) are checked here, where they enter.
        for key in ["epoch", "total_epochs", "current_epoch", "current_iteration", "total_iterations", "eta_seconds"] {
            guard let value = object[key] else { continue }
            guard let number = value as? NSNumber, number.doubleValue.isFinite, number.doubleValue == number.doubleValue.rounded(),
                  (0...1e9).contains(number.doubleValue) else {
                throw ModelError.invalid("train_stats.\(key) must be a whole number from 0 to 1e9")
            }
        }
        let wanted = Array(token.utf8)
        for job in try store.openJobs() {
            let file = URL(fileURLWithPath: job.runDir).appendingPathComponent("report.token")
            guard let data = FileManager.default.contents(atPath: file.path) else { continue }
            let known = Array(String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines).utf8)
            // Compared in full whatever differs first, so timing says nothing about the token.
            guard known.count == wanted.count, zip(known, wanted).reduce(UInt8(0), { $0 | ($1.0 ^ $1.1) }) == 0 else { continue }
            try store.updateJobProgress(id: job.id, progress: stats)
            return job.id
        }
        throw ModelError.notFound("no running fine-tuning job has this report token")
    }

    public func cancel(jobID: String, user: String) async throws -> FinetuneJobRecord {
        guard let job = try store.job(id: jobID) else { throw ModelError.notFound("no fine-tuning job \(jobID)") }
        if let slurmID = job.slurmJobID { try await slurm.cancel(jobID: slurmID) }
        try store.recordAudit(user: user, action: "finetune.cancel", object: jobID)
        return try store.job(id: jobID) ?? job
    }

    /// A job reached a final state: a completed one hands its candidate to the gate.
    func finished(_ job: FinetuneJobRecord) async {
        // The gate's verdict goes beside what the monitor recorded (candidate, metrics), under "gate".
        var result: [String: Any] = ["state": job.state]
        defer {
            let current = (try? store.job(id: job.id))??.result ?? job.result
            var merged = current.flatMap { (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any] } ?? [:]
            merged["gate"] = result
            let text = String(decoding: (try? JSONSerialization.data(withJSONObject: merged, options: [.sortedKeys])) ?? Data("{}".utf8), as: UTF8.self)
            _ = try? store.updateJob(id: job.id, FinetuneJobUpdate(state: job.state, reason: job.reason, exitCode: job.exitCode,
                                                                   progress: job.progress, result: text, isFinal: true))
        }
        let candidate = URL(fileURLWithPath: job.runDir).appendingPathComponent("candidate")
        guard job.state == JobState.completed.rawValue,
              FileManager.default.fileExists(atPath: candidate.appendingPathComponent("models/model.pt").path) else {
            result["promoted"] = false
            result["message"] = "job \(job.id) ended \(job.state)\(job.reason.map { " (\($0))" } ?? ""); nothing to promote"
            logger.warning("\(result["message"]!)")
            return
        }
        Self.writeCurves(job: job, candidate: candidate)   // in the candidate's docs/, so the version keeps them
        let staged = versions.root.appendingPathComponent(".staging-\(job.id)")
        do {
            try? FileManager.default.removeItem(at: staged)
            try FileManager.default.copyItem(at: candidate, to: staged)
            let trainedOn = Self.provenance(job)
            let decision = try await versions.submit(staged: staged, name: job.modelName, source: .finetune, detail: job.id,
                                                     parent: job.baseVersion.flatMap { Int($0) }, user: "finetune:\(job.id)",
                                                     trainedOn: trainedOn)
            result["promoted"] = decision.promoted
            result["version"] = decision.record.version
            result["message"] = decision.message
        } catch {
            try? FileManager.default.removeItem(at: staged)
            result["promoted"] = false
            result["message"] = "\(error)"
        }
        logger.info("fine-tuning job \(job.id): \(result["message"] ?? "")")
    }

    /// The job's loss and validation Dice per epoch as a PNG (its candidate's docs/training_curve.png,
    /// drawn from docs/metrics.json when it is not there yet).
    public nonisolated func curves(jobID: String) throws -> [UInt8] {
        guard let job = try store.job(id: jobID) else { throw ModelError.notFound("no fine-tuning job \(jobID)") }
        let candidate = URL(fileURLWithPath: job.runDir).appendingPathComponent("candidate")
        if let png = FileManager.default.contents(atPath: candidate.appendingPathComponent("docs/training_curve.png").path) {
            return [UInt8](png)
        }
        guard let metrics = FileManager.default.contents(atPath: candidate.appendingPathComponent("docs/metrics.json").path) else {
            throw ModelError.notFound("job \(jobID) has written no candidate with per-epoch metrics yet (state \(job.state)); its progress is in GET /train/")
        }
        return TrainingCurves.png(TrainingCurves.history(metricsJSON: metrics), title: Self.curvesTitle(job))
    }

    static func curvesTitle(_ job: FinetuneJobRecord) -> String {
        "\(job.modelName) fine-tuning \(job.id) (slurm \(job.slurmJobID ?? "?"))"
    }

    static func writeCurves(job: FinetuneJobRecord, candidate: URL) {
        let docs = candidate.appendingPathComponent("docs")
        guard let metrics = FileManager.default.contents(atPath: docs.appendingPathComponent("metrics.json").path) else { return }
        let png = TrainingCurves.png(TrainingCurves.history(metricsJSON: metrics), title: curvesTitle(job))
        try? Data(png).write(to: docs.appendingPathComponent("training_curve.png"), options: .atomic)
    }

    /// The label versions the job trained on (image, tag, version, author, sha256), from its dataset.json.
    static func provenance(_ job: FinetuneJobRecord) -> String {
        guard let config = (try? JSONSerialization.jsonObject(with: Data(job.config.utf8))) as? [String: Any],
              let data = config["data"] as? String,
              let text = FileManager.default.contents(atPath: URL(fileURLWithPath: data).appendingPathComponent("dataset.json").path),
              let document = (try? JSONSerialization.jsonObject(with: text)) as? [String: Any],
              let provenance = document["provenance"],
              let out = try? JSONSerialization.data(withJSONObject: provenance, options: [.sortedKeys]) else { return "[]" }
        return String(decoding: out, as: UTF8.self)
    }
}
