import Foundation
import Hummingbird
import HummingbirdTesting
import LumenServer
import LumenStore
import Testing

@Suite struct DatastoreRouteTests {
    @Test func labelRoundTripOverHTTP() async throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let store = try Datastore(directory: dir)
        let first = tinyNIfTI(values: (0..<120).map { UInt8($0 % 2) })
        let second = tinyNIfTI(values: (0..<120).map { UInt8(($0 / 3) % 2) })
        try await makeApp(store: store).test(.router) { client in
            // The Python client's alias and a Windows path as file name.
            try await client.execute(uri: "/datastore/?image=ct_001", method: .put, headers: .form(),
                                     body: Form.body(field: "file", fileName: #"C:\Users\ana\ct.nii"#, file: tinyNIfTI())) {
                #expect($0.status == .ok)
                #expect(json($0)["image"] as? String == "ct_001")
            }
            for (n, label) in [first, second].enumerated() {
                try await client.execute(uri: "/datastore/label?image=ct_001", method: .put, headers: .form(),
                                         body: Form.body(field: "label", fileName: "/home/ana/work/label.nii", file: label)) {
                    #expect($0.status == .ok, "\(detail($0))")
                    let reply = json($0)
                    #expect(reply["version"] as? Int == n + 1 && reply["tag"] as? String == "final")
                    if n == 1 { #expect((reply["parent"] as? [String: Any])?["version"] as? Int == 1) }
                }
            }
            try await client.execute(uri: "/datastore/label?label=ct_001&tag=final", method: .get) {
                #expect($0.status == .ok)
                #expect(Array(buffer: $0.body) == second)
                #expect($0.headers[.contentDisposition] == "attachment; filename=\"ct_001.nii\"")
            }
            try await client.execute(uri: "/datastore/label?label=ct_001&tag=final&version=1", method: .get) {
                #expect(Array(buffer: $0.body) == first)
            }
            try await client.execute(uri: "/datastore/image?image=ct_001", method: .get) {
                #expect(Array(buffer: $0.body) == tinyNIfTI())
            }
            // Both trailing-slash forms, no redirect.
            for path in ["/datastore/?output=stats", "/datastore?output=stats"] {
                try await client.execute(uri: path, method: .get) {
                    #expect($0.status == .ok)
                    #expect(json($0)["completed"] as? Int == 1 && json($0)["total"] as? Int == 1)
                }
            }
            try await client.execute(uri: "/datastore/?output=all", method: .get) {
                let objects = json($0)["objects"] as? [String: Any]
                let labels = (objects?["ct_001"] as? [String: Any])?["labels"] as? [String: Any]
                #expect((labels?["final"] as? [String: Any])?["version"] as? Int == 2)
            }
            try await client.execute(uri: "/datastore/?output=xyz", method: .get) {
                #expect($0.status == .unprocessableContent)
                #expect(detail($0).contains("stats, all, train"))
            }
            try await client.execute(uri: "/datastore/label?label=ct_001&tag=nothing", method: .get) {
                #expect($0.status == .notFound)
            }
        }
        #expect(try store.labels(imageID: "ct_001").count == 2)
    }

    static let organs = StaticModelCatalog(["organs": (version: "3", labels: [1, 2])])

    @Test(arguments: [
        ("ct_001", tinyNIfTI(originX: -12), "{}", 422, "voxel grid"),
        ("ct_001", tinyNIfTI(dims: [6, 5, 3]), "{}", 422, "label dimensions [6, 5, 3]"),
        ("missing", tinyNIfTI(), "{}", 404, "'missing' is not in the datastore"),
        ("ct_001", tinyNIfTI(values: [UInt8](repeating: 5, count: 120)), "{\"model\": \"organs\"}", 422, "values [5] that the model does not know"),
        ("ct_001", Array("garbage".utf8), "{}", 400, "could not be read as NIfTI"),
    ])
    func badLabelsGetAClear4xx(image: String, label: [UInt8], params: String, status: Int, message: String) async throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let store = try Datastore(directory: dir)
        try await makeApp(store: store, models: Self.organs).test(.router) { client in
            try await client.execute(uri: "/datastore/image?image=ct_001", method: .put, headers: .form(),
                                     body: Form.body(field: "file", fileName: "ct.nii", file: tinyNIfTI()))
            try await client.execute(uri: "/datastore/label?image=\(image)", method: .put, headers: .form(),
                                     body: Form.body(params: params, field: "label", fileName: "l.nii", file: label)) {
                #expect(Int($0.status.code) == status)
                #expect(detail($0).contains(message), "\(detail($0))")
            }
        }
        #expect(try store.labels(imageID: "ct_001").isEmpty)
    }

    @Test func imageWithPHIIsRefused() async throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let store = try Datastore(directory: dir)
        try await makeApp(store: store).test(.router) { client in
            try await client.execute(uri: "/datastore/image?image=ct_9", method: .put, headers: .form(),
                                     body: Form.body(field: "file", fileName: "ct.nii", file: tinyNIfTI(descrip: "DOE^JOHN 1234567"))) {
                #expect($0.status == .unprocessableContent)
                #expect(detail($0).contains("descrip") && !detail($0).contains("DOE"))
            }
        }
        #expect(try store.images().isEmpty)
    }
}
