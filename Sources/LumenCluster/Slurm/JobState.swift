import Foundation

/// A Slurm job state as squeue `%T`, `scontrol show job` (JobState=) and sacct print it
/// (docs/cluster.md §3.3). Flag states (COMPLETING, REQUEUED, ...) are reported instead of the base
/// state and are kept as they are. `unknown` is Lumen's: the controller cannot be asked right now,
/// or it printed a word this table does not know. `lost` is Lumen's too: Slurm forgot the job and
/// nothing it left behind says how it ended.
public enum JobState: String, Sendable, Codable, CaseIterable {
    case pending = "PENDING"
    case configuring = "CONFIGURING"
    case running = "RUNNING"
    case completing = "COMPLETING"
    case completed = "COMPLETED"
    case failed = "FAILED"
    case cancelled = "CANCELLED"
    case timeout = "TIMEOUT"
    case preempted = "PREEMPTED"
    case nodeFail = "NODE_FAIL"
    case outOfMemory = "OUT_OF_MEMORY"
    case bootFail = "BOOT_FAIL"
    case deadline = "DEADLINE"
    case requeued = "REQUEUED"
    case requeueHold = "REQUEUE_HOLD"
    case requeueFed = "REQUEUE_FED"
    case resvDelHold = "RESV_DEL_HOLD"
    case resizing = "RESIZING"
    case suspended = "SUSPENDED"
    case stopped = "STOPPED"
    case signaling = "SIGNALING"
    case stageOut = "STAGE_OUT"
    case specialExit = "SPECIAL_EXIT"
    case revoked = "REVOKED"
    case unknown = "UNKNOWN"
    case lost = "LOST"

    /// Parses what Slurm prints: `CANCELLED by 0` (sacct) is CANCELLED, `CANCELLED+` (truncated sacct
    /// columns) too; short codes (`PD`, `R`, `CG`, ... from squeue `%t`) are accepted as well.
    public init(slurm text: String) {
        let word = text.trimmingCharacters(in: .whitespaces).split(separator: " ").first.map(String.init) ?? ""
        let name = word.uppercased().trimmingCharacters(in: CharacterSet(charactersIn: "+"))
        if let state = JobState(rawValue: name) {
            self = state
        } else if let state = Self.shortCodes[name] {
            self = state
        } else {
            self = .unknown
        }
    }

    static let shortCodes: [String: JobState] = [
        "PD": .pending, "CF": .configuring, "R": .running, "CG": .completing, "CD": .completed, "F": .failed,
        "CA": .cancelled, "TO": .timeout, "PR": .preempted, "NF": .nodeFail, "OOM": .outOfMemory, "BF": .bootFail,
        "DL": .deadline, "RQ": .requeued, "RH": .requeueHold, "RF": .requeueFed, "RD": .resvDelHold, "RS": .resizing,
        "S": .suspended, "ST": .stopped, "SI": .signaling, "SO": .stageOut, "SE": .specialExit, "RV": .revoked,
    ]

    /// The job will not run again by itself (a requeue is a new, non-final state).
    public var isFinal: Bool {
        switch self {
        case .completed, .failed, .cancelled, .timeout, .preempted, .nodeFail, .outOfMemory, .bootFail, .deadline,
             .specialExit, .revoked, .lost:
            true
        default:
            false
        }
    }

    public var isSuccess: Bool { self == .completed }

    /// Waiting to (re)start.
    public var isQueued: Bool {
        [.pending, .configuring, .requeued, .requeueHold, .requeueFed, .resvDelHold].contains(self)
    }

    /// Holding nodes.
    public var isActive: Bool {
        [.running, .completing, .signaling, .stageOut, .suspended, .stopped, .resizing].contains(self)
    }
}

/// `ExitCode=E:S` (scontrol, sacct, jobcomp): E is the batch script's exit status, S the number of the
/// signal that killed it (0 if none). A shell reports death by signal N as status 128+N (137 = SIGKILL):
/// `terminatingSignal` decodes both.
public struct ExitStatus: Sendable, Equatable, Hashable, CustomStringConvertible {
    public var status: Int
    public var signal: Int

    public init(status: Int, signal: Int = 0) {
        self.status = status
        self.signal = signal
    }

    /// `"3:0"`, `"0:15"`; nil for anything else.
    public init?(slurm text: String) {
        let parts = text.trimmingCharacters(in: .whitespaces).split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, let e = Int(parts[0]), let s = Int(parts[1]), e >= 0, s >= 0 else { return nil }
        self.init(status: e, signal: s)
    }

    /// A raw wait status (slurmrestd's `exit_code`, §3.4): 256 is status 1, 9 is SIGKILL.
    public init(waitStatus st: Int) {
        if st & 0x7f == 0 { self.init(status: (st >> 8) & 0xff) } else { self.init(status: 0, signal: st & 0x7f) }
    }

    /// Slurm's own spelling, `E:S`.
    public var slurmText: String { "\(status):\(signal)" }

    /// The signal that ended the script: Slurm's S, or a shell's 128+N.
    public var terminatingSignal: Int? {
        if signal != 0 { return signal }
        if status > 128, status <= 128 + 64 { return status - 128 }
        return nil
    }

    public var isSuccess: Bool { status == 0 && signal == 0 }

    public var description: String {
        if let sig = terminatingSignal {
            let name = Self.signalNames[sig].map { " (\($0))" } ?? ""
            return signal != 0 ? "killed by signal \(sig)\(name)" : "exit status \(status) = 128+\(sig)\(name)"
        }
        return "exit status \(status)"
    }

