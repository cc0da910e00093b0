import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import LumenIO
import LumenModels
import LumenPhantom
import LumenServer
import LumenStore
import Testing

/// Model versions through the admin routes: the gate both ways, forced
/// promotion, rollback to identical outputs, failed candidates, requests in
/// flight during a promotion, and the history surviving a reopen of the store.
@Suite("model versions", .serialized)
struct VersionTests {
    static let admin = AdminRouteTests.admin
    static let organConfig = Bundled.root.appendingPathComponent("abdominal_organs/config/config_aiaa.json")

    /// A store with three small phantoms whose `final` labels are the ground truth (one is held out).
    static func storeWithFinalLabels() throws -> (Datastore, URL) {
        let dir = temporaryDirectory()
        let store = try Datastore(directory: dir)
        for index in 0..<3 {
            let p = try Phantom.generate(seed: 31_000, index: index, size: .small)
            let image = dir.appendingPathComponent("in-\(index).nii.gz"), label = dir.appendingPathComponent("lab-\(index).nii.gz")
            try p.image.write(to: image, datatype: .int16)
            try p.label.write(to: label, datatype: .uint8)
            _ = try store.addImage(file: image, id: "case\(index)", user: "ana", source: "test")
            _ = try store.addLabel(file: label, imageID: "case\(index)", tag: "final", user: "ana")
        }
        return (store, dir)
    }

