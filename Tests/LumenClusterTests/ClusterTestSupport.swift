import Foundation
import Logging
@testable import LumenCluster
import LumenStore
import Testing

let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()
let fixturesDir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")

func temporaryDirectory(_ name: String) -> URL {
    let url = URL(fileURLWithPath: NSTemporaryDirectory())
        .appendingPathComponent("lumen-cluster-\(name)-\(UUID().uuidString.prefix(8))", isDirectory: true)
    try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}

/// Runs a command to completion (test plumbing; the code under test has its own runner).
@discardableResult
func sh(_ command: String, environment: [String: String] = [:], timeout: Duration = .seconds(300)) async throws -> CommandResult {
    try await LocalCommandRunner().run("/bin/bash", ["-c", command], environment: environment, timeout: timeout)
}

/// The one-machine test cluster of scripts/services (munge, slurmctld, slurmd n1/n2 with fake GPUs),
/// started once per test process. Nothing is skipped: if Slurm does not come up, tests fail with
/// the script's output. Its files live in $LUMEN_SERVICES_DIR (default /tmp/lumen-slurm-cluster-tests,
/// apart from scripts/live/test_slurm.sh's default so the two never stop each other's daemons).
actor TestCluster {
    static let shared = TestCluster()

    struct Started: Sendable {
        var environment: [String: String]
        var servicesDir: URL
        var slurmDir: URL { servicesDir.appendingPathComponent("slurm") }
    }

    private var started: Task<Started, Error>?

    static var servicesDir: URL {
        URL(fileURLWithPath: ProcessInfo.processInfo.environment["LUMEN_SERVICES_DIR"] ?? "/tmp/lumen-slurm-cluster-tests")
    }

    func start() async throws -> Started {
        if let started { return try await started.value }
        let task = Task { try await Self.startServices() }
        started = task
        return try await task.value
    }

    private static func startServices() async throws -> Started {
        let dir = servicesDir
        let script = repoRoot.appendingPathComponent("scripts/services").path
        // Output to a file: daemons it starts (munged) may keep inherited pipes open for ever.
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let log = dir.appendingPathComponent("services-start.log").path
        let result = try await sh("'\(script)' start slurm > '\(log)' 2>&1 < /dev/null",
                                  environment: ["LUMEN_SERVICES_DIR": dir.path])
        guard result.status == 0 else {
            let output = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            throw TestFailure("scripts/services start slurm failed (exit \(result.status)):\n\(output)")
        }
        let envFile = dir.appendingPathComponent("env.sh")
        let env = try SlurmClient.environment(fromEnvFile: envFile)
        guard env["SLURM_CONF"] != nil else {
            throw TestFailure("\(envFile.path) exports no SLURM_CONF:\n\(result.stderr)")
        }
        return Started(environment: env, servicesDir: dir)
    }

    /// A client for the test cluster: short timeouts, no retries unless asked.
    func client(retry: RetryPolicy = .none) async throws -> SlurmClient {
        let s = try await start()
        return SlurmClient(environment: s.environment, commandTimeout: .seconds(40), retry: retry)
    }

    // MARK: controller outage

    /// SIGTERM slurmctld (it saves its state) and wait until it is gone.
    func stopController() async throws {
        let s = try await start()
        let pidText = try String(contentsOf: s.slurmDir.appendingPathComponent("slurmctld.pid"), encoding: .utf8)
        guard let pid = Int32(pidText.trimmingCharacters(in: .whitespacesAndNewlines)) else {
            throw TestFailure("no slurmctld pid in \(s.slurmDir.path)")
        }
        kill(pid, SIGTERM)
        for _ in 0..<100 {
            if !Self.alive(pid) { return }
            try await Task.sleep(for: .milliseconds(200))
        }
        throw TestFailure("slurmctld \(pid) still running 20 s after SIGTERM")
    }

    /// scripts/services' command line without `-c`, so the controller recovers its jobs from StateSaveLocation.
    func startController() async throws {
        let s = try await start()
        let d = s.slurmDir.path
        let r = try await sh("setsid nohup slurmctld -D > '\(d)/slurmctld.stderr' 2>&1 < /dev/null & echo $! > '\(d)/slurmctld.pid'",
                             environment: s.environment)
        guard r.status == 0 else { throw TestFailure("cannot restart slurmctld: \(r.stderr)") }
        for _ in 0..<100 {
            let ping = try await sh("scontrol ping", environment: s.environment, timeout: .seconds(30))
            if ping.stdout.contains("UP") { return }
            try await Task.sleep(for: .milliseconds(300))
        }
        throw TestFailure("slurmctld did not answer after restart; see \(d)/slurmctld.log")
    }

    static func alive(_ pid: Int32) -> Bool {
        guard kill(pid, 0) == 0 else { return false }
        // A zombie (no init reaping in a container) counts as gone.
        let stat = (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)) ?? ""
        if let close = stat.lastIndex(of: ")") {
            let rest = stat[stat.index(after: close)...].trimmingCharacters(in: .whitespaces)
            if rest.hasPrefix("Z") { return false }
        }
        return true
    }
}

