import ArgumentParser
import Foundation
import LumenIO
import LumenStore
import Yams

/// `lumen serve`'s options, resolved flag → environment (`LUMEN_<KEY>`) →
/// config file → default, so an admin can keep one documented file and still
/// override a value per run or per Slurm job.
struct ServeSettings {
    var host = "127.0.0.1"
    var port = 8000
    var models = ["mmar"]
    var store = "lumen-store"
    var tokens = ""
    var prefix = ""
    var ingestPolicy = IngestPolicy.reject
    var maxConcurrent = 1
    var queue = 8
    var sessionExpiry = 3600
    var sessionMaxExpiry = 86_400
    var sessionMiB = 4096
    var maxVoxels = Volume.defaultMaxVoxels
    var maxUploadMiB = 2048
    var readTimeout = 60
    var queueTimeout = 300
    var gateMargin = 0.02
    /// Fine-tuning on Slurm: `auto` turns it on when `sbatch` is on the PATH or `slurm_env` is set.
    var finetune = "auto"
    /// A file of `export NAME=value` lines for the Slurm commands (SLURM_CONF, …), e.g. scripts/services' env.sh.
    var slurmEnv = ""
    var trainPython = ".venv-train/bin/python"
    var slurmPartition = "", slurmAccount = "", slurmQos = "", slurmMem = "", slurmTime = "04:00:00"
    var slurmNodes = 1, slurmGpusPerNode = 1, slurmCpusPerTask = 4, slurmSignalSeconds = 300, slurmMaxRequeues = 3

    static let keys = ["host", "port", "models", "store", "tokens", "prefix", "ingest_policy", "max_concurrent", "queue",
                       "session_expiry", "session_max_expiry", "session_mib", "max_voxels", "max_upload_mib", "read_timeout",
                       "queue_timeout", "gate_margin", "finetune", "slurm_env", "train_python", "slurm_partition",
                       "slurm_account", "slurm_qos", "slurm_mem", "slurm_time", "slurm_nodes", "slurm_gpus_per_node",
                       "slurm_cpus_per_task", "slurm_signal_seconds", "slurm_max_requeues"]

    /// The file's values, then the environment's, on top of the defaults.
    static func load(file: String?, environment: [String: String] = ProcessInfo.processInfo.environment) throws -> ServeSettings {
        var values: [String: Any] = [:]
        if let file {
            let text: String
            do { text = try String(contentsOfFile: file, encoding: .utf8) } catch {
                throw ValidationError("cannot read the config file \(file): \(error.localizedDescription)")
            }
            guard let parsed = try (Yams.load(yaml: text) ?? [String: Any]()) as? [String: Any] else {
                throw ValidationError("\(file): expected a mapping of option: value")
            }
            for key in parsed.keys.sorted() where !keys.contains(key) {
                throw ValidationError("\(file): unknown option \"\(key)\"; options: \(keys.joined(separator: ", "))")
            }
            values = parsed
        }
        for key in keys {
            if let env = environment["LUMEN_" + key.uppercased()] { values[key] = key == "models" ? env.split(separator: ":").map(String.init) : env }
        }
        var s = ServeSettings()
        func string(_ key: String) throws -> String? {
            guard let v = values[key] else { return nil }
            if let text = v as? String { return text }
            if let n = v as? Int { return String(n) }
            throw ValidationError("\(key) must be text, got \(v)")
        }
        func int(_ key: String) throws -> Int? {
            guard let v = values[key] else { return nil }
            if let n = v as? Int { return n }
            if let text = v as? String, let n = Int(text) { return n }
            throw ValidationError("\(key) must be a whole number, got \(v)")
        }
        s.host = try string("host") ?? s.host
        s.port = try int("port") ?? s.port
        if let list = values["models"] as? [Any] { s.models = list.map { "\($0)" } } else if let one = try string("models") { s.models = [one] }
        s.store = try string("store") ?? environment["LUMEN_STORE"] ?? s.store
        s.tokens = try string("tokens") ?? s.tokens
        s.prefix = try string("prefix") ?? s.prefix
        if let policy = try string("ingest_policy") {
            guard let p = IngestPolicy(rawValue: policy) else { throw ValidationError("ingest_policy must be reject or scrub, got \(policy)") }
            s.ingestPolicy = p
        }
        s.maxConcurrent = try int("max_concurrent") ?? s.maxConcurrent
        s.queue = try int("queue") ?? s.queue
        s.sessionExpiry = try int("session_expiry") ?? s.sessionExpiry
        s.sessionMaxExpiry = try int("session_max_expiry") ?? s.sessionMaxExpiry
        s.sessionMiB = try int("session_mib") ?? s.sessionMiB
        s.maxVoxels = try int("max_voxels") ?? s.maxVoxels
        s.maxUploadMiB = try int("max_upload_mib") ?? s.maxUploadMiB
        s.readTimeout = try int("read_timeout") ?? s.readTimeout
        s.queueTimeout = try int("queue_timeout") ?? s.queueTimeout
        s.finetune = try string("finetune") ?? s.finetune
        s.slurmEnv = try string("slurm_env") ?? s.slurmEnv
        s.trainPython = try string("train_python") ?? s.trainPython
        s.slurmPartition = try string("slurm_partition") ?? s.slurmPartition
        s.slurmAccount = try string("slurm_account") ?? s.slurmAccount
        s.slurmQos = try string("slurm_qos") ?? s.slurmQos
        s.slurmMem = try string("slurm_mem") ?? s.slurmMem
        s.slurmTime = try string("slurm_time") ?? s.slurmTime
        s.slurmNodes = try int("slurm_nodes") ?? s.slurmNodes
        s.slurmGpusPerNode = try int("slurm_gpus_per_node") ?? s.slurmGpusPerNode
        s.slurmCpusPerTask = try int("slurm_cpus_per_task") ?? s.slurmCpusPerTask
        s.slurmSignalSeconds = try int("slurm_signal_seconds") ?? s.slurmSignalSeconds
        s.slurmMaxRequeues = try int("slurm_max_requeues") ?? s.slurmMaxRequeues
        if let v = values["gate_margin"] {
            guard let d = (v as? Double) ?? (v as? Int).map(Double.init) ?? (v as? String).flatMap(Double.init) else {
                throw ValidationError("gate_margin must be a number, got \(v)")
            }
            s.gateMargin = d
        }
        return s
    }

