import Foundation
import Hummingbird
import HummingbirdTesting
import LumenServer
import LumenStore
import Testing

/// AIAA clients cannot send headers: a token as the first path segment stands
/// in for the bearer header, with the same roles.
@Suite struct AccessTests {
    static let annotator = "annotator-token-0123456789"
    static let admin = "admin-token-abcdefghijklmnop"
    static let tokens = TokenTable([annotator: Identity(user: "ana", role: .annotator),
                                    admin: Identity(user: "root", role: .admin)])

    @Test func tokenInThePathActsAsTheBearerToken() async throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        try await makeInferenceApp(store: try Datastore(directory: dir), tokens: Self.tokens).test(.router) { client in
            try await client.execute(uri: "/v1/models", method: .get) { #expect($0.status == .unauthorized) }
            try await client.execute(uri: "/not-a-token-0000000000/v1/models", method: .get) { #expect($0.status != .ok) }
            try await client.execute(uri: "/\(Self.annotator)/v1/models?type=segmentation", method: .get) { #expect($0.status == .ok) }
            try await client.execute(uri: "/\(Self.annotator)/v1/v1/models", method: .get) { #expect($0.status == .ok) }
            // Annotators may not delete; the path token carries the role.
            try await client.execute(uri: "/\(Self.annotator)/datastore/image?id=x", method: .delete) { #expect($0.status == .forbidden) }
            try await client.execute(uri: "/\(Self.admin)/datastore/image?id=x", method: .delete) { #expect($0.status == .notFound) }
        }
    }

    @Test func uploadsOverTheLimitAre413() async throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        try await makeInferenceApp(store: try Datastore(directory: dir), maxUploadBytes: 100_000).test(.router) { client in
            let body = Form.body(params: "{}", field: "datapoint", fileName: "ct.nii.gz", file: Bundled.phantom.bytes)
            try await client.execute(uri: "/v1/inference?model=abdominal_organs", method: .post,
                                     headers: [.contentType: Form.contentType], body: body) {
                #expect($0.status == .contentTooLarge)
                #expect(String(buffer: $0.body).contains("MiB"))
            }
        }
    }
}
