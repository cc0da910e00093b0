import Foundation
import XCTest
@testable import LumenTunnel

final class SSHTargetTests: XCTestCase {
    func testParsesUserHostPort() throws {
        XCTAssertEqual(try SSHTarget(parsing: "ana@login.hpc.example:2222"), SSHTarget(user: "ana", host: "login.hpc.example", port: 2222))
        XCTAssertEqual(try SSHTarget(parsing: "cluster"), SSHTarget(host: "cluster"))
        XCTAssertEqual(try SSHTarget(parsing: "root@[::1]:22"), SSHTarget(user: "root", host: "::1", port: 22))
        XCTAssertThrowsError(try SSHTarget(parsing: "ana@host:99999"))
        XCTAssertThrowsError(try SSHTarget(parsing: "@host"))
    }

    func testConnectionFileAndForwardHost() throws {
        let text = #"{"job_id": "7", "node": "n1", "node_addr": "10.1.2.3", "bind": "127.0.0.1", "port": 30007, "token": "abc", "version": "0.1.0", "started": "2026-12-05T10:00:00Z"}"#
        let info = try ConnectionInfo.decode(text, source: "t")
        XCTAssertEqual(info.port, 30007)
        XCTAssertEqual(info.forwardHost, "10.1.2.3")
        var bound = info
        bound.bind = "10.9.9.9"
        XCTAssertEqual(bound.forwardHost, "10.9.9.9")
        XCTAssertThrowsError(try ConnectionInfo.decode("nope", source: "t"))
        // A port past Int32 would have trapped in libssh's C call; a host with a space is no host.
        for bad in [text.replacingOccurrences(of: "30007", with: "4294967296"), text.replacingOccurrences(of: "30007", with: "0"),
                    text.replacingOccurrences(of: "\"n1\"", with: "\"n1 -oProxyCommand=x\"")] {
            XCTAssertThrowsError(try ConnectionInfo.decode(bad, source: "t"))
        }
    }

    func testRemoteCommandsQuoteTheEnvironment() {
        XCTAssertEqual(ServerJobs.connectionFileCommand(jobID: "12", env: [("LUMEN_HOME", "/tmp/a b'c")]),
                       #"export LUMEN_HOME='/tmp/a b'\''c'; cat "${LUMEN_HOME:-$HOME/.lumen}/jobs/12.json""#)
    }
}

/// Against the real loopback sshd of scripts/services, which these tests start
/// (idempotently, in $LUMEN_SERVICES_DIR): host-key verification and exec channels.
final class LiveSSHTests: XCTestCase {
    /// The services' env file (`export NAME=value` lines), after `scripts/services start sshd`.
    /// Output goes to a file, not a pipe: the daemon it starts would hold a pipe open forever.
    static let services: Result<[String: String], Error> = Result {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("lumen-tunnel-services-\(UUID().uuidString).log")
        FileManager.default.createFile(atPath: log.path, contents: nil)
        let handle = try FileHandle(forWritingTo: log)
        let process = Process()
        process.executableURL = root.appendingPathComponent("scripts/services")
        process.arguments = ["start", "sshd"]
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        process.waitUntilExit()
        try handle.close()
        let output = try String(contentsOf: log, encoding: .utf8)
        guard process.terminationStatus == 0, let envFile = output.split(separator: "\n").last.map(String.init) else {
            throw SSHError.remoteCommand(command: "scripts/services start sshd", status: Int(process.terminationStatus), stderr: output)
        }
        var values: [String: String] = [:]
        for line in try String(contentsOfFile: envFile, encoding: .utf8).split(separator: "\n") where line.hasPrefix("export ") {
            let pair = line.dropFirst("export ".count).split(separator: "=", maxSplits: 1)
            if pair.count == 2 { values[String(pair[0])] = String(pair[1]).trimmingCharacters(in: CharacterSet(charactersIn: "'\"")) }
        }
        return values
    }
    var env: [String: String] { get throws { try Self.services.get() } }

    func options(knownHosts: String, acceptNew: Bool = false) throws -> SSHSession.Options {
        let env = try self.env
        guard let port = env["LUMEN_SSHD_PORT"].flatMap(Int.init), let key = env["LUMEN_SSH_KEY"] else {
            throw SSHError.remoteCommand(command: "scripts/services start sshd", status: 1, stderr: "no LUMEN_SSHD_PORT or LUMEN_SSH_KEY in its env file")
        }
        return SSHSession.Options(target: SSHTarget(user: env["LUMEN_SSH_USER"] ?? "root", host: "127.0.0.1", port: port),
                                  identity: key, knownHosts: knownHosts, sshConfig: "/dev/null", acceptNew: acceptNew)
    }

    func temporary(_ name: String) -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("lumen-tunnel-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir.appendingPathComponent(name).path
    }

    func testKnownKeyConnectsAndRunsACommand() throws {
        let known = try XCTUnwrap(try env["LUMEN_SSH_KNOWN_HOSTS"], "the services' env file names no known_hosts")
        let session = try SSHSession(try options(knownHosts: known))
        XCTAssertEqual(try session.exec("echo hello").trimmingCharacters(in: .whitespacesAndNewlines), "hello")
        XCTAssertThrowsError(try session.exec("exit 3")) { error in
            guard case SSHError.remoteCommand(_, let status, _) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(status, 3)
        }
    }

    func testUnknownKeyIsRefusedThenAcceptedWithAcceptNew() throws {
        let known = temporary("known_hosts")
        XCTAssertThrowsError(try SSHSession(try options(knownHosts: known))) { error in
            guard case SSHError.unknownHostKey(_, _, let fp, _) = error else { return XCTFail("\(error)") }
            XCTAssertTrue(fp.hasPrefix("SHA256:"))
            XCTAssertTrue("\(error)".contains("--accept-new"))
        }
        let recorded = (try? String(contentsOfFile: known, encoding: .utf8)) ?? ""
        XCTAssertTrue(recorded.isEmpty, "an unknown key was recorded without --accept-new")
        _ = try SSHSession(try options(knownHosts: known, acceptNew: true))
        _ = try SSHSession(try options(knownHosts: known))   // recorded: known now
    }

    func testChangedKeyIsRefusedEvenWithAcceptNew() throws {
        let opts = try options(knownHosts: "/dev/null")
        // Record another ed25519 key for the same [127.0.0.1]:port.
        let known = temporary("known_hosts")
        let other = "[127.0.0.1]:\(opts.target.port!) ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBwioAU2zes5xUggAKKcfdfxVad/f6cg+GSb+fpNSWTO"
        try (other + "\n").write(toFile: known, atomically: true, encoding: .utf8)
        for accept in [false, true] {
            XCTAssertThrowsError(try SSHSession(try options(knownHosts: known, acceptNew: accept))) { error in
                guard case SSHError.changedHostKey = error else { return XCTFail("\(error)") }
                XCTAssertTrue("\(error)".contains("HAS CHANGED"))
            }
        }
    }
}
