import Foundation

public enum SlurmError: Error, Equatable, CustomStringConvertible, LocalizedError {
    /// slurmctld did not answer ("Unable to contact slurm controller", connection refused, socket timeout).
    /// Transient: callers retry and report the job as UNKNOWN meanwhile.
    case controllerUnreachable(command: String, message: String)
    /// The command ran and refused (bad option, unknown partition, invalid job id, ...): its stderr.
    case commandFailed(command: String, status: Int32, message: String)
    /// The command ran past its time limit and was killed.
    case timedOut(command: String, seconds: Double)
    /// It printed something this client cannot read.
    case unexpectedOutput(command: String, output: String)
    /// The command could not be started (not installed, not on PATH).
    case unavailable(command: String, reason: String)

    public var isTransient: Bool {
        switch self {
        case .controllerUnreachable, .timedOut: true
        default: false
        }
    }

    public var description: String {
        switch self {
        case .controllerUnreachable(let command, let message):
            "slurm controller unreachable (\(command)): \(message)"
        case .commandFailed(let command, let status, let message):
            "\(command) failed (exit \(status)): \(message)"
        case .timedOut(let command, let seconds):
            "\(command) did not finish within \(Int(seconds)) s"
        case .unexpectedOutput(let command, let output):
            "\(command) printed something unexpected: \(output.prefix(200))"
        case .unavailable(let command, let reason):
            "\(command) is not available: \(reason)"
        }
    }

    public var errorDescription: String? { description }

    /// What Slurm's clients print when slurmctld is down or unreachable (docs/cluster.md §9).
    static let unreachableMarkers = [
        "unable to contact slurm controller", "connection refused", "connect failure",
        "socket timed out", "zero bytes were transmitted", "slurm_receive_msg", "communication connection failure",
    ]

    static func classify(command: String, result: CommandResult) -> SlurmError {
        let message = result.stderr.trimmingCharacters(in: .whitespacesAndNewlines)
        let shown = message.isEmpty ? result.stdout.trimmingCharacters(in: .whitespacesAndNewlines) : message
        let lower = shown.lowercased()
        if unreachableMarkers.contains(where: lower.contains) {
            return .controllerUnreachable(command: command, message: shown)
        }
        return .commandFailed(command: command, status: result.status, message: shown)
    }
}

/// Exponential backoff for transient failures: delay = initial × 2^(attempt-1), at most `maxDelay`.
public struct RetryPolicy: Sendable, Equatable {
    public var attempts: Int
    public var initialDelay: Duration
    public var maxDelay: Duration

    public init(attempts: Int = 3, initialDelay: Duration = .seconds(1), maxDelay: Duration = .seconds(30)) {
        self.attempts = max(1, attempts)
        self.initialDelay = initialDelay
        self.maxDelay = maxDelay
    }

    public static let none = RetryPolicy(attempts: 1)

    /// The wait after the `failures`-th consecutive failure (1-based).
    public func delay(afterFailures failures: Int) -> Duration {
        let factor = 1 << min(max(failures - 1, 0), 20)
        let d = initialDelay * factor
        return d > maxDelay ? maxDelay : d
    }
}
