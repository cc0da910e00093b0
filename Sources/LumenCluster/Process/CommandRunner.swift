import Dispatch
import Foundation

/// What a finished command printed and how it ended.
public struct CommandResult: Sendable, Equatable {
    public var status: Int32
    public var stdout: String
    public var stderr: String
    /// The command ran past its time limit and was killed.
    public var timedOut: Bool

    public init(status: Int32, stdout: String, stderr: String, timedOut: Bool = false) {
        self.status = status
        self.stdout = stdout
        self.stderr = stderr
        self.timedOut = timedOut
    }
}

/// Runs scheduler commands. `LocalCommandRunner` starts them here; a runner over SSH
/// (LumenSSH) can stand in for it on a login node without changing the Slurm code.
public protocol CommandRunner: Sendable {
    /// `environment` is added to (and overrides) the runner's own environment.
    func run(_ command: String, _ arguments: [String], environment: [String: String],
             timeout: Duration) async throws -> CommandResult
}

public enum CommandRunnerError: Error, Equatable, CustomStringConvertible {
    case notFound(command: String, path: String)
    case launchFailed(command: String, reason: String)

    public var description: String {
        switch self {
        case .notFound(let command, let path): "\(command): not found on PATH (\(path))"
        case .launchFailed(let command, let reason): "\(command) could not be started: \(reason)"
        }
    }
}

/// Starts commands with Foundation's Process on threads Lumen owns (never the cooperative pool,
/// whose few threads must not sit in waitpid). A command over its limit gets SIGTERM, then SIGKILL.
public struct LocalCommandRunner: CommandRunner {
    /// Lumen's own threads for blocking process work: waiting for exit and draining pipes.
    static let queue = DispatchQueue(label: "lumen.cluster.process", qos: .utility, attributes: .concurrent)

    public var baseEnvironment: [String: String]

    public init(baseEnvironment: [String: String] = ProcessInfo.processInfo.environment) {
        self.baseEnvironment = baseEnvironment
    }

    public func run(_ command: String, _ arguments: [String], environment: [String: String],
                    timeout: Duration) async throws -> CommandResult {
        let env = baseEnvironment.merging(environment) { _, new in new }
        let executable = try Self.resolve(command, path: env["PATH"] ?? "/usr/local/bin:/usr/bin:/bin")
        return try await withCheckedThrowingContinuation { continuation in
            Self.queue.async {
                continuation.resume(with: Result {
                    try Self.runBlocking(executable, arguments, environment: env, timeout: timeout, name: command)
                })
            }
        }
    }

    static func resolve(_ command: String, path: String) throws -> URL {
        if command.contains("/") { return URL(fileURLWithPath: command) }
        for dir in path.split(separator: ":") {
            let candidate = "\(dir)/\(command)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return URL(fileURLWithPath: candidate) }
        }
        throw CommandRunnerError.notFound(command: command, path: path)
    }

    static func runBlocking(_ executable: URL, _ arguments: [String], environment: [String: String],
                            timeout: Duration, name: String) throws -> CommandResult {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.environment = environment
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        let exited = DispatchSemaphore(value: 0)
        process.terminationHandler = { _ in exited.signal() }
        do { try process.run() } catch {
            throw CommandRunnerError.launchFailed(command: name, reason: "\(error)")
        }
        // Drain both pipes while the command runs, so a chatty one never blocks on a full pipe.
        let drained = DispatchGroup()
        let stdoutBox = DataBox(), stderrBox = DataBox()
        for (pipe, box) in [(out, stdoutBox), (err, stderrBox)] {
            queue.async(group: drained) { box.data = pipe.fileHandleForReading.readDataToEndOfFile() }
        }
        var timedOut = false
        if exited.wait(timeout: .now() + timeout.dispatchInterval) == .timedOut {
            timedOut = true
            process.terminate()
            if exited.wait(timeout: .now() + 2) == .timedOut {
                kill(process.processIdentifier, SIGKILL)
                exited.wait()
            }
        }
        // A grandchild holding the pipes open must not hold us forever.
        _ = drained.wait(timeout: .now() + 5)
        return CommandResult(status: process.terminationStatus,
                             stdout: String(decoding: stdoutBox.data, as: UTF8.self),
                             stderr: String(decoding: stderrBox.data, as: UTF8.self),
                             timedOut: timedOut)
    }
}

/// Written by one drain task, read after the group is waited on.
private final class DataBox: @unchecked Sendable {
    var data = Data()
}

extension Duration {
    var dispatchInterval: DispatchTimeInterval {
        let (s, attos) = components
        return .nanoseconds(Int(clamping: s * 1_000_000_000 + attos / 1_000_000_000))
    }

    var seconds: Double {
        let (s, attos) = components
        return Double(s) + Double(attos) / 1e18
    }
}
