import LumenModels
import Foundation
import Hummingbird
import HummingbirdTesting
import LumenServer
import LumenStore
import Testing
import ZIPFoundation

/// `/admin/model/{name}`: MMAR uploads (zip or config + weights), replacement,
/// config patches and unloading, with hostile archives refused and the served
/// model untouched by any failed upload.
@Suite struct AdminRouteTests {
    static let admin = "admin-token-abcdefghijklmnop"
    static let annotator = "annotator-token-0123456789"
    static let tokens = TokenTable([admin: Identity(user: "root", role: .admin),
                                    annotator: Identity(user: "ana", role: .annotator)])

    /// A zip of `entries` (path → bytes, or a `nil` body for a symbolic link to `/etc/passwd`).
    static func zip(_ entries: [(String, [UInt8]?)], deflate: Bool = true) throws -> [UInt8] {
        let url = temporaryDirectory().appendingPathComponent("upload.zip")
        let archive = try Archive(url: url, accessMode: .create)
        for (path, bytes) in entries {
            if let bytes {
                try archive.addEntry(with: path, type: .file, uncompressedSize: Int64(bytes.count),
                                     compressionMethod: deflate ? .deflate : .none) { position, size in
                    Data(bytes[Int(position)..<(Int(position) + size)])
                }
            } else {
                let target = Array("/etc/passwd".utf8)
                try archive.addEntry(with: path, type: .symlink, uncompressedSize: Int64(target.count)) { position, size in
                    Data(target[Int(position)..<(Int(position) + size)])
                }
            }
        }
        return Array(try Data(contentsOf: url))
    }

    /// The bundled organ model's files, under `folder/` inside the zip.
    static func organFiles(folder: String) throws -> [(String, [UInt8]?)] {
        let root = Bundled.root.appendingPathComponent("abdominal_organs")
        return try ["config/config_aiaa.json", "config/config_train.json", "models/model.pt"].map { file in
            ("\(folder)\(file)", Array(try Data(contentsOf: root.appendingPathComponent(file))))
        }
    }

    static func upload(_ zip: [UInt8]) -> ByteBuffer {
        let b = Form.boundary
        var out = Array("--\(b)\r\nContent-Disposition: form-data; name=\"data\"; filename=\"mmar.zip\"\r\nContent-Type: application/zip\r\n\r\n".utf8)
        out += zip
        out += Array("\r\n--\(b)--\r\n".utf8)
        return ByteBuffer(bytes: out)
    }

