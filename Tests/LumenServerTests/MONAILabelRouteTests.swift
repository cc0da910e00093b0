import Foundation
import Hummingbird
import HummingbirdTesting
import LumenServer
import LumenStore
import Testing

/// `/info/` and `/infer/{model}` as the Slicer MONAILabel extension calls them:
/// the image comes from the datastore, and the model's label is kept as `original`.
@Suite struct MONAILabelRouteTests {
    @Test func infoThenInferOnADatastoreImageRecordsTheOriginal() async throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let store = try Datastore(directory: dir)
        try await makeInferenceApp(store: store).test(.router) { client in
            try await client.execute(uri: "/info/", method: .get) { response in
                let info = json(response)
                let model = (info["models"] as? [String: Any])?["abdominal_organs"] as? [String: Any]
                #expect(model?["type"] as? String == "segmentation")
                #expect((model?["labels"] as? [String: Int])?["kidney_left"] == 3)
                #expect(info["config"] == nil, "a top-level config stops Slicer")
            }
            try await client.execute(uri: "/datastore/?image=ct_042", method: .put, headers: .form(),
                                     body: Form.body(field: "file", fileName: "ct.nii.gz", file: Bundled.phantom.bytes)) {
                #expect($0.status == .ok, "\(detail($0))")
            }
            try await client.execute(uri: "/infer/abdominal_organs?image=ct_042", method: .post, headers: .form(),
                                     body: ByteBuffer(string: "--\(Form.boundary)\r\nContent-Disposition: form-data; name=\"params\"\r\n\r\n{\"result_extension\": \".nrrd\", \"result_dtype\": \"uint8\", \"device\": \"NVIDIA\"}\r\n--\(Form.boundary)--\r\n\r\n")) { response in
                #expect(response.status == .ok, "\(String(buffer: response.body).prefix(300))")
                let parts = try multipartParts(response)
                let params = try #require(try JSONSerialization.jsonObject(with: Data(parts[0].body)) as? [String: Any])
                #expect((params["label_names"] as? [String: Int])?["liver"] == 1)
                #expect((params["latencies"] as? [String: Double])?["total"] != nil)
            }
            let original = try store.label(imageID: "ct_042", tag: "original")
            #expect(original.version == 1)
            #expect(original.modelName == "abdominal_organs" && original.modelVersion == "1")
            try await client.execute(uri: "/infer/abdominal_organs?image=ct_042&output=dicom_seg", method: .post) {
                #expect($0.status == .unprocessableContent)
            }
            try await client.execute(uri: "/infer/abdominal_organs?image=nope", method: .post) {
                #expect($0.status == .notFound, "\(detail($0))")
            }
        }
    }
}