    /// The organ config with one change, as a PATCH body.
    static func patchedConfig(_ change: (inout [String: Any]) -> Void) throws -> ByteBuffer {
        var config = try JSONSerialization.jsonObject(with: Data(contentsOf: organConfig)) as! [String: Any]
        change(&config)
        return ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: config))
    }

    /// An intensity window far from soft tissue: the same weights, made worse on purpose.
    static func wrongWindow(_ config: inout [String: Any]) {
        var pre = config["pre_transforms"] as! [[String: Any]]
        pre[4]["args"] = ["keys": "image", "a_min": 1500, "a_max": 3000, "b_min": 0.0, "b_max": 1.0, "clip": true]
        config["pre_transforms"] = pre
    }

    static var adminJSON: HTTPFields { [.contentType: "application/json", .authorization: "Bearer \(admin)"] }

    @Test("the gate refuses a worse candidate with both Dice values, a forced one serves, a better one passes")
    func gateBothWays() async throws {
        let (store, dir) = try Self.storeWithFinalLabels()
        defer { try? FileManager.default.removeItem(at: dir) }
        let app = makeInferenceApp(store: store, tokens: AdminRouteTests.tokens, registry: Bundled.registry)
        try await app.test(.router) { client in
            // v2: the wrong window. The gate compares it with v1 on the held-out case and refuses.
            try await client.execute(uri: "/admin/model/abdominal_organs", method: .patch, headers: Self.adminJSON,
                                     body: try Self.patchedConfig(Self.wrongWindow)) {
                #expect($0.status == .conflict, "\(String(buffer: $0.body))")
                let text = detail($0)
                #expect(text.contains("was not promoted") && text.contains("mean Dice") && text.contains("abdominal_organs@1"), "\(text)")
            }
            try await client.execute(uri: "/v1/models?model=abdominal_organs", method: .get, headers: .bearer(Self.admin)) {
                #expect(json($0)["version"] as? String == "1")
            }
            // Forcing needs a reason, and is then recorded.
            try await client.execute(uri: "/admin/model/abdominal_organs/versions/2/promote?force=true", method: .post, headers: .bearer(Self.admin)) {
                #expect($0.status == .conflict)
                #expect(detail($0).contains("reason"))
            }
            try await client.execute(uri: "/admin/model/abdominal_organs/versions/2/promote?force=true&reason=testing%20the%20gate",
                                     method: .post, headers: .bearer(Self.admin)) {
                #expect($0.status == .ok, "\(String(buffer: $0.body))")
                #expect(json($0)["promoted"] as? Bool == true)
            }
            // v3: the right window again, under a new description: better than the serving v2, so the gate passes.
            try await client.execute(uri: "/admin/model/abdominal_organs", method: .patch, headers: Self.adminJSON,
                                     body: try Self.patchedConfig { $0["description"] = "organs, window restored" }) {
                #expect($0.status == .ok, "\(String(buffer: $0.body))")
                #expect(json($0)["model_version"] as? Int == 3)
                #expect(json($0)["promoted"] as? Bool == true)
            }
            try await client.execute(uri: "/admin/model/abdominal_organs/versions", method: .get, headers: .bearer(Self.admin)) {
                let versions = json($0)["versions"] as? [[String: Any]] ?? []
                #expect(versions.map { $0["state"] as? String } == ["retired", "retired", "serving"])
                let metrics = versions[2]["metrics"] as? [String: Any]
                let mine = (metrics?["candidate"] as? [String: Any])?["mean_dice"] as? Double ?? 0
                let theirs = (metrics?["serving"] as? [String: Any])?["mean_dice"] as? Double ?? 1
                #expect(mine > theirs + 0.2, "v3 \(mine) against v2 \(theirs)")
                // Measured 0.924 on this held-out phantom (2026-12-05); the floor sits a few hundredths under it.
                #expect(mine > 0.89, "the restored window should segment the held-out phantom well: \(mine)")
            }
            try await client.execute(uri: "/admin/model/abdominal_organs/versions/2", method: .get, headers: .bearer(Self.admin)) {
                let audit = json($0)["audit"] as? [[String: Any]] ?? []
                #expect(audit.contains { $0["action"] as? String == "model.gate.refused" })
                #expect(audit.contains { $0["action"] as? String == "model.promote.forced"
                                         && ($0["details"] as? [String: Any])?["reason"] as? String == "testing the gate" })
                #expect((json($0)["lineage"] as? [[String: Any]])?.first?["version"] as? Int == 1)
            }
        }
        // The same history after the store and the registry are opened again, as after a restart.
        let reopened = try Datastore(directory: dir)
        let registry = Bundled.registry.copy()
        try ModelVersions(store: reopened, registry: registry, root: temporaryDirectory()).bootstrap()
        #expect(try reopened.modelVersions(name: "abdominal_organs").map(\.state) == [.retired, .retired, .serving])
        #expect(registry.models["abdominal_organs"]?.version == "3")
        #expect(registry.models["abdominal_organs"]?.description == "organs, window restored")
    }

    @Test("a rollback serves version 1 again, bit for bit")
    func rollbackIsIdentical() async throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let app = makeInferenceApp(store: try Datastore(directory: dir), tokens: AdminRouteTests.tokens, registry: Bundled.registry)
        try await app.test(.router) { client in
            func segment() async throws -> (version: String?, image: [UInt8]) {
                let body = Form.body(params: "{}", field: "datapoint", fileName: "ct.nii.gz", file: Bundled.phantom.bytes)
                return try await client.execute(uri: "/v1/segmentation?model=abdominal_organs&output=image", method: .post,
                                                headers: .form(token: Self.admin), body: body) {
                    #expect($0.status == .ok)
                    return ($0.headers[HTTPField.Name("X-Lumen-Model-Version")!], Array(buffer: $0.body))
                }
            }
            let first = try await segment()
            #expect(first.version == "abdominal_organs@1")
            // No final labels in this store: nothing to compare, so the patched v2 passes on its checks alone.
            try await client.execute(uri: "/admin/model/abdominal_organs", method: .patch, headers: Self.adminJSON,
                                     body: try Self.patchedConfig(Self.wrongWindow)) { #expect($0.status == .ok, "\(String(buffer: $0.body))") }
            let second = try await segment()
            #expect(second.version == "abdominal_organs@2")
            #expect(try volume(from: second.image).tensor.data != volume(from: first.image).tensor.data)
            try await client.execute(uri: "/admin/model/abdominal_organs/versions/1/rollback", method: .post, headers: .bearer(Self.admin)) {
                #expect($0.status == .ok, "\(String(buffer: $0.body))")
            }
            let third = try await segment()
            #expect(third.version == "abdominal_organs@1")
            #expect(try volume(from: third.image).tensor.data == volume(from: first.image).tensor.data)
        }
    }

    @Test("a request in flight finishes on the version it started with; the next one gets the new version")
    func inFlight() async throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let full = try Phantom.generate(seed: 31_100, index: 0, size: .full)
        let url = dir.appendingPathComponent("full.nii.gz")
        try full.image.write(to: url, datatype: .int16)
        let bytes = Array(try Data(contentsOf: url))
        let app = makeInferenceApp(store: try Datastore(directory: dir), tokens: AdminRouteTests.tokens, registry: Bundled.registry)
        try await app.test(.router) { client in
            let body = Form.body(params: "{}", field: "datapoint", fileName: "ct.nii.gz", file: bytes)
            let slow = Task {
                try await client.execute(uri: "/v1/segmentation?model=abdominal_organs&output=json", method: .post,
                                         headers: .form(token: Self.admin), body: body) {
                    (json($0)["model_version"] as? String, $0.headers[HTTPField.Name("X-Lumen-Model-Version")!])
                }
            }
            try await Task.sleep(for: .milliseconds(600))
            try await client.execute(uri: "/admin/model/abdominal_organs", method: .patch, headers: Self.adminJSON,
                                     body: try Self.patchedConfig { $0["description"] = "v2" }) { #expect($0.status == .ok) }
            let (params, header) = try await slow.value
            #expect(params == "1" && header == "abdominal_organs@1", "the slow request started on version 1")
            let small = Form.body(params: "{}", field: "datapoint", fileName: "ct.nii.gz", file: Bundled.phantom.bytes)
            try await client.execute(uri: "/v1/segmentation?model=abdominal_organs&output=json", method: .post,
                                     headers: .form(token: Self.admin), body: small) {
                #expect(json($0)["model_version"] as? String == "2")
            }
        }
    }

    @Test("candidates that cannot serve are recorded as failed, with the reason", arguments: [
        ("keys do not bind", "config/config_train.json", "\"channels\": [16, 32, 64, 128]", "\"channels\": [8, 32, 64, 128]", "does not load"),
        ("labels fewer than outputs", "config/config_aiaa.json",
         "\"labels\": [\"liver\", \"spleen\", \"kidney_left\", \"kidney_right\", \"pancreas\", \"stomach\"]", "\"labels\": [\"liver\"]",
         "does not declare"),
    ])
    func failedCandidates(_ what: String, _ file: String, _ from: String, _ to: String, _ mentions: String) async throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        var files = try AdminRouteTests.organFiles(folder: "")
        let index = files.firstIndex { $0.0 == file }!
        let text = String(decoding: files[index].1!, as: UTF8.self)
        #expect(text.contains(from), "\(what): the fixture no longer has \(from)")
        files[index].1 = Array(text.replacingOccurrences(of: from, with: to).utf8)
        let zip = try AdminRouteTests.zip(files)
        let store = try Datastore(directory: dir)
        let app = makeInferenceApp(store: store, tokens: AdminRouteTests.tokens, registry: Bundled.registry)
        try await app.test(.router) { client in
            try await client.execute(uri: "/admin/model/abdominal_organs?confirm_labels=true", method: .put,
                                     headers: .form(token: Self.admin), body: AdminRouteTests.upload(zip)) {
                #expect($0.status == .badRequest, "\(what): \(String(buffer: $0.body))")
                #expect(detail($0).contains("recorded as failed") && detail($0).contains(mentions), "\(what): \(detail($0))")
            }
            try await client.execute(uri: "/v1/models?model=abdominal_organs", method: .get, headers: .bearer(Self.admin)) {
                #expect(json($0)["version"] as? String == "1")
            }
            try await client.execute(uri: "/admin/model/abdominal_organs/versions/2/promote?force=true&reason=x", method: .post,
                                     headers: .bearer(Self.admin)) {
                #expect($0.status == .conflict, "a failed version never serves")
            }
        }
        let record = try #require(try store.modelVersion(name: "abdominal_organs", version: 2))
        #expect(record.state == .failed && record.reason.contains(mentions))
    }
}
