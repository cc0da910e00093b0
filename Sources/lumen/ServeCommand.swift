import ArgumentParser
import Dispatch
import Foundation
import Hummingbird
import Logging
import LumenModels
import LumenCluster
import LumenServer
import LumenStore
import LumenTensor

struct ServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve the bundled models over AIAA v1 and MONAI Label, with the datastore.")

    @Option(help: "The config file; every option is documented in it (default: config/lumen.yaml when present).")
    var config: String?
    @Flag(help: "Print the settings as resolved (defaults < config file < LUMEN_* environment < flags) and exit.")
    var printConfig = false
    @Option(help: "Address to listen on. Without --tokens only loopback addresses are allowed.") var host: String?
    @Option(help: "Port to listen on.") var port: Int?
    @Option(help: "Datastore directory.") var store: String?
    @Option(help: "JSON file mapping bearer tokens to {\"user\": …, \"role\": \"annotator\"|\"admin\"}.") var tokens: String?
    @Option(help: "What image uploads with patient data get: reject or scrub.") var ingestPolicy: IngestPolicy?
    @Option(help: "A model bundle directory, or a directory of them (repeatable).") var models: [String] = []
    @Option(help: "Inferences that run at once; each already uses every compute thread.") var maxConcurrent: Int?
    @Option(help: "Inferences that may wait for a slot; more get 503 with Retry-After.") var queue: Int?
    @Option(help: "Default session expiry in seconds (sliding: every use extends it).") var sessionExpiry: Int?
    @Option(help: "Longest session expiry a client may ask for, in seconds.") var sessionMaxExpiry: Int?
    @Option(help: "Memory all sessions together may hold, in MiB.") var sessionMib: Int?
    @Option(help: "Serve every route under this path prefix (a secret one stands in for AIAA clients' missing tokens).") var prefix: String?
    @Option(help: "Largest accepted volume, in voxels.") var maxVoxels: Int?
    @Option(help: "Largest accepted upload, in MiB (streamed to disk, never held in memory).") var maxUploadMib: Int?
    @Option(help: "Seconds a client may stay silent mid-request (or idle between requests) before it is disconnected.") var readTimeout: Int?
    @Option(help: "Seconds an inference may wait in the queue before it is refused with 503.") var queueTimeout: Int?
    @Option(help: "How much lower a candidate's mean Dice may be than the serving version's and still be promoted.") var gateMargin: Double?

    /// Flags over environment over file over defaults.
    func settings() throws -> ServeSettings {
        let file = config ?? (FileManager.default.fileExists(atPath: "config/lumen.yaml") ? "config/lumen.yaml" : nil)
        var s = try ServeSettings.load(file: file)
        s.host = host ?? s.host
        s.port = port ?? s.port
        s.store = store ?? s.store
        s.tokens = tokens ?? s.tokens
        s.ingestPolicy = ingestPolicy ?? s.ingestPolicy
        if !models.isEmpty { s.models = models }
        s.maxConcurrent = maxConcurrent ?? s.maxConcurrent
        s.queue = queue ?? s.queue
        s.sessionExpiry = sessionExpiry ?? s.sessionExpiry
        s.sessionMaxExpiry = sessionMaxExpiry ?? s.sessionMaxExpiry
        s.sessionMiB = sessionMib ?? s.sessionMiB
        s.prefix = prefix ?? s.prefix
        s.maxVoxels = maxVoxels ?? s.maxVoxels
        s.maxUploadMiB = maxUploadMib ?? s.maxUploadMiB
        s.readTimeout = readTimeout ?? s.readTimeout
        s.queueTimeout = queueTimeout ?? s.queueTimeout
        s.gateMargin = gateMargin ?? s.gateMargin
        return try s.validated()
    }

    func run() throws {
        let s = try settings()
        if printConfig {
            print(s.printed)
            return
        }
        LoggingSystem.bootstrap { JSONLogHandler(label: $0) }
        var (configuration, datastore) = try withCLIError {
            let table = s.tokens.isEmpty ? nil : try TokenTable.load(URL(fileURLWithPath: s.tokens))
            var configuration = LumenApplication.Configuration(host: s.host, port: s.port, tokens: table,
                                                               ingestPolicy: s.ingestPolicy)
            try LumenApplication.checkBinding(configuration)
            let datastore = try Datastore(directory: URL(fileURLWithPath: s.store))
            // Bundled models become version 1 of their names; the store says which version of each serves.
            let uploads = URL(fileURLWithPath: s.store).appendingPathComponent("models")
            let registry = ModelRegistry.load(roots: s.models.map { URL(fileURLWithPath: $0) })
            let versions = ModelVersions(store: datastore, registry: registry, root: uploads, gateMargin: s.gateMargin,
                                         maxVoxels: s.maxVoxels)
            try versions.bootstrap()
            for name in registry.names {
                print("lumen: model \(name) (\(registry.models[name]!.kind.rawValue)), version \(registry.models[name]!.version)")
            }
            for failure in registry.failures { print("lumen: WARNING model \(failure.directory) not loaded: \(failure.reason)") }
            configuration.inference = InferenceService(
                registry: registry, queue: InferenceQueue(concurrent: s.maxConcurrent, waiting: s.queue,
                                                       maxWait: .seconds(s.queueTimeout)),
                sessions: SessionStore(defaultExpiry: TimeInterval(s.sessionExpiry), maxExpiry: TimeInterval(s.sessionMaxExpiry),
                                       byteBudget: s.sessionMiB << 20),
                maxVoxels: s.maxVoxels, maxUploadBytes: s.maxUploadMiB << 20, modelDirectory: uploads, versions: versions)
            configuration.finetuning = try Self.finetuning(s, versions: versions, store: datastore)
            configuration.limits = UploadLimits(maxUploadBytes: s.maxUploadMiB << 20, maxVoxels: s.maxVoxels)
            configuration.prefix = s.prefix
            configuration.readTimeout = s.readTimeout > 0 ? .seconds(s.readTimeout) : nil
            return (configuration, datastore)
        }
        let report = datastore.openReport
        print("lumen: datastore \(datastore.directory.path)")
        print("lumen: engine: \(EngineOptions.current.summary)")
        for problem in EngineOptions.current.problems { print("lumen: WARNING \(problem)") }
        if !report.sweptTemporaryFiles.isEmpty {
            print("lumen: removed \(report.sweptTemporaryFiles.count) unfinished writes from an earlier run")
        }
        for missing in report.missingFiles { print("lumen: WARNING \(missing)") }
        if configuration.tokens == nil {
            print("lumen: no tokens configured: the server is OPEN to anyone who can reach \(s.host):\(s.port), and every request acts as admin 'local'; it listens on loopback only")
        }
        let path = LumenApplication.normalisedPrefix(s.prefix)
        print("lumen: listening on http://\(s.host):\(s.port)\(path)  (from a laptop: ssh -N -L \(s.port):127.0.0.1:\(s.port) <this host>, then use http://127.0.0.1:\(s.port)\(path) as the server in Slicer's NVIDIA AIAA or MONAI Label module)")
        if let sessions = configuration.inference?.sessions { configuration.services.append(SessionSweeper(sessions: sessions)) }
        if let finetuning = configuration.finetuning {
            let monitor = finetuning.makeMonitor()
            configuration.services.append(monitor)
            print("lumen: fine-tuning on Slurm: jobs run in \(finetuning.submitter.runRoot.path)")
        }
        let app = try withCLIError { try LumenApplication.application(configuration: configuration, store: datastore) }
        if let queue = configuration.inference?.queue { Self.drainOnUSR1(queue) }
        // The root command is synchronous; run the server to completion on its own task.
        let failure = FailureBox()
        let done = DispatchSemaphore(value: 0)
        Task {
            do { try await app.runService() } catch { failure.set(error) }
            done.signal()
        }
        done.wait()
        if let error = failure.get() {
            FileHandle.standardError.write(Data("lumen: \(error)\n".utf8))
            throw ExitCode(1)
        }
    }
}

