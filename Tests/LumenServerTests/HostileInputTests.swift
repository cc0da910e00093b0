import Foundation
import Hummingbird
import HummingbirdTesting
import LumenServer
import LumenStore
import Testing
import ZIPFoundation

/// Every input that ever killed `lumen serve` or got a 500, replayed through
/// the real router. Before the fixes each of these trapped the process (or
/// allocated gigabytes); now each gets the 4xx (or 200) the manifest names,
/// with a message, and the server goes on.
@Suite("hostile input", .serialized)
struct HostileInputTests {
    struct Case: Decodable, CustomTestStringConvertible, Sendable {
        var name: String, file: String, file_name: String, method: String, uri: String
        var params: String?, status: Int, why: String
        var testDescription: String { name }
    }

    static let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/crashers")
    static let cases: [Case] = {
        let data = try! Data(contentsOf: corpus.appendingPathComponent("manifest.json"))
        return try! JSONDecoder().decode([Case].self, from: data)
    }()

    @Test("the crash corpus", arguments: cases)
    func crasher(_ c: Case) async throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = Array(try Data(contentsOf: Self.corpus.appendingPathComponent(c.file)))
        let sessions = SessionStore()
        try await makeInferenceApp(store: try Datastore(directory: dir), sessions: sessions).test(.router) { client in
            let body = Form.body(params: c.params ?? "{}", field: "datapoint", fileName: c.file_name, file: file)
            try await client.execute(uri: c.uri, method: .init(rawValue: c.method)!, headers: .form(), body: body) {
                #expect($0.status.code == c.status, "\(c.name): \(String(buffer: $0.body))")
                if c.status >= 400 {
                    #expect(!detail($0).isEmpty, "\(c.name): a refusal must say why")
                    #expect(!detail($0).contains(dir.path) && !detail($0).contains("/tmp/"), "\(c.name) leaks a server path: \(detail($0))")
                }
            }
            // A refused upload leaves no session behind (NaN sforms used to).
            if c.uri.hasPrefix("/session") { #expect(await sessions.count == 0) }
            // And the server still answers.
            try await client.execute(uri: "/v1/models", method: .get) { #expect($0.status == .ok) }
        }
    }

    @Test("PATCH over 1 MiB is 413, not 500")
    func bigPatch() async throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        try await makeInferenceApp(store: try Datastore(directory: dir)).test(.router) { client in
            let body = ByteBuffer(string: "{\"x\": \"" + String(repeating: "a", count: 1 << 20 + 10) + "\"}")
            try await client.execute(uri: "/admin/model/abdominal_organs", method: .patch, headers: [.contentType: "application/json"], body: body) {
                #expect($0.status == .contentTooLarge, "\(String(buffer: $0.body))")
                #expect(detail($0).contains("1 MiB"))
            }
        }
    }

    static func zip(_ entries: [(String, Data?)]) throws -> [UInt8] {
        let url = temporaryDirectory().appendingPathComponent("m.zip")
        let archive = try Archive(url: url, accessMode: .create)
        for (path, data) in entries {
            if let data {
                try archive.addEntry(with: path, type: .file, uncompressedSize: Int64(data.count), provider: { position, size in
                    data.subdata(in: Int(position)..<(Int(position) + size))
                })
            } else {
                try archive.addEntry(with: path, type: .directory, uncompressedSize: Int64(0), provider: { _, _ in Data() })
            }
        }
        return Array(try Data(contentsOf: url))
    }

    static let mmar = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../mmar/abdominal_organs").standardizedFileURL
    static func file(_ path: String) -> Data { try! Data(contentsOf: mmar.appendingPathComponent(path)) }

    @Test("admin uploads that are not a servable MMAR get a 400 that says why", arguments: [
        ("a file and a folder of one name", [("config", Data("x".utf8)), ("config/config_aiaa.json", Data("{}".utf8))], "twice"),
        ("config_aiaa.json is a list", [("config/config_aiaa.json", Data("[]".utf8)), ("config/config_train.json", file("config/config_train.json")),
                                        ("models/model.pt", file("models/model.pt"))], "JSON object"),
        ("an unknown type", [("config/config_aiaa.json", Data(#"{"type": "classification"}"#.utf8)),
                             ("config/config_train.json", file("config/config_train.json")), ("models/model.pt", file("models/model.pt"))], "classification"),
        ("a type that is not a string", [("config/config_aiaa.json", Data(#"{"type": 7}"#.utf8)),
                                         ("config/config_train.json", file("config/config_train.json")), ("models/model.pt", file("models/model.pt"))], "type"),
        ("no config_train.json", [("config/config_aiaa.json", file("config/config_aiaa.json")), ("models/model.pt", file("models/model.pt"))],
         "config_train.json"),
    ] as [(String, [(String, Data?)], String)])
    func badBundles(_ what: String, _ entries: [(String, Data?)], _ mentions: String) async throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let models = temporaryDirectory()
        let zip = try Self.zip(entries)
        try await makeInferenceApp(store: try Datastore(directory: dir), modelDirectory: models).test(.router) { client in
            let body = Form.body(params: "{}", field: "data", fileName: "m.zip", file: zip)
            try await client.execute(uri: "/admin/model/upload_\(abs(what.hashValue % 1000))", method: .put, headers: .form(), body: body) {
                #expect($0.status == .badRequest, "\(what): \(String(buffer: $0.body))")
                #expect(detail($0).contains(mentions), "\(what): \(detail($0))")
                #expect(!detail($0).contains(models.path), "\(what) leaks the staging path: \(detail($0))")
            }
        }
        // Nothing staged is left behind; a bundle that could be read far enough is kept as a failed version, never served.
        let left = (try? FileManager.default.contentsOfDirectory(atPath: models.path)) ?? []
        #expect(left.filter { $0.hasPrefix(".") }.isEmpty, "\(what) left staging \(left) in the model directory")
    }
}
