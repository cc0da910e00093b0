import Foundation
import Hummingbird
import HummingbirdTesting
import LumenServer
import LumenStore
import Testing

/// Slicer's Next Sample: only images without a `final` label, the choice
/// recorded in the image info, `{}` when none is left.
@Suite struct ActiveLearningTests {
    @Test func nextSampleSkipsLabelledImagesAndSaysWhenNoneIsLeft() async throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let store = try Datastore(directory: dir)
        for id in ["ct_a", "ct_b", "ct_c"] {
            let url = dir.appendingPathComponent("\(id).nii")
            try Data(tinyNIfTI()).write(to: url)
            _ = try store.addImage(file: url, id: id, user: "ana", source: "test")
        }
        let label = dir.appendingPathComponent("label.nii")
        try Data(tinyNIfTI()).write(to: label)
        _ = try store.addLabel(file: label, imageID: "ct_a", tag: "final", user: "ana")
        try await makeApp(store: store).test(.router) { client in
            try await client.execute(uri: "/activelearning/first", method: .post, body: ByteBuffer(string: "{\"client_id\": \"alice\"}")) {
                #expect($0.status == .ok)
                #expect(json($0)["id"] as? String == "ct_b")
                #expect(json($0)["name"] as? String == "ct_b.nii")
            }
            try await client.execute(uri: "/activelearning/last", method: .post) { #expect(json($0)["id"] as? String == "ct_c") }
            for _ in 0..<10 {
                try await client.execute(uri: "/activelearning/random", method: .post) {
                    #expect(["ct_b", "ct_c"].contains(json($0)["id"] as? String ?? ""))
                }
            }
            try await client.execute(uri: "/activelearning/bogus", method: .post) {
                #expect($0.status == .badRequest)
                #expect(detail($0).contains("random, first, last"))
            }
        }
        let info = try #require(try store.image(id: "ct_b")).info
        #expect(info.contains("\"first\"") && info.contains("alice"))
        for id in ["ct_b", "ct_c"] { _ = try store.addLabel(file: label, imageID: id, tag: "final", user: "ana") }
        try await makeApp(store: store).test(.router) { client in
            try await client.execute(uri: "/activelearning/random", method: .post) {
                #expect($0.status == .ok)
                #expect(json($0).isEmpty)
            }
        }
    }
}
