import Foundation
import Logging
import LumenStore

/// Where and how fine-tuning jobs run: the site's Slurm options and the shared paths.
/// Empty partition/account/qos/mem drop their `#SBATCH` line (site default); `gpusPerNode` nil or 0
/// asks for no GPU (one CPU process per node, gloo).
public struct SlurmJobSettings: Sendable, Codable, Equatable {
    public var partition: String
    public var account: String
    public var qos: String
    public var nodes: Int
    public var gpusPerNode: Int?
    public var cpusPerTask: Int
    public var mem: String
    /// `[d-]hh:mm:ss`.
    public var time: String
    public var signalSeconds: Int
    /// Self-requeues allowed before the time limit ends the job (TIMEOUT).
    public var maxRequeues: Int
    /// The job's Python (`<venv>/bin/python`, scripts/env/setup_train_python).
    public var python: String
    /// slurm/finetune.py.
    public var script: String
    /// slurm/finetune.sbatch.template.
    public var template: String

    public init(partition: String = "", account: String = "", qos: String = "", nodes: Int = 1, gpusPerNode: Int? = 1,
                cpusPerTask: Int = 4, mem: String = "", time: String = "04:00:00", signalSeconds: Int = 300,
                maxRequeues: Int = 3, python: String, script: String, template: String) {
        self.partition = partition
        self.account = account
        self.qos = qos
        self.nodes = nodes
        self.gpusPerNode = gpusPerNode
        self.cpusPerTask = cpusPerTask
        self.mem = mem
        self.time = time
        self.signalSeconds = signalSeconds
        self.maxRequeues = maxRequeues
        self.python = python
        self.script = script
        self.template = template
    }
}

/// Training hyper-parameters passed to finetune.py.
public struct TrainingSettings: Sendable, Codable, Equatable {
    public var maxEpochs: Int
    public var valSplit: String
    public var seed: Int
    public var batchSize: Int
    public var lr: String
    /// `N` or `X,Y,Z`.
    public var patch: String
    /// Lumen's progress URL; empty: the monitor reads train_stats.json only.
    public var reportURL: String

    public init(maxEpochs: Int = 50, valSplit: String = "0.2", seed: Int = 0, batchSize: Int = 2, lr: String = "0.0001",
                patch: String = "96,96,64", reportURL: String = "") {
        self.maxEpochs = maxEpochs
        self.valSplit = valSplit
        self.seed = seed
        self.batchSize = batchSize
        self.lr = lr
        self.patch = patch
        self.reportURL = reportURL
    }
}

public struct FinetuneRequest: Sendable {
    public var modelName: String
    /// The serving version the job starts from.
    public var baseVersion: String?
    /// That version's MMAR.
    public var bundleDir: URL
    /// The folder `lumen dataset export` wrote (dataset.json).
    public var datasetDir: URL
    public var submittedBy: String
    public var training: TrainingSettings

    public init(modelName: String, baseVersion: String?, bundleDir: URL, datasetDir: URL, submittedBy: String,
                training: TrainingSettings = TrainingSettings()) {
        self.modelName = modelName
        self.baseVersion = baseVersion
        self.bundleDir = bundleDir
        self.datasetDir = datasetDir
        self.submittedBy = submittedBy
        self.training = training
    }
}

public enum FinetuneError: Error, CustomStringConvertible {
    case invalidInput(String)
    case io(path: String, reason: String)

    public var description: String {
        switch self {
        case .invalidInput(let s): s
        case .io(let path, let reason): "\(path): \(reason)"
        }
    }
}

/// Renders the job script into `<run root>/<job id>/job.sbatch`, writes the per-job report token
/// (0600, never into the script), submits it and records the job row.
public struct FinetuneSubmitter: Sendable {
    public let store: Datastore
    public let slurm: SlurmClient
    public let runRoot: URL
    public let settings: SlurmJobSettings
    let logger: Logger

    public init(store: Datastore, slurm: SlurmClient, runRoot: URL, settings: SlurmJobSettings,
                logger: Logger = Logger(label: "lumen.cluster.submit")) {
        self.store = store
        self.slurm = slurm
        self.runRoot = runRoot.standardizedFileURL
        self.settings = settings
        self.logger = logger
    }

    public struct Submitted: Sendable {
        public var job: FinetuneJobRecord
        /// The bearer token progress reports carry (also in `<run_dir>/report.token`, mode 0600).
        public var reportToken: String
        public var script: URL
    }

