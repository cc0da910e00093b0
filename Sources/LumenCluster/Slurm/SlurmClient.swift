import Foundation
import Logging

/// Talks to Slurm through its commands (sbatch, squeue, scontrol, scancel, sacct), so it works with
/// any site's Slurm and needs no library or REST daemon. Transient failures (controller down) are
/// retried with exponential backoff and then thrown as `SlurmError.controllerUnreachable`.
public actor SlurmClient {
    public let runner: any CommandRunner
    /// Added to the runner's environment for every command: SLURM_CONF, PATH, ...
    public let environment: [String: String]
    public let commandTimeout: Duration
    public let retry: RetryPolicy
    let logger: Logger
    /// nil until sacct was tried; false once it said accounting storage is disabled.
    private(set) var accountingAvailable: Bool?

    public init(environment: [String: String] = [:], runner: any CommandRunner = LocalCommandRunner(),
                commandTimeout: Duration = .seconds(60), retry: RetryPolicy = RetryPolicy(),
                logger: Logger = Logger(label: "lumen.cluster.slurm")) {
        self.runner = runner
        self.environment = environment
        self.commandTimeout = commandTimeout
        self.retry = retry
        self.logger = logger
    }

    // MARK: submit and control

    /// `sbatch --parsable [arguments] script` → the job id (the text before `;cluster`).
    public func submit(script: URL, arguments: [String] = []) async throws -> String {
        let out = try await run("sbatch", ["--parsable"] + arguments + [script.path])
        let first = out.split(whereSeparator: \.isNewline).last.map(String.init) ?? ""
        let id = String(first.split(separator: ";", maxSplits: 1).first ?? "").trimmingCharacters(in: .whitespaces)
        guard !id.isEmpty, id.allSatisfy({ $0.isNumber || $0 == "_" }) else {
            throw SlurmError.unexpectedOutput(command: "sbatch", output: out)
        }
        return id
    }

    public func cancel(jobID: String) async throws {
        _ = try await run("scancel", [jobID])
    }

    /// Asks the batch shell to checkpoint (the template's USR1 trap): `scancel --signal=USR1 --batch`.
    public func requestCheckpoint(jobID: String) async throws {
        _ = try await run("scancel", ["--signal=USR1", "--batch", jobID])
    }

    public func requeue(jobID: String) async throws {
        _ = try await run("scontrol", ["requeue", jobID])
    }

    // MARK: state

    /// One squeue call for many jobs. Jobs the controller has forgotten are absent from the answer.
    public func squeue(jobIDs: [String]) async throws -> [String: SlurmJobInfo] {
        guard !jobIDs.isEmpty else { return [:] }
        let out: String
        do {
            out = try await run("squeue", ["-h", "-t", "all", "-j", jobIDs.joined(separator: ","),
                                           "-o", SlurmOutput.squeueFormat])
        } catch SlurmError.commandFailed(_, _, let message) where Self.isInvalidJobID(message) {
            return [:]   // every id purged (with several ids squeue just leaves the unknown ones out)
        }
        var jobs: [String: SlurmJobInfo] = [:]
        for line in out.split(whereSeparator: \.isNewline) {
            if let info = SlurmOutput.parseSqueueLine(String(line)) { jobs[info.jobID] = info }
        }
        return jobs
    }

    /// `scontrol -o show job ID`; nil once the controller has forgotten the job (after MinJobAge).
    public func show(jobID: String) async throws -> SlurmJobInfo? {
        do {
            let out = try await run("scontrol", ["-o", "show", "job", jobID])
            guard let info = SlurmOutput.parseScontrol(out) else {
                throw SlurmError.unexpectedOutput(command: "scontrol show job", output: out)
            }
            return info
        } catch SlurmError.commandFailed(_, _, let message) where Self.isInvalidJobID(message) {
            return nil
        }
    }

    /// `sacct -X -n -P` for a finished job; nil when accounting storage is disabled (no slurmdbd,
    /// remembered after the first try) or sacct does not know the job.
    public func accounting(jobID: String) async throws -> SlurmJobInfo? {
        if accountingAvailable == false { return nil }
        do {
            let out = try await run("sacct", ["-X", "-n", "-P", "-j", jobID, "-o", SlurmOutput.sacctFields])
            accountingAvailable = true
            return out.split(whereSeparator: \.isNewline).compactMap { SlurmOutput.parseSacctLine(String($0)) }
                .first { $0.jobID == jobID }
        } catch SlurmError.commandFailed(_, _, let message) where message.lowercased().contains("accounting storage is disabled") {
            logger.info("sacct: accounting storage is disabled; finished jobs are read from scontrol and the run directory")
            accountingAvailable = false
            return nil
        }
    }

    /// The best description available: scontrol while the controller remembers the job, then sacct.
    public func status(jobID: String) async throws -> SlurmJobInfo? {
        if let info = try await show(jobID: jobID) { return info }
        return try await accounting(jobID: jobID)
    }

    static func isInvalidJobID(_ message: String) -> Bool {
        message.lowercased().contains("invalid job id")
    }

    // MARK: running commands

    /// Runs a command, retrying transient failures; returns stdout or throws a typed error.
    @discardableResult
    public func run(_ command: String, _ arguments: [String]) async throws -> String {
        var failures = 0
        while true {
            do {
                return try await runOnce(command, arguments)
            } catch let error as SlurmError where error.isTransient {
                failures += 1
                guard failures < retry.attempts else { throw error }
                let delay = retry.delay(afterFailures: failures)
                logger.warning("\(error); retry \(failures)/\(retry.attempts - 1) in \(delay)")
                try await Task.sleep(for: delay)
            }
        }
    }

    func runOnce(_ command: String, _ arguments: [String]) async throws -> String {
        let result: CommandResult
        do {
            result = try await runner.run(command, arguments, environment: environment, timeout: commandTimeout)
        } catch let error as CommandRunnerError {
            throw SlurmError.unavailable(command: command, reason: error.description)
        }
        if result.timedOut { throw SlurmError.timedOut(command: command, seconds: commandTimeout.seconds) }
        guard result.status == 0 else { throw SlurmError.classify(command: command, result: result) }
        return result.stdout
    }
}

extension SlurmClient {
    /// The environment for a test cluster: SLURM_CONF from an env file written by scripts/services
    /// (`export KEY=VALUE` lines), or from this process's environment.
    public static func environment(fromEnvFile url: URL) throws -> [String: String] {
        let text = try String(contentsOf: url, encoding: .utf8)
        var env: [String: String] = [:]
        for line in text.split(whereSeparator: \.isNewline) {
            var l = line.trimmingCharacters(in: .whitespaces)
            guard l.hasPrefix("export ") else { continue }
            l.removeFirst("export ".count)
            guard let eq = l.firstIndex(of: "=") else { continue }
            env[String(l[..<eq])] = String(l[l.index(after: eq)...]).trimmingCharacters(in: CharacterSet(charactersIn: "\"'"))
        }
        return env
    }
}
