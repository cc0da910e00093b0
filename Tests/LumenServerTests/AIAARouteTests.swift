import Foundation
import Hummingbird
import HummingbirdTesting
import LumenInference
import LumenServer
import LumenStore
import Testing

/// The AIAA v1 routes as the Slicer NvidiaAIAA extension and the Python client
/// use them, in-process, with the repository's bundled models.
@Suite struct AIAARouteTests {
    @Test("model listing filters", arguments: [
        ("/v1/models", nil as Int?, "abdominal_organs"),
        ("/v1/models?type=segmentation", nil, "abdominal_organs"),
        ("/v1/models?label=KIDNEY", nil, "abdominal_organs"),
        ("/v1/models?label=brain", 0, ""),
        ("/v1/models?type=classification", 0, ""),
        ("/v1/v1/models", nil, "abdominal_organs"),
    ])
    func listing(uri: String, count: Int?, contains: String) async throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        try await makeInferenceApp(store: try Datastore(directory: dir)).test(.router) { client in
            try await client.execute(uri: uri, method: .get) { response in
                #expect(response.status == .ok)
                let list = try #require(try JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [[String: Any]])
                if let count { #expect(list.count == count) }
                if !contains.isEmpty {
                    let entry = try #require(list.first { $0["name"] as? String == contains })
                    #expect(entry["version"] is String && entry["labels"] is [String] && entry["description"] is String)
                }
            }
        }
    }

