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
        abstract: "Serve the MONAI Label datastore API over HTTP.")

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

    func run() throws {
        let (configuration, datastore) = try withCLIError {
            let table = try tokens.map { try TokenTable.load(URL(fileURLWithPath: $0)) }
            let configuration = LumenApplication.Configuration(host: host, port: port, tokens: table,
                                                               ingestPolicy: ingestPolicy)
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
        print("lumen: listening on http://\(host):\(port)  (from a laptop: ssh -L \(port):127.0.0.1:\(port) <this host>, then use http://127.0.0.1:\(port) in Slicer)")
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