    /// The resolved values in the config file's own spelling (`lumen serve --print-config`): what an
    /// admin checks after layering a file, the environment and flags. The tokens file's path is shown,
    /// never its contents.
    var printed: String {
        let values: [(String, Any)] = [
            ("host", host), ("port", port), ("models", models), ("store", store), ("tokens", tokens), ("prefix", prefix.isEmpty ? "" : "(set)"),
            ("ingest_policy", ingestPolicy.rawValue), ("max_concurrent", maxConcurrent), ("queue", queue),
            ("session_expiry", sessionExpiry), ("session_max_expiry", sessionMaxExpiry), ("session_mib", sessionMiB),
            ("max_voxels", maxVoxels), ("max_upload_mib", maxUploadMiB), ("read_timeout", readTimeout),
            ("queue_timeout", queueTimeout), ("gate_margin", gateMargin), ("finetune", finetune), ("slurm_env", slurmEnv),
            ("train_python", trainPython), ("slurm_partition", slurmPartition), ("slurm_account", slurmAccount),
            ("slurm_qos", slurmQos), ("slurm_mem", slurmMem), ("slurm_time", slurmTime), ("slurm_nodes", slurmNodes),
            ("slurm_gpus_per_node", slurmGpusPerNode), ("slurm_cpus_per_task", slurmCpusPerTask),
            ("slurm_signal_seconds", slurmSignalSeconds), ("slurm_max_requeues", slurmMaxRequeues),
        ]
        assert(values.map(\.0) == Self.keys, "printed and keys list the same options")
        func quoted(_ s: String) -> String { "\"" + s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\"" }
        return values.map { key, value in
            switch value {
            case let list as [String]: "\(key): [\(list.map(quoted).joined(separator: ", "))]"
            case let text as String: "\(key): \(quoted(text))"
            default: "\(key): \(value)"
            }
        }.joined(separator: "\n")
    }

    /// Every number within what the server can honour: a typo such as a
    /// negative queue or `max_upload_mib` past 2^43 would otherwise trap at
    /// start-up or silently disable a limit.
    func validated() throws -> ServeSettings {
        let ranges: [(String, Int, ClosedRange<Int>)] = [
            ("port", port, 0...65_535), ("max_concurrent", maxConcurrent, 1...64), ("queue", queue, 0...100_000),
            ("session_expiry", sessionExpiry, 1...10_000_000), ("session_max_expiry", sessionMaxExpiry, 1...100_000_000),
            ("session_mib", sessionMiB, 1...(1 << 24)), ("max_voxels", maxVoxels, 1...(1 << 34)),
            ("max_upload_mib", maxUploadMiB, 1...(1 << 24)), ("read_timeout", readTimeout, 0...86_400),
            ("queue_timeout", queueTimeout, 1...86_400), ("slurm_nodes", slurmNodes, 1...1024),
            ("slurm_gpus_per_node", slurmGpusPerNode, 0...64), ("slurm_cpus_per_task", slurmCpusPerTask, 1...1024),
            ("slurm_signal_seconds", slurmSignalSeconds, 0...86_400), ("slurm_max_requeues", slurmMaxRequeues, 0...100),
        ]
        guard ["auto", "on", "off"].contains(finetune) else { throw ValidationError("finetune must be auto, on or off, got \(finetune)") }
        // These go into #SBATCH lines: only characters Slurm's own syntax uses.
        let safe = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "-_.:,+"))
        for (key, value) in [("slurm_partition", slurmPartition), ("slurm_account", slurmAccount), ("slurm_qos", slurmQos),
                             ("slurm_mem", slurmMem), ("slurm_time", slurmTime)]
            where value.unicodeScalars.contains(where: { !safe.contains($0) }) {
            throw ValidationError("\(key) may hold only letters, digits and - _ . : , +; got \(value)")
        }
        for (key, value, range) in ranges where !range.contains(value) {
            throw ValidationError("\(key) must be between \(range.lowerBound) and \(range.upperBound), got \(value)")
        }
        guard gateMargin.isFinite, (0...1).contains(gateMargin) else {
            throw ValidationError("gate_margin must be a Dice difference between 0 and 1, got \(gateMargin)")
        }
        return self
    }
}