/// Carries an error out of the server task.
final class FailureBox: @unchecked Sendable {
    private let lock = NSLock()
    private var error: (any Error)?
    func set(_ e: any Error) { lock.lock(); error = e; lock.unlock() }
    func get() -> (any Error)? { lock.lock(); defer { lock.unlock() }; return error }
}

extension ServeCommand {
    /// SIGUSR1 (slurm/serve.sbatch forwards Slurm's `--signal=B:USR1@N` before the time limit): new
    /// inferences get 503 with Retry-After, the running and queued ones finish, then the server exits 0.
    static func drainOnUSR1(_ queue: InferenceQueue) {
        signal(SIGUSR1, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: SIGUSR1, queue: .global())
        source.setEventHandler {
            Task {
                let (active, waiting) = (await queue.active, await queue.depth)
                FileHandle.standardOutput.write(Data("lumen: SIGUSR1: draining: new inferences get 503; finishing \(active) running and \(waiting) queued\n".utf8))
                await queue.drain()
                await queue.waitUntilIdle()
                FileHandle.standardOutput.write(Data("lumen: drained; exiting\n".utf8))
                Foundation.exit(0)
            }
        }
        source.resume()
        drainSource = source
    }

    nonisolated(unsafe) static var drainSource: (any DispatchSourceSignal)?