    public func submit(_ request: FinetuneRequest) async throws -> Submitted {
        let id = "ft-" + Self.randomHex(8)
        let runDir = runRoot.appendingPathComponent(id, isDirectory: true)
        let out = runDir.appendingPathComponent("candidate", isDirectory: true)
        let tokenFile = runDir.appendingPathComponent("report.token")
        let values = templateValues(request, jobID: id, runDir: runDir, out: out, tokenFile: tokenFile)
        let template = try SbatchTemplate(contentsOf: URL(fileURLWithPath: settings.template))
        let script: String
        do { script = try template.render(values) } catch let error as SbatchTemplate.TemplateError {
            throw FinetuneError.invalidInput("cannot render the job script: \(error)")
        }
        let token = Self.randomHex(32)
        let scriptURL = runDir.appendingPathComponent("job.sbatch")
        try await ClusterThreads.run {
            try Self.writeRunDir(runDir, script: script, scriptURL: scriptURL, token: token, tokenFile: tokenFile)
        }
        let slurmID = try await slurm.submit(script: scriptURL)
        logger.info("job \(id): submitted as slurm job \(slurmID) (\(runDir.path))")

        let config: [String: Any] = [
            "bundle": request.bundleDir.path, "data": request.datasetDir.path, "out": out.path,
            "script": scriptURL.path, "values": values.filter { $0.key != "report_token_file" },
        ]
        let configText = String(decoding: try JSONSerialization.data(withJSONObject: config, options: [.sortedKeys]),
                                as: UTF8.self)
        let record = FinetuneJobRecord(id: id, slurmJobID: slurmID, modelName: request.modelName,
                                       baseVersion: request.baseVersion, runDir: runDir.path,
                                       state: JobState.pending.rawValue, submittedBy: request.submittedBy, config: configText)
        let store = self.store
        do {
            try await ClusterThreads.run { try store.insertJob(record) }
        } catch {
            // A job nobody follows would train for hours unseen: take it back.
            try? await slurm.cancel(jobID: slurmID)
            throw error
        }
        return Submitted(job: record, reportToken: token, script: scriptURL)
    }

    func templateValues(_ r: FinetuneRequest, jobID: String, runDir: URL, out: URL, tokenFile: URL) -> [String: String] {
        let t = r.training
        return [
            "job_name": "lumen-\(jobID)", "run_dir": runDir.path, "nodes": "\(settings.nodes)",
            "gpus_per_node": settings.gpusPerNode.map { $0 > 0 ? "\($0)" : "" } ?? "",
            "cpus_per_task": "\(settings.cpusPerTask)", "mem": settings.mem, "time": settings.time,
            "partition": settings.partition, "account": settings.account, "qos": settings.qos,
            "signal_seconds": "\(settings.signalSeconds)", "max_requeues": "\(settings.maxRequeues)",
            "python": settings.python, "script": settings.script,
            "bundle": r.bundleDir.standardizedFileURL.path, "data": r.datasetDir.standardizedFileURL.path,
            "out": out.path, "max_epochs": "\(t.maxEpochs)", "val_split": t.valSplit, "seed": "\(t.seed)",
            "batch_size": "\(t.batchSize)", "lr": t.lr, "patch": t.patch, "report_url": t.reportURL,
            "report_token_file": tokenFile.path,
        ]
    }

    static func writeRunDir(_ runDir: URL, script: String, scriptURL: URL, token: String, tokenFile: URL) throws {
        let fm = FileManager.default
        do {
            try fm.createDirectory(at: runDir, withIntermediateDirectories: true)
            // Created 0600 before the token goes in: no moment in which others could read it.
            guard fm.createFile(atPath: tokenFile.path, contents: nil, attributes: [.posixPermissions: 0o600]) else {
                throw FinetuneError.io(path: tokenFile.path, reason: "cannot create the token file")
            }
            try fm.setAttributes([.posixPermissions: 0o600], ofItemAtPath: tokenFile.path)
            try Data((token + "\n").utf8).write(to: tokenFile)
            try Data(script.utf8).write(to: scriptURL, options: .atomic)
            try fm.setAttributes([.posixPermissions: 0o755], ofItemAtPath: scriptURL.path)
        } catch let error as FinetuneError {
            throw error
        } catch {
            throw FinetuneError.io(path: runDir.path, reason: "\(error)")
        }
    }

    static func randomHex(_ bytes: Int) -> String {
        var g = SystemRandomNumberGenerator()
        return (0..<bytes).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &g)) }.joined()
    }
}