/// A store with a job row for a small batch script (not training), as the monitor sees jobs.
struct ScriptJob {
    let store: Datastore
    let client: SlurmClient
    let dir: URL

    init(_ name: String, client: SlurmClient, store: Datastore? = nil) throws {
        dir = temporaryDirectory(name)
        self.store = try store ?? Datastore(directory: dir.appendingPathComponent("store"))
        self.client = client
    }

    /// Writes `body` as a batch script, submits it, and records a job row. Returns (Lumen id, Slurm id).
    func submit(_ id: String, body: String, options: [String] = []) async throws -> (String, String) {
        let runDir = dir.appendingPathComponent(id, isDirectory: true)
        try FileManager.default.createDirectory(at: runDir, withIntermediateDirectories: true)
        let script = runDir.appendingPathComponent("job.sh")
        try Data("#!/bin/bash\n#SBATCH --job-name=lumen-test-\(id)\n#SBATCH --output=\(runDir.path)/slurm-%j.out\n\(body)\n".utf8)
            .write(to: script)
        let slurmID = try await client.submit(script: script, arguments: ["--chdir=\(runDir.path)"] + options)
        try store.insertJob(FinetuneJobRecord(id: id, slurmJobID: slurmID, modelName: "test", baseVersion: nil,
                                              runDir: runDir.path, state: "PENDING", submittedBy: "tester"))
        return (id, slurmID)
    }
}

/// Collects what a monitor reports; tests wait on it.
actor Recorder {
    var updates: [JobMonitor.Update] = []
    var finished: [FinetuneJobRecord] = []

    func add(_ u: JobMonitor.Update) { updates.append(u) }
    func add(_ f: FinetuneJobRecord) { finished.append(f) }

    func finished(_ id: String) -> FinetuneJobRecord? { finished.first { $0.id == id } }
    func finishCount(_ id: String) -> Int { finished.filter { $0.id == id }.count }
    func updates(_ id: String) -> [JobMonitor.Update] { updates.filter { $0.jobID == id } }

    func monitor(store: Datastore, client: SlurmClient, interval: Duration = .seconds(1),
                 maxBackoff: Duration = .seconds(4)) -> JobMonitor {
        JobMonitor(store: store, slurm: client, options: .init(pollInterval: interval, maxBackoff: maxBackoff),
                   onUpdate: { u in await self.add(u) }, onFinished: { f in await self.add(f) })
    }
}

/// Polls `condition` every 0.5 s until it holds or `timeout` passes.
func eventually(_ what: String, timeout: Duration, _ condition: @Sendable () async throws -> Bool) async throws {
    let clock = ContinuousClock()
    let deadline = clock.now + timeout
    while clock.now < deadline {
        if try await condition() { return }
        try await Task.sleep(for: .milliseconds(500))
    }
    throw TestFailure("timed out after \(timeout) waiting for: \(what)")
}
