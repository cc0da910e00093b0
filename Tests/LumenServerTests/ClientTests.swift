import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing

/// The real monailabel client (0.8.5, unmodified) against a real `lumen serve`
/// process: scripts/client_check.py does info, upload, segmentation and a
/// deepgrow session, and checks the results' geometry with nibabel.
@Suite struct ClientTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    static func run(_ executable: URL, _ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
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

    @Test(.timeLimit(.minutes(5)))
    func monailabelClientAgainstLumenServe() throws {
        let binary = ProcessInfo.processInfo.environment["LUMEN_BINARY"].map { URL(fileURLWithPath: $0) }
            ?? Self.root.appendingPathComponent(".build/debug/lumen")
        let python = Self.root.appendingPathComponent(".venv-client/bin/python")
        try #require(FileManager.default.isExecutableFile(atPath: binary.path), "build lumen first (swift build)")
        try #require(FileManager.default.isExecutableFile(atPath: python.path), "run scripts/setup_client_python (scripts/test does)")
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("lumen-client-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let made = try Self.run(binary, ["phantom", "--output", dir.appendingPathComponent("ct").path, "--count", "1",
                                         "--seed", "4242", "--size", "small"])
        try #require(made.status == 0, "\(made.output)")
        let port = 18_000 + Int.random(in: 0..<2000)
        let server = Process()
        server.executableURL = binary
        server.arguments = ["serve", "--port", String(port), "--store", dir.appendingPathComponent("store").path,
                            "--models", Self.root.appendingPathComponent("mmar").path]
        server.standardOutput = FileHandle.nullDevice
        server.standardError = FileHandle.nullDevice
        try server.run()
        defer { server.terminate(); server.waitUntilExit() }
        var up = false
        for _ in 0..<100 where !up {
            Thread.sleep(forTimeInterval: 0.1)
            up = Self.answers(URL(string: "http://127.0.0.1:\(port)/info/")!)
        }
        try #require(up, "lumen serve did not answer on port \(port)")
        let check = try Self.run(python, [Self.root.appendingPathComponent("scripts/client_check.py").path,
                                          "--server", "http://127.0.0.1:\(port)",
                                          "--image", dir.appendingPathComponent("ct/image00.nii.gz").path,
                                          "--label", dir.appendingPathComponent("ct/label00.nii.gz").path, "--value", "2"])
        #expect(check.status == 0, "\(check.output)")
        #expect(check.output.contains("client check passed"), "\(check.output)")
    }
}

final class LockedFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var flag = false
    func set() { lock.lock(); flag = true; lock.unlock() }
    var value: Bool { lock.lock(); defer { lock.unlock() }; return flag }
}