    func withApp(_ body: @escaping @Sendable (any TestClientProtocol, URL) async throws -> Void) async throws {
        let dir = temporaryDirectory(), models = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir); try? FileManager.default.removeItem(at: models) }
        let app = makeInferenceApp(store: try Datastore(directory: dir), tokens: Self.tokens,
                                   registry: ModelRegistry.load(roots: [Bundled.root]), modelDirectory: models)
        try await app.test(.router) { client in try await body(client, models) }
    }

    @Test func zippedMMAROneFolderDownIsServedThenPatchedThenUnloaded() async throws {
        try await withApp { client, models in
            let zip = try Self.zip(try Self.organFiles(folder: "organs_v2/"))
            try await client.execute(uri: "/admin/model/organs_v2", method: .put, headers: .form(token: Self.admin), body: Self.upload(zip)) {
                #expect($0.status == .ok, "\(String(buffer: $0.body))")
                #expect(json($0)["name"] as? String == "organs_v2")
            }
            // Each version keeps its own folder: <store>/models/<name>/<version>.
            #expect(FileManager.default.fileExists(atPath: models.appendingPathComponent("organs_v2/1/models/model.pt").path))
            try await client.execute(uri: "/v1/models?model=organs_v2", method: .get, headers: .bearer(Self.annotator)) {
                #expect($0.status == .ok)
                #expect((json($0)["labels"] as? [String])?.contains("spleen") == true)
            }
            var config = try JSONSerialization.jsonObject(with: Data(contentsOf: Bundled.root.appendingPathComponent("abdominal_organs/config/config_aiaa.json"))) as! [String: Any]
            config["description"] = "organs, patched"
            let patched = try JSONSerialization.data(withJSONObject: config)
            try await client.execute(uri: "/admin/model/organs_v2", method: .patch, headers: [.contentType: "application/json", .authorization: "Bearer \(Self.admin)"],
                                     body: ByteBuffer(bytes: patched)) {
                #expect($0.status == .ok, "\(String(buffer: $0.body))")
            }
            try await client.execute(uri: "/admin/model/organs_v2", method: .get, headers: .bearer(Self.admin)) {
                #expect(json($0)["description"] as? String == "organs, patched")
            }
            try await client.execute(uri: "/admin/model/organs_v2", method: .delete, headers: .bearer(Self.admin)) { #expect($0.status == .ok) }
            try await client.execute(uri: "/v1/models?model=organs_v2", method: .get, headers: .bearer(Self.annotator)) { #expect($0.status == .notFound) }
            // Unloading retires the serving version; its files stay until an admin purges them.
            #expect(FileManager.default.fileExists(atPath: models.appendingPathComponent("organs_v2/2/models/model.pt").path))
        }
    }

    @Test("hostile or broken uploads are refused and change nothing", arguments: [
        ("../escape.txt", "outside the bundle"),
        ("/tmp/absolute.txt", "outside the bundle"),
        ("config/link", "symbolic link"),
        ("not-a-zip", "needs a \"config\" part"),
        ("no-config", "no config/config_aiaa.json"),
        ("bad-transform", "recorded as failed and will not serve"),
    ])
    func hostileUploadsAreRefused(_ kind: String, _ message: String) async throws {
        var files = try Self.organFiles(folder: "")
        switch kind {
        case "config/link": files.append(("config/link", nil))
        case "no-config": files.removeFirst()
        case "bad-transform":
            let text = String(decoding: files[0].1!, as: UTF8.self).replacingOccurrences(of: "ScaleIntensityRanged", with: "NoSuchTransformd")
            files[0].1 = Array(text.utf8)
        case "not-a-zip": break
        default: files.append((kind, Array("owned".utf8)))
        }
        let body = kind == "not-a-zip" ? Self.upload(Array("just bytes".utf8)) : Self.upload(try Self.zip(files))
        try await withApp { client, models in
            try await client.execute(uri: "/admin/model/abdominal_organs", method: .put, headers: .form(token: Self.admin), body: body) {
                #expect($0.status == .badRequest)
                #expect(detail($0).contains(message), "\(detail($0))")
            }
            try await client.execute(uri: "/v1/models?model=abdominal_organs", method: .get, headers: .bearer(Self.annotator)) {
                #expect($0.status == .ok)
            }
            // No staging is left; only a bundle that got as far as loading is kept, as a failed version.
            let left = try FileManager.default.contentsOfDirectory(atPath: models.path)
            #expect(left.filter { $0.hasPrefix(".") }.isEmpty, "staging left behind: \(left)")
            #expect(left == (kind == "bad-transform" ? ["abdominal_organs"] : []), "\(left)")
            #expect(!FileManager.default.fileExists(atPath: models.deletingLastPathComponent().appendingPathComponent("escape.txt").path))
        }
    }

    /// Every admin route, as a table: annotators get 403, requests without a token 401.
    @Test("admin routes refuse annotators and anonymous requests", arguments: [
        (HTTPRequest.Method.get, "/admin/model/abdominal_organs"),
        (.put, "/admin/model/abdominal_organs"),
        (.patch, "/admin/model/abdominal_organs"),
        (.delete, "/admin/model/abdominal_organs"),
        (.delete, "/datastore/label?id=ct&tag=final"),
        (.delete, "/datastore/image?id=ct"),
        (.delete, "/datastore/?id=ct"),
    ])
    func adminRoutesNeedAdmin(_ method: HTTPRequest.Method, _ uri: String) async throws {
        try await withApp { client, _ in
            try await client.execute(uri: uri, method: method, headers: .bearer(Self.annotator)) {
                #expect($0.status == .forbidden, "\(method) \(uri)")
            }
            try await client.execute(uri: uri, method: method) { #expect($0.status == .unauthorized, "\(method) \(uri)") }
            try await client.execute(uri: "/v1/models?model=abdominal_organs", method: .get, headers: .bearer(Self.annotator)) {
                #expect($0.status == .ok)
            }
        }
    }
}
