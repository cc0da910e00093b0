import Foundation
import HTTPTypes
import Hummingbird
import LumenInference
import LumenStore

enum Responses {
    static func json(_ object: Any, status: HTTPResponse.Status = .ok) throws -> Response {
        json(data: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .fragmentsAllowed, .withoutEscapingSlashes]), status: status)
    }

    static func json(data: Data, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status,
                        headers: [.contentType: "application/json", .contentLength: String(data.count)],
                        body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// A stored file as a download. The client saves it under the content-disposition
    /// name (it crashes without one); the ETag is the content hash.
    static func file(_ url: URL, downloadName: String, sha256: String, size: Int64, head: Bool,
                     context: LumenRequestContext) async throws -> Response {
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw ServerError.internalFailure("the stored file for \(downloadName) is missing on disk; an admin must restore it from a backup")
        }
        let headers: HTTPFields = [
            .contentType: "application/octet-stream",
            .contentDisposition: "attachment; filename=\"\(downloadName)\"",
            .eTag: "\"\(sha256)\"",
            .contentLength: String(size),
        ]
        if head { return Response(status: .ok, headers: headers) }
        let body = try await FileIO().loadFile(path: url.path, context: context)
        return Response(status: .ok, headers: headers, body: body)
    }

    static func parseObject(_ text: String?) -> [String: Any] {
        guard let text, let data = text.data(using: .utf8),
              let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return [:] }
        return object
    }

    /// The version that answered, as a header too, for clients that only read headers.
    static func answeredBy(_ bundle: ModelBundle, _ response: Response) -> Response {
        var response = response
        response.headers[HTTPField.Name("X-Lumen-Model-Version")!] = "\(bundle.name)@\(bundle.version)"
        return response
    }
}
