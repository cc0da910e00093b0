import ArgumentParser
import Dispatch
import Foundation
import Hummingbird
import Logging
import LumenServer
import LumenStore

struct ServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve the bundled models over AIAA v1 and MONAI Label, with the datastore.")

    @Option(help: "Address to listen on. Without --tokens only loopback addresses are allowed.")
    var host = "127.0.0.1"

    @Option(help: "Port to listen on.")
    var port = 8000

    @Option(help: "Datastore directory (default: $LUMEN_STORE or ./lumen-store).")
    var store: String = defaultStorePath()

    @Option(help: "JSON file mapping bearer tokens to {\"user\": …, \"role\": \"annotator\"|\"admin\"}.")
    var tokens: String?

    @Option(help: "What image uploads with patient data get: reject or scrub.")
    var ingestPolicy: IngestPolicy = .reject

    @Option(help: "A model bundle directory, or a directory of them (repeatable). Default: mmar.")
    var models: [String] = []

    @Option(help: "Inferences that run at once; each already uses every compute thread.")
    var maxConcurrent = 1

    @Option(help: "Inferences that may wait for a slot; more get 503 with Retry-After.")
    var queue = 8

    @Option(help: "Default session expiry in seconds (sliding: every use extends it).")
    var sessionExpiry = 3600

    @Option(help: "Longest session expiry a client may ask for, in seconds.")
    var sessionMaxExpiry = 86_400

    @Option(help: "Memory all sessions together may hold, in MiB; the least recently used go first.")
    var sessionMiB = 4096

    @Option(help: "Serve every route under this path prefix (e.g. a secret for AIAA clients, which cannot send tokens).")
    var prefix = ""

    @Option(help: "Largest accepted volume, in voxels.")
    var maxVoxels = 1 << 30

    func run() throws {
        let (configuration, datastore) = try withCLIError {
            let table = try tokens.map { try TokenTable.load(URL(fileURLWithPath: $0)) }
            var configuration = LumenApplication.Configuration(host: host, port: port, tokens: table,
                                                               ingestPolicy: ingestPolicy)
            let registry = ModelRegistry.load(roots: (models.isEmpty ? ["mmar"] : models).map { URL(fileURLWithPath: $0) })
            for name in registry.names { print("lumen: model \(name) (\(registry.models[name]!.kind.rawValue))") }
            for failure in registry.failures { print("lumen: WARNING model \(failure.directory) not loaded: \(failure.reason)") }
            configuration.inference = InferenceService(
                registry: registry, queue: InferenceQueue(concurrent: maxConcurrent, waiting: queue),
                sessions: SessionStore(defaultExpiry: TimeInterval(sessionExpiry), maxExpiry: TimeInterval(sessionMaxExpiry),
                                       byteBudget: sessionMiB << 20),
                maxVoxels: maxVoxels)
            configuration.prefix = prefix
            try LumenApplication.checkBinding(configuration)
            return (configuration, try Datastore(directory: URL(fileURLWithPath: store)))
        }
        let report = datastore.openReport
        print("lumen: datastore \(datastore.directory.path)")
        if !report.sweptTemporaryFiles.isEmpty {
            print("lumen: removed \(report.sweptTemporaryFiles.count) unfinished writes from an earlier run")
        }
        for missing in report.missingFiles { print("lumen: WARNING \(missing)") }
        if configuration.tokens == nil {
            print("lumen: no --tokens given: the server is OPEN to anyone who can reach \(host):\(port), and every request acts as admin 'local'; it listens on loopback only")
        }
        let base = "http://\(host):\(port)\(LumenApplication.normalisedPrefix(prefix))"
        print("lumen: listening on \(base)  (from a laptop: ssh -N -L \(port):127.0.0.1:\(port) <this host>, then use http://127.0.0.1:\(port)\(LumenApplication.normalisedPrefix(prefix)) as the server in Slicer's NVIDIA AIAA or MONAI Label module)")
        if let sessions = configuration.inference?.sessions {
            Task.detached {
                while true {
                    try? await Task.sleep(for: .seconds(60))
                    await sessions.sweep()
                }
            }
        }
        let app = try withCLIError { try LumenApplication.application(configuration: configuration, store: datastore) }
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