    /// Fine-tuning when the settings ask for it (or `auto` finds `sbatch`): the job template and
    /// entry point come from this checkout's slurm/, runs go under `<store>/runs`.
    static func finetuning(_ s: ServeSettings, versions: ModelVersions, store: Datastore) throws -> Finetuning? {
        let onPath = (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":")
            .contains { FileManager.default.isExecutableFile(atPath: "\($0)/sbatch") }
        guard s.finetune == "on" || (s.finetune == "auto" && (onPath || !s.slurmEnv.isEmpty)) else { return nil }
        var environment: [String: String] = [:]
        if !s.slurmEnv.isEmpty { environment = try SlurmClient.environment(fromEnvFile: URL(fileURLWithPath: s.slurmEnv)) }
        let slurm = SlurmClient(environment: environment)
        let here = URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
        let python = URL(fileURLWithPath: s.trainPython, relativeTo: here).standardizedFileURL.path
        let settings = SlurmJobSettings(partition: s.slurmPartition, account: s.slurmAccount, qos: s.slurmQos, nodes: s.slurmNodes,
                                        gpusPerNode: s.slurmGpusPerNode, cpusPerTask: s.slurmCpusPerTask, mem: s.slurmMem,
                                        time: s.slurmTime, signalSeconds: s.slurmSignalSeconds,
                                        maxRequeues: s.slurmMaxRequeues, python: python,
                                        script: here.appendingPathComponent("slurm/finetune.py").path,
                                        template: here.appendingPathComponent("slurm/finetune.sbatch.template").path)
        let runs = URL(fileURLWithPath: s.store).appendingPathComponent("runs").standardizedFileURL
        try FileManager.default.createDirectory(at: runs, withIntermediateDirectories: true)
        // Compute nodes post progress here when they can reach this address; otherwise the run directory's file is read.
        let host = s.host == "0.0.0.0" || s.host == "::" ? ProcessInfo.processInfo.hostName : s.host
        let report = "http://\(host):\(s.port)\(LumenApplication.normalisedPrefix(s.prefix))/train/progress"
        return Finetuning(versions: versions, submitter: FinetuneSubmitter(store: store, slurm: slurm, runRoot: runs, settings: settings),
                          reportURL: report)
    }
}
