import Foundation
import Logging
import LumenStore
import ServiceLifecycle

/// Follows every job in the store that is not final (or whose owner was not yet told it ended):
/// polls Slurm, reads `train_stats.json` from the run directory, writes state and progress to the
/// job table, and calls `onFinished` once per job when it reaches a final state.
///
/// Everything it knows is in the table, so a monitor constructed over an existing store picks up
/// the jobs a previous process was following. While slurmctld cannot be reached the jobs are
/// reported as UNKNOWN with the time since when, polls back off exponentially, and following
/// resumes as soon as the controller answers again.
public actor JobMonitor: Service {
    public struct Options: Sendable {
        public var pollInterval: Duration
        /// Longest wait between polls while the controller is unreachable.
        public var maxBackoff: Duration
        /// Polls in a row in which Slurm does not know a job (and the run directory holds no exit
        /// status) before it is recorded as LOST.
        public var lostAfterPolls: Int

        public init(pollInterval: Duration = .seconds(5), maxBackoff: Duration = .seconds(60), lostAfterPolls: Int = 3) {
            self.pollInterval = pollInterval
            self.maxBackoff = maxBackoff
            self.lostAfterPolls = lostAfterPolls
        }
    }

    /// One observation, for logs, tests and push updates.
    public struct Update: Sendable, Equatable {
        public var jobID: String
        public var slurmJobID: String?
        public var state: JobState
        public var reason: String?
        public var exitCode: ExitStatus?
        public var progress: TrainProgress?
        /// Set while the state is UNKNOWN because the controller is unreachable.
        public var unknownSince: Date?
    }

    public typealias FinishedHandler = @Sendable (FinetuneJobRecord) async -> Void
    public typealias UpdateHandler = @Sendable (Update) async -> Void

    let store: Datastore
    let slurm: SlurmClient
    public let options: Options
    let logger: Logger
    let onFinished: FinishedHandler
    let onUpdate: UpdateHandler?

    /// Since when the controller has not answered; nil while it does.
    public private(set) var controllerUnreachableSince: Date?
    private var missing: [String: Int] = [:]
    private var progressStamp: [String: Date] = [:]
    private var notified: Set<String> = []

    public init(store: Datastore, slurm: SlurmClient, options: Options = Options(),
                logger: Logger = Logger(label: "lumen.cluster.monitor"),
                onUpdate: UpdateHandler? = nil, onFinished: @escaping FinishedHandler) {
        self.store = store
        self.slurm = slurm
        self.options = options
        self.logger = logger
        self.onUpdate = onUpdate
        self.onFinished = onFinished
    }

    /// Polls until cancelled or, inside a ServiceGroup, until graceful shutdown.
    public func run() async throws {
        do {
            try await cancelWhenGracefulShutdown { try await self.loop() }
        } catch is CancellationError {
            logger.info("job monitor stopped")
        }
    }

    private func loop() async throws {
        var failures = 0
        while !Task.isCancelled {
            let reachable = await pollOnce()
            failures = reachable ? 0 : failures + 1
            var wait = options.pollInterval
            if failures > 0 {
                wait = options.pollInterval * (1 << min(failures, 16))
                if wait > options.maxBackoff { wait = options.maxBackoff }
            }
            try await Task.sleep(for: wait)
        }
        throw CancellationError()
    }

    /// One pass over the open jobs. Returns false when the controller could not be reached.
    @discardableResult
    public func pollOnce() async -> Bool {
        let open: [FinetuneJobRecord]
        do {
            let store = self.store
            open = try await ClusterThreads.run { try store.openJobs() }
        } catch {
            logger.error("cannot list open jobs: \(error)")
            return true
        }
        var following: [FinetuneJobRecord] = []
        for job in open {
            if job.finishedAt != nil { await notify(job) } else { following.append(job) }
        }
        let ids = following.compactMap(\.slurmJobID)
        guard !ids.isEmpty else { return true }

        let queue: [String: SlurmJobInfo]
        do {
            queue = try await slurm.squeue(jobIDs: ids)
        } catch let error as SlurmError where error.isTransient {
            await markUnreachable(following, error: error)
            return false
        } catch {
            logger.error("squeue failed: \(error)")
            return true
        }
        if let since = controllerUnreachableSince {
            logger.notice("slurm controller answers again (unreachable since \(since))")
            controllerUnreachableSince = nil
        }
        for job in following {
            guard let slurmID = job.slurmJobID else { continue }
            do {
                try await follow(job, slurmID: slurmID, queued: queue[slurmID])
            } catch let error as SlurmError where error.isTransient {
                await markUnreachable([job], error: error)
                return false
            } catch {
                logger.error("job \(job.id) (slurm \(slurmID)): \(error)")
            }
        }
        return true
    }

    private func follow(_ job: FinetuneJobRecord, slurmID: String, queued: SlurmJobInfo?) async throws {
        var info = queued
        // A final or missing squeue row: scontrol (then sacct) gives the exit code and last details.
        if info == nil || info!.state.isFinal {
            if let detailed = try await slurm.status(jobID: slurmID) { info = detailed }
        }
        let runDir = URL(fileURLWithPath: job.runDir, isDirectory: true)
        let progress = readProgress(job: job, runDir: runDir)

        var state: JobState
        var reason = info?.reason
        var exit = info?.exitCode
        if let info {
            missing[job.id] = nil
            state = info.state
        } else if let status = Self.exitCodeFile(runDir: runDir) {
            // Slurm forgot the job (MinJobAge, no accounting): the batch script's EXIT trap wrote this.
            missing[job.id] = nil
            state = status == 0 ? .completed : .failed
            exit = ExitStatus(status: status)
            reason = "from \(runDir.path)/exit_code; slurm no longer knows job \(slurmID)"
        } else {
            let n = (missing[job.id] ?? 0) + 1
            missing[job.id] = n
            state = n >= options.lostAfterPolls ? .lost : JobState(slurm: job.state)
            reason = "slurm does not know job \(slurmID) (\(n) poll\(n == 1 ? "" : "s"))"
        }
        if state == .unknown, JobState(slurm: job.state) != .unknown { state = JobState(slurm: job.state) }

        let final = state.isFinal
        let result = final ? Self.result(job: job, state: state, exit: exit, progress: progress) : nil
        let update = FinetuneJobUpdate(state: state.rawValue, reason: reason ?? "", exitCode: exit?.slurmText,
                                       progress: progress?.json, result: result, isFinal: final)
        let store = self.store, id = job.id
        let record = try await ClusterThreads.run { try store.updateJob(id: id, update) }
        if record.state != job.state { logger.info("job \(job.id) (slurm \(slurmID)): \(job.state) → \(record.state)") }
        await onUpdate?(Update(jobID: job.id, slurmJobID: slurmID, state: state, reason: reason, exitCode: exit,
                               progress: progress, unknownSince: nil))
        if final { await notify(record) }
    }

    private func markUnreachable(_ jobs: [FinetuneJobRecord], error: SlurmError) async {
        let since = controllerUnreachableSince ?? Date()
        if controllerUnreachableSince == nil {
            logger.warning("\(error); reporting \(jobs.count) job(s) as UNKNOWN until it answers")
            controllerUnreachableSince = since
        }
        for job in jobs {
            let update = FinetuneJobUpdate(state: JobState.unknown.rawValue, reason: "slurm controller unreachable: \(error)")
            let store = self.store, id = job.id
            let record = try? await ClusterThreads.run { try store.updateJob(id: id, update, at: since) }
            let runDir = URL(fileURLWithPath: job.runDir, isDirectory: true)
            await onUpdate?(Update(jobID: job.id, slurmJobID: job.slurmJobID, state: .unknown,
                                   reason: record?.reason, exitCode: nil,
                                   progress: readProgress(job: job, runDir: runDir),
                                   unknownSince: record?.stateSince ?? since))
        }
    }

    /// Calls the owner once per job in this process; the table's notified_at makes it once across restarts
    /// (at least once: a crash between the call and the mark repeats it).
    private func notify(_ job: FinetuneJobRecord) async {
        guard job.notifiedAt == nil, !notified.contains(job.id) else { return }
        notified.insert(job.id)
        await onFinished(job)
        let store = self.store, id = job.id
        do { try await ClusterThreads.run { try store.markJobNotified(id: id) } } catch {
            logger.error("job \(id): cannot record the notification: \(error)")
        }
    }

    /// The stats file when it changed since the last poll (nil otherwise).
    private func readProgress(job: FinetuneJobRecord, runDir: URL) -> TrainProgress? {
        let url = runDir.appendingPathComponent(TrainProgress.fileName)
        guard let stamp = (try? FileManager.default.attributesOfItem(atPath: url.path))?[.modificationDate] as? Date else {
            return nil
        }
        if progressStamp[job.id] == stamp, job.progress != nil { return nil }
        guard let progress = TrainProgress.read(runDir: runDir) else { return nil }
        progressStamp[job.id] = stamp
        return progress
    }

    static func exitCodeFile(runDir: URL) -> Int? {
        guard let data = FileManager.default.contents(atPath: runDir.appendingPathComponent("exit_code").path) else { return nil }
        return Int(String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
    }

    /// What the job left: the candidate MMAR (config `out`) when its weights exist, and its metrics.
    static func result(job: FinetuneJobRecord, state: JobState, exit: ExitStatus?, progress: TrainProgress?) -> String {
        var result: [String: Any] = ["state": state.rawValue]
        if let exit { result["exit_code"] = exit.slurmText; result["exit"] = exit.description }
        let config = (try? JSONSerialization.jsonObject(with: Data(job.config.utf8))) as? [String: Any] ?? [:]
        if let out = config["out"] as? String {
            let weights = URL(fileURLWithPath: out).appendingPathComponent("models/model.pt")
            if FileManager.default.fileExists(atPath: weights.path) {
                result["candidate"] = out
                let metricsURL = URL(fileURLWithPath: out).appendingPathComponent("docs/metrics.json")
                if let data = FileManager.default.contents(atPath: metricsURL.path),
                   let metrics = try? JSONSerialization.jsonObject(with: data) {
                    result["metrics"] = metrics
                }
            }
        }
        let data = (try? JSONSerialization.data(withJSONObject: result, options: [.sortedKeys])) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self)
    }
}
