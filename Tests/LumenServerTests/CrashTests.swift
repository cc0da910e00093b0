import Foundation
import Testing

/// Runs scripts/live/crash_test.py against the built `lumen` binary: kill -9 during
/// concurrent label submissions, then every acknowledged label must be intact.
@Suite struct CrashTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    @Test(.timeLimit(.minutes(5)))
    func acknowledgedLabelsSurviveKill9() throws {
        let environment = ProcessInfo.processInfo.environment
        let binary = environment["LUMEN_BINARY"].map { URL(fileURLWithPath: $0) }
            ?? Self.root.appendingPathComponent(".build/debug/lumen")
        try #require(FileManager.default.isExecutableFile(atPath: binary.path),
                     "no lumen binary at \(binary.path): build it (swift build --build-tests builds it) or set LUMEN_BINARY")
        let python = (environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":")
            .map { "\($0)/python3" }.first { FileManager.default.isExecutableFile(atPath: $0) }
        let python3 = try #require(python, "python3 is not on PATH; the crash test script needs it")
        let (status, output) = try LiveServer.run(URL(fileURLWithPath: python3),
                                                  [Self.root.appendingPathComponent("scripts/live/crash_test.py").path, "--lumen", binary.path])
        #expect(status == 0, "\(output)")
        #expect(output.contains("acknowledged submissions intact"), "\(output)")
    }

    /// A serving version 2 and a failed version 3, then kill -9 and a restart on
    /// the same store: the serving version, history and states are unchanged,
    /// and a rollback to version 1 works (scripts/live/version_restart_check.py).
    @Test(.timeLimit(.minutes(5)))
    func modelVersionsSurviveKill9() throws {
        let binary = ProcessInfo.processInfo.environment["LUMEN_BINARY"].map { URL(fileURLWithPath: $0) }
            ?? Self.root.appendingPathComponent(".build/debug/lumen")
        let (status, output) = try LiveServer.run(URL(fileURLWithPath: "/usr/bin/env"),
                                                  ["python3", Self.root.appendingPathComponent("scripts/live/version_restart_check.py").path,
                                                   "--lumen", binary.path])
        #expect(status == 0, "\(output)")
        #expect(output.contains("version restart check passed"), "\(output)")
    }
}