    @Test func singleModelIsAnObjectAndUnknownIsNamed() async throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        try await makeInferenceApp(store: try Datastore(directory: dir)).test(.router) { client in
            try await client.execute(uri: "/v1/models?model=abdominal_organs", method: .get) {
                #expect(json($0)["name"] as? String == "abdominal_organs")
            }
            try await client.execute(uri: "/v1/models?model=brain_tumour", method: .get) {
                #expect($0.status == .notFound)
                #expect(String(buffer: $0.body).contains("brain_tumour"))
                #expect(json($0)["success"] as? Bool == false)
            }
        }
    }

    /// The Python client's exact request: `$` boundary, Windows path, `datapoint` field.
    @Test func segmentationReplyIsMultipartWithTheInputsGeometry() async throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        try await makeInferenceApp(store: try Datastore(directory: dir)).test(.router) { client in
            let body = Form.body(params: "{}", field: "datapoint", fileName: #"C:\Users\ana\AppData\Local\Temp\tmpq1w2.nii.gz"#,
                                 file: Bundled.phantom.bytes)
            try await client.execute(uri: "/v1/inference?model=abdominal_organs", method: .post,
                                     headers: [.contentType: Form.contentType, .contentLength: String(body.readableBytes)], body: body) { response in
                #expect(response.status == .ok, "\(String(buffer: response.body).prefix(300))")
                #expect(response.headers[.contentLength] == String(response.body.readableBytes))
                #expect(response.headers[.transferEncoding] == nil)
                let parts = try multipartParts(response)
                try #require(parts.count == 2)
                #expect(parts[0].headers.contains("name=\"params\"") && !parts[0].headers.contains("filename"))
                #expect(parts[1].headers.contains("filename=\"result.nii.gz\""))
                let params = try #require(try JSONSerialization.jsonObject(with: Data(parts[0].body)) as? [String: Any])
                #expect((params["points"] as? [[Int]])?.count == 6)
                #expect((params["timings"] as? [String: Double])?["infer"] != nil)
                let labels = try volume(from: parts[1].body)
                #expect(labels.spatialShape == Bundled.phantom.volume.spatialShape)
                #expect(labels.geometry == Bundled.phantom.volume.geometry)
                #expect(Set(labels.tensor.data).isSubset(of: Set((0...6).map(Float.init))))
                #expect(labels.tensor.data.contains(1), "the liver is found")
            }
        }
    }

    @Test func sessionLifecycleEndsIn440() async throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        try await makeInferenceApp(store: try Datastore(directory: dir)).test(.router) { client in
            let body = Form.body(params: "{}", field: "image", fileName: "/tmp/ct.nii.gz", file: Bundled.phantom.bytes)
            let id: String = try await client.execute(uri: "/session/?expiry=120", method: .put,
                                                      headers: [.contentType: Form.contentType], body: body) { response in
                #expect(response.status == .ok)
                let info = json(response)["session_info"] as? [String: Any]
                #expect(info?["expiry"] as? Int == 120)
                return try #require(json(response)["session_id"] as? String)
            }
            try await client.execute(uri: "/v1/inference?model=abdominal_organs&session_id=\(id)&output=json", method: .post) {
                #expect($0.status == .ok, "\(String(buffer: $0.body).prefix(200))")
                #expect((json($0)["label_names"] as? [String: Int])?["liver"] == 1)
            }
            try await client.execute(uri: "/session/\(id)", method: .get) { #expect($0.status == .ok) }
            try await client.execute(uri: "/session/\(id)", method: .delete) { #expect($0.status == .ok) }
            try await client.execute(uri: "/session/\(id)", method: .get) { #expect($0.status == .notFound) }
            try await client.execute(uri: "/v1/inference?model=abdominal_organs&session_id=\(id)", method: .post) {
                #expect($0.status.code == 440)
            }
        }
    }

    @Test("bad requests get a 4xx that names the problem", arguments: [
        ("/v1/inference?model=abdominal_organs", "{not json", 400, "params"),
        ("/v1/inference?model=nope", "{}", 404, "nope"),
        ("/v1/inference", "{}", 400, "model"),
        ("/v1/deepgrow?model=abdominal_organs", "{}", 400, "segmentation"),
    ])
    func badRequests(uri: String, params: String, status: Int, mentions: String) async throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        try await makeInferenceApp(store: try Datastore(directory: dir)).test(.router) { client in
            let body = Form.body(params: params, field: "datapoint", fileName: "ct.nii.gz", file: Bundled.phantom.bytes)
            try await client.execute(uri: uri, method: .post, headers: [.contentType: Form.contentType], body: body) {
                #expect($0.status.code == status)
                #expect(String(buffer: $0.body).contains(mentions), "\(String(buffer: $0.body))")
            }
        }
    }

    @Test func truncatedUploadIs400() async throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        try await makeInferenceApp(store: try Datastore(directory: dir)).test(.router) { client in
            let body = Form.body(params: "{}", field: "datapoint", fileName: "ct.nii.gz", file: Array(Bundled.phantom.bytes.prefix(2000)))
            try await client.execute(uri: "/v1/inference?model=abdominal_organs", method: .post,
                                     headers: [.contentType: Form.contentType], body: body) {
                #expect($0.status == .badRequest, "\(String(buffer: $0.body))")
                #expect(String(buffer: $0.body).contains("ct.nii.gz"))
            }
        }
    }

    @Test func secretPrefixHidesEverythingElse() async throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        try await makeInferenceApp(store: try Datastore(directory: dir), prefix: "/k9x2").test(.router) { client in
            try await client.execute(uri: "/v1/models", method: .get) { #expect($0.status == .notFound) }
            try await client.execute(uri: "/other/v1/models", method: .get) { #expect($0.status == .notFound) }
            try await client.execute(uri: "/k9x2/v1/models", method: .get) { #expect($0.status == .ok) }
            try await client.execute(uri: "/k9x2/v1/v1/models?type=segmentation", method: .get) { #expect($0.status == .ok) }
        }
    }
}

@Suite struct MaskToPolygonTests {
    @Test func squareOnOneSliceGivesOneClosedPolygonThere() async throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        // 6×5×4 mask (i fastest on disk): a 3×3 square at i 1…3, j 1…3 on slice k = 2.
        var values = [UInt8](repeating: 0, count: 120)
        for i in 1...3 { for j in 1...3 { values[2 * 30 + j * 6 + i] = 1 } }
        let mask = tinyNIfTI(values: values)
        try await makeInferenceApp(store: try Datastore(directory: dir)).test(.router) { client in
            let body = Form.body(params: "{\"more_points\": 1}", field: "datapoint", fileName: "mask.nii", file: mask)
            try await client.execute(uri: "/v1/mask2polygon", method: .post, headers: [.contentType: Form.contentType], body: body) { response in
                #expect(response.status == .ok, "\(String(buffer: response.body))")
                #expect(response.headers[.contentType] == "application/json")
                let slices = try #require(try JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [[[[Int]]]])
                #expect(slices.count == 4)
                #expect(slices[0].isEmpty && slices[1].isEmpty && slices[3].isEmpty)
                let polygon = try #require(slices[2].first)
                #expect(slices[2].count == 1 && polygon.count == 8, "\(polygon)")
                #expect(Set(polygon.map { $0[0] }) == [1, 2, 3] && Set(polygon.map { $0[1] }) == [1, 2, 3])
                #expect(!polygon.contains([2, 2]), "the centre is not on the boundary")
            }
        }
    }
}
