import Foundation
import Hummingbird
import HTTPTypes
import HummingbirdTesting
import LumenServer
import LumenStore
import Testing

@Suite struct ObservabilityTests {
    @Test func metricsCountRequestsAndInferencesAndOpenAPIListsEveryRoute() async throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        try await makeInferenceApp(store: try Datastore(directory: dir)).test(.router) { client in
            let body = Form.body(params: "{}", field: "datapoint", fileName: "ct.nii.gz", file: Bundled.phantom.bytes)
            try await client.execute(uri: "/v1/inference?model=abdominal_organs&output=json", method: .post,
                                     headers: [.contentType: Form.contentType], body: body) {
                #expect($0.status == .ok)
                #expect($0.headers[HTTPField.Name("X-Request-Id")!] != nil)
            }
            try await client.execute(uri: "/metrics", method: .get) { response in
                let text = String(buffer: response.body)
                #expect(text.contains(#"lumen_inference_duration_seconds_count{model="abdominal_organs"} 1"#), "\(text.prefix(2000))")
                #expect(text.contains(#"lumen_http_requests_total{route="/v1/inference",method="POST",status="200"} 1"#))
                #expect(text.contains("lumen_queue_depth 0"))
            }
            try await client.execute(uri: "/openapi.json", method: .get) { response in
                let paths = try #require(json(response)["paths"] as? [String: [String: Any]])
                for (path, method) in [("/v1/models", "get"), ("/v1/inference", "post"), ("/session/{id}", "delete"),
                                       ("/infer/{model}", "post"), ("/datastore/label", "put"), ("/info", "get")] {
                    #expect(paths[path]?[method] != nil, "\(method) \(path) missing")
                }
            }
        }
    }
}
