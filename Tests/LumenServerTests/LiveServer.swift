import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing

/// A real `lumen serve` process on a random loopback port, with a phantom CT to
/// send it: what the Python protocol checks (the real monailabel client, the
/// AIAA byte replay, the load and responsiveness checks) run against.
final class LiveServer {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static var binary: URL {
        ProcessInfo.processInfo.environment["LUMEN_BINARY"].map { URL(fileURLWithPath: $0) }
            ?? root.appendingPathComponent(".build/debug/lumen")
    }
    static var python: URL { root.appendingPathComponent(".venv-client/bin/python") }

    let directory: URL
    let port: Int
    let process: Process
    var url: String { "http://127.0.0.1:\(port)" }
    var pid: Int32 { process.processIdentifier }

    init(arguments: [String] = []) throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.binary.path), "build lumen first (swift build)")
        try #require(FileManager.default.isExecutableFile(atPath: Self.python.path), "run scripts/env/setup_client_python (scripts/test does)")
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("lumen-live-\(UUID().uuidString)")
        port = 18_000 + Int.random(in: 0..<4000)
        process = Process()
        process.executableURL = Self.binary
        process.arguments = ["serve", "--port", String(port), "--store", directory.appendingPathComponent("store").path,
                             "--models", Self.root.appendingPathComponent("mmar").path] + arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        var up = false
        for _ in 0..<150 where !up {
            Thread.sleep(forTimeInterval: 0.1)
            up = Self.answers(URL(string: "http://127.0.0.1:\(port)/info/")!)
        }
        try #require(up, "lumen serve did not answer on port \(port)")
    }

    deinit {
        process.terminate()
        process.waitUntilExit()
        try? FileManager.default.removeItem(at: directory)
    }

    /// A phantom (image, label) pair; `small` is 2 mm, `full` the 0.6–1 mm × 1–5 mm CT.
    func phantom(seed: Int, size: String = "small") throws -> (image: String, label: String) {
        let out = directory.appendingPathComponent("ct-\(seed)-\(size)")
        let made = try Self.run(Self.binary, ["phantom", "--output", out.path, "--count", "1", "--seed", String(seed), "--size", size])
        try #require(made.status == 0, "\(made.output)")
        return (out.appendingPathComponent("image00.nii.gz").path, out.appendingPathComponent("label00.nii.gz").path)
    }

    /// Runs a script from scripts/ with the client venv's Python; its last line must be `success`.
    func script(_ name: String, _ arguments: [String], success: String) throws -> String {
        let result = try Self.run(Self.python, [Self.root.appendingPathComponent("scripts/live/\(name)").path, "--server", url] + arguments)
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output.contains(success), "\(result.output)")
        #expect(process.isRunning, "lumen serve died during \(name)")
        return result.output
    }

    /// Runs to the end; stdout and stderr together. `environment` nil: this process's; `directory` nil: this one's.
    static func run(_ executable: URL, _ arguments: [String], environment: [String: String]? = nil,
                    directory: URL? = nil) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        if let environment { process.environment = environment }
        if let directory { process.currentDirectoryURL = directory }
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus, output)
    }

    static func answers(_ url: URL) -> Bool {
        let done = DispatchSemaphore(value: 0)
        let ok = LockedFlag()
        URLSession.shared.dataTask(with: url) { _, response, _ in
            if (response as? HTTPURLResponse)?.statusCode == 200 { ok.set() }
            done.signal()
        }.resume()
        done.wait()
        return ok.value
    }
}

final class LockedFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var flag = false
    func set() { lock.lock(); flag = true; lock.unlock() }
    var value: Bool { lock.lock(); defer { lock.unlock() }; return flag }
}