    public static let signalNames: [Int: String] = [
        1: "SIGHUP", 2: "SIGINT", 3: "SIGQUIT", 4: "SIGILL", 6: "SIGABRT", 7: "SIGBUS", 8: "SIGFPE", 9: "SIGKILL",
        10: "SIGUSR1", 11: "SIGSEGV", 12: "SIGUSR2", 13: "SIGPIPE", 14: "SIGALRM", 15: "SIGTERM", 18: "SIGCONT",
        19: "SIGSTOP", 24: "SIGXCPU", 25: "SIGXFSZ",
    ]
}

/// One job as the controller describes it. Fields a command does not print stay nil.
public struct SlurmJobInfo: Sendable, Equatable {
    public var jobID: String
    public var state: JobState
    /// The state word as printed (`CANCELLED by 0`), for logs.
    public var stateText: String
    /// `None` is mapped to nil.
    public var reason: String?
    public var exitCode: ExitStatus?
    public var nodeList: String?
    public var runTime: String?
    public var timeLimit: String?
    public var restarts: Int?
    public var batchHost: String?

    public init(jobID: String, state: JobState, stateText: String? = nil, reason: String? = nil,
                exitCode: ExitStatus? = nil, nodeList: String? = nil, runTime: String? = nil,
                timeLimit: String? = nil, restarts: Int? = nil, batchHost: String? = nil) {
        self.jobID = jobID
        self.state = state
        self.stateText = stateText ?? state.rawValue
        self.reason = reason
        self.exitCode = exitCode
        self.nodeList = nodeList
        self.runTime = runTime
        self.timeLimit = timeLimit
        self.restarts = restarts
        self.batchHost = batchHost
    }
}

/// Parsers for the three commands' outputs; pure, so fixtures of real lines test them.
public enum SlurmOutput {
    /// The squeue format SlurmClient asks for.
    public static let squeueFormat = "%i|%T|%r|%N|%M|%l"

    /// One `squeue -h -o '%i|%T|%r|%N|%M|%l'` line.
    public static func parseSqueueLine(_ line: String) -> SlurmJobInfo? {
        let f = line.split(separator: "|", omittingEmptySubsequences: false).map {
            String($0).trimmingCharacters(in: .whitespaces)
        }
        guard f.count >= 2, !f[0].isEmpty else { return nil }
        func field(_ i: Int) -> String? { i < f.count ? nonEmpty(f[i]) : nil }
        return SlurmJobInfo(jobID: f[0], state: JobState(slurm: f[1]), stateText: f[1], reason: reasonText(field(2)),
                            nodeList: field(3), runTime: field(4), timeLimit: field(5))
    }

    /// `scontrol -o show job ID`: one line of Key=Value tokens. Values such as Command= or WorkDir= may
    /// hold spaces, so only known keys are read.
    public static func parseScontrol(_ text: String) -> SlurmJobInfo? {
        let values = keyValues(text, keys: ["JobId", "JobState", "Reason", "ExitCode", "NodeList", "RunTime",
                                            "TimeLimit", "Restarts", "BatchHost"])
        guard let id = values["JobId"], let stateText = values["JobState"] else { return nil }
        return SlurmJobInfo(jobID: id, state: JobState(slurm: stateText), stateText: stateText,
                            reason: reasonText(values["Reason"]), exitCode: values["ExitCode"].flatMap(ExitStatus.init(slurm:)),
                            nodeList: nonEmpty(values["NodeList"] ?? "").flatMap { $0 == "(null)" ? nil : $0 },
                            runTime: values["RunTime"], timeLimit: values["TimeLimit"],
                            restarts: values["Restarts"].flatMap { Int($0) },
                            batchHost: values["BatchHost"].flatMap { $0 == "(null)" ? nil : nonEmpty($0) })
    }

    /// `sacct -X -n -P -o JobID,State,ExitCode,Reason,NodeList,Elapsed,Timelimit` (one allocation line).
    public static let sacctFields = "JobID,State,ExitCode,Reason,NodeList,Elapsed,Timelimit"

    public static func parseSacctLine(_ line: String) -> SlurmJobInfo? {
        let f = line.split(separator: "|", omittingEmptySubsequences: false).map(String.init)
        guard f.count >= 3, !f[0].isEmpty else { return nil }
        func field(_ i: Int) -> String? { i < f.count ? nonEmpty(f[i]) : nil }
        return SlurmJobInfo(jobID: f[0], state: JobState(slurm: f[1]), stateText: f[1], reason: reasonText(field(3)),
                            exitCode: ExitStatus(slurm: f[2]), nodeList: field(4), runTime: field(5), timeLimit: field(6))
    }

    /// `JobId=5 JobName=x ... JobState=RUNNING Reason=None ...` → the requested keys' values.
    static func keyValues(_ text: String, keys: Set<String>) -> [String: String] {
        var out: [String: String] = [:]
        for token in text.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\t" }) {
            guard let eq = token.firstIndex(of: "=") else { continue }
            let key = String(token[..<eq])
            if keys.contains(key), out[key] == nil { out[key] = String(token[token.index(after: eq)...]) }
        }
        return out
    }

    static func nonEmpty(_ s: String) -> String? { s.isEmpty ? nil : s }

    static func reasonText(_ s: String?) -> String? {
        guard let s, !s.isEmpty, s != "None", s != "(null)" else { return nil }
        return s
    }
}
