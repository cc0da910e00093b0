import Foundation
import Hummingbird
import HummingbirdTesting
import LumenServer
import LumenStore
import Testing

/// One typed configuration: `lumen serve` resolves defaults < config file < LUMEN_* environment <
/// flags (checked through the real binary's --print-config), and the upload limits it resolves
/// reach every route that stores a file.
@Suite("Settings: precedence and upload limits")
struct SettingsTests {
    /// Runs `lumen serve --print-config` with exactly this environment; returns key → printed value.
    static func resolved(file: String?, environment: [String: String], flags: [String]) throws -> (status: Int32, values: [String: String], output: String) {
        let directory = temporaryDirectory()   // no config/lumen.yaml to pick up
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let (status, output) = try LiveServer.run(LiveServer.binary, ["serve", "--print-config"] + (file.map { ["--config", $0] } ?? []) + flags,
                                                  environment: environment.merging(["PATH": "/usr/bin:/bin"]) { a, _ in a },
                                                  directory: directory)
        var values: [String: String] = [:]
        for line in output.split(separator: "\n") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            values[String(line[..<colon])] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        return (status, values, output)
    }

    static func configFile(_ text: String) throws -> String {
        let url = temporaryDirectory().appendingPathExtension("yaml")
        try text.write(to: url, atomically: true, encoding: .utf8)
        return url.path
    }

    @Test("defaults < file < environment < flag", arguments: [
        // (file, environment, flags, key, expected)
        (nil as String?, [String: String](), [String](), "queue", "8"),
        ("queue: 3\n", [:], [], "queue", "3"),
        ("queue: 3\n", ["LUMEN_QUEUE": "5"], [], "queue", "5"),
        ("queue: 3\n", ["LUMEN_QUEUE": "5"], ["--queue", "7"], "queue", "7"),
        ("max_voxels: 1000\n", [:], [], "max_voxels", "1000"),
        ("max_voxels: 1000\n", ["LUMEN_MAX_VOXELS": "2000"], ["--max-voxels", "3000"], "max_voxels", "3000"),
        ("max_upload_mib: 64\n", ["LUMEN_MAX_UPLOAD_MIB": "32"], [], "max_upload_mib", "32"),
        ("slurm_time: \"01:00:00\"\n", [:], [], "slurm_time", "\"01:00:00\""),
        ("slurm_max_requeues: 1\n", ["LUMEN_SLURM_MAX_REQUEUES": "0"], [], "slurm_max_requeues", "0"),
        ("gate_margin: 0.05\n", [:], ["--gate-margin", "0.01"], "gate_margin", "0.01"),
    ])
    func precedence(file: String?, environment: [String: String], flags: [String], key: String, expected: String) throws {
        let result = try Self.resolved(file: try file.map(Self.configFile), environment: environment, flags: flags)
        #expect(result.status == 0, "\(result.output)")
        #expect(result.values[key] == expected, "\(result.output)")
    }

    @Test("a wrong option is refused at start-up, naming it", arguments: [
        ("queu: 3\n", [String: String](), "unknown option \"queu\""),
        ("queue: -1\n", [:], "queue must be between 0 and 100000"),
        ("", ["LUMEN_MAX_VOXELS": "lots"], "max_voxels must be a whole number"),
        ("", ["LUMEN_SLURM_MAX_REQUEUES": "101"], "slurm_max_requeues must be between 0 and 100"),
    ])
    func refused(file: String, environment: [String: String], message: String) throws {
        let result = try Self.resolved(file: try Self.configFile(file), environment: environment, flags: [])
        #expect(result.status != 0)
        #expect(result.output.contains(message), "\(result.output)")
    }

    static func app(_ store: Datastore, _ limits: UploadLimits) -> some ApplicationProtocol {
        var configuration = LumenApplication.Configuration()
        configuration.limits = limits
        return Application(router: LumenApplication.router(configuration: configuration, store: store))
    }

    @Test("max_upload_mib and max_voxels hold on PUT /datastore/image and /datastore/label")
    func datastoreLimits() async throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let store = try Datastore(directory: dir)
        let image = tinyNIfTI()   // 6 × 5 × 4 = 120 voxels, 472 bytes
        // Within both limits: stored, so the label routes below have an image.
        try await Self.app(store, UploadLimits(maxUploadBytes: 4096, maxVoxels: 120)).test(.router) { client in
            try await client.execute(uri: "/datastore/image?image=ct", method: .put, headers: .form(),
                                     body: Form.body(field: "file", fileName: "ct.nii", file: image)) { #expect($0.status == .ok, "\(detail($0))") }
        }
        try await Self.app(store, UploadLimits(maxUploadBytes: 300, maxVoxels: 120)).test(.router) { client in
            for (path, field) in [("/datastore/image?image=big", "file"), ("/datastore/label?image=ct", "label")] {
                try await client.execute(uri: path, method: .put, headers: .form(),
                                         body: Form.body(field: field, fileName: "x.nii", file: image)) {
                    #expect($0.status == .contentTooLarge, "\(path): \(detail($0))")
                    #expect(detail($0).contains("MiB"))
                }
            }
        }
        try await Self.app(store, UploadLimits(maxUploadBytes: 4096, maxVoxels: 119)).test(.router) { client in
            for (path, field) in [("/datastore/image?image=big", "file"), ("/datastore/label?image=ct", "label")] {
                try await client.execute(uri: path, method: .put, headers: .form(),
                                         body: Form.body(field: field, fileName: "x.nii", file: image)) {
                    #expect((400..<500).contains($0.status.code), "\(path): \($0.status)")
                    #expect(detail($0).contains("voxels"), "\(path): \(detail($0))")
                }
            }
        }
        #expect(try store.image(id: "big") == nil)
        #expect(try store.labels(imageID: "ct").isEmpty)
    }

    @Test("ingest holds max_voxels")
    func ingestLimit() throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let store = try Datastore(directory: dir.appendingPathComponent("store"))
        let file = dir.appendingPathComponent("ct.nii")
        try Data(tinyNIfTI()).write(to: file)
        #expect(throws: (any Error).self) { try Ingestor(store: store, user: "t", maxVoxels: 119).ingest(path: file, label: "input 1") }
        #expect(try Ingestor(store: store, user: "t", maxVoxels: 120).ingest(path: file, label: "input 1").count == 1)
    }
}
