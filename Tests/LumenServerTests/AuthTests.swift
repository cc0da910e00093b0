import Foundation
import Hummingbird
import HummingbirdTesting
import LumenServer
import LumenStore
import Testing

@Suite struct AuthTests {
    static let annotator = "annotator-token-0123456789"
    static let admin = "admin-token-abcdefghijklmnop"
    static let tokens = TokenTable([annotator: Identity(user: "ana", role: .annotator),
                                    admin: Identity(user: "root", role: .admin)])

    @Test func rolesAndAttribution() async throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let store = try Datastore(directory: dir)
        try await makeApp(store: store, tokens: Self.tokens).test(.router) { client in
            try await client.execute(uri: "/datastore/?output=stats", method: .get) {
                #expect($0.status == .unauthorized)
                #expect(detail($0) == "Not authenticated")
                #expect($0.headers[.wwwAuthenticate] == "Bearer")
            }
            try await client.execute(uri: "/datastore/?output=stats", method: .get, headers: .bearer("wrong-token-0000000000")) {
                #expect($0.status == .unauthorized)
            }
            try await client.execute(uri: "/datastore/image?image=ct", method: .put, headers: .form(),
                                     body: Form.body(field: "file", fileName: "ct.nii", file: tinyNIfTI())) {
                #expect($0.status == .unauthorized)
            }
            try await client.execute(uri: "/datastore/image?image=ct", method: .put, headers: .form(token: Self.annotator),
                                     body: Form.body(field: "file", fileName: "ct.nii", file: tinyNIfTI())) {
                #expect($0.status == .ok)
            }
            try await client.execute(uri: "/datastore/label?image=ct", method: .put, headers: .form(token: Self.annotator),
                                     body: Form.body(field: "label", fileName: "l.nii", file: tinyNIfTI())) {
                #expect($0.status == .ok)
            }
            for uri in ["/datastore/label?id=ct&tag=final", "/datastore/image?id=ct", "/datastore/?id=ct"] {
                try await client.execute(uri: uri, method: .delete, headers: .bearer(Self.annotator)) {
                    #expect($0.status == .forbidden)
                    #expect(detail($0).contains("needs the admin role"))
                }
            }
            try await client.execute(uri: "/datastore/image?id=ct", method: .delete, headers: .bearer(Self.admin)) {
                #expect($0.status == .ok)
            }
        }
        let audit = try store.auditLog()
        #expect(audit.map(\.action) == ["image.add", "label.add", "image.delete"])
        #expect(audit.map(\.user) == ["ana", "ana", "root"])
        #expect(try store.images().isEmpty)
    }

    @Test func openServerOnlyOnLoopback() throws {
        #expect(throws: ServerError.openNonLoopback(host: "0.0.0.0")) {
            try LumenApplication.checkBinding(.init(host: "0.0.0.0"))
        }
        try LumenApplication.checkBinding(.init(host: "127.0.0.1"))
        try LumenApplication.checkBinding(.init(host: "0.0.0.0", tokens: Self.tokens))
    }

    @Test func tokensFileIsCheckedWithoutEchoingTokens() throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("tokens.json")
        try Data(#"{"short": {"user": "a", "role": "annotator"}}"#.utf8).write(to: file)
        let error = #expect(throws: ServerError.self) { try TokenTable.load(file) }
        #expect(error?.description.contains("at least 16") == true && error?.description.contains("short") == false)
        try Data(#"{"0123456789abcdef0": {"user": "a", "role": "owner"}}"#.utf8).write(to: file)
        #expect(throws: ServerError.self) { try TokenTable.load(file) }
        try Data(#"{"0123456789abcdef0": {"user": "a", "role": "admin"}}"#.utf8).write(to: file)
        _ = try TokenTable.load(file)
    }
}
