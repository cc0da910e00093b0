import Foundation

/// The demo runs the real server as its own process, exactly as an admin would.
final class DemoServer {
    let process: Process

    private init(process: Process) { self.process = process }

    static func start(port: Int, store: URL, models: [String]) throws -> DemoServer {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        process.arguments = ["serve", "--host", "127.0.0.1", "--port", String(port), "--store", store.path]
            + models.flatMap { ["--models", $0] }
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        return DemoServer(process: process)
    }

    func waitUntilUp(_ client: DemoClient) async throws {
        for _ in 0..<300 {
            if (try? await client.get("/v1/models")) != nil { return }
            guard process.isRunning else { throw DemoError.server("lumen serve exited (status \(process.terminationStatus)); is the port in use? try --port") }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw DemoError.server("lumen serve did not answer within 30 s")
    }

    func stop() {
        if process.isRunning { process.terminate(); process.waitUntilExit() }
    }
}
