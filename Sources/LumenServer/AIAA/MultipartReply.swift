import Foundation
import Hummingbird

/// The reply every AIAA and MONAI Label client can read: a JSON `params` part
/// first (no filename), then one `image` part with a filename, a random hex
/// boundary, a Content-Length and never chunked (the Python AIAA client writes
/// chunk-size lines into the saved image otherwise), no preamble.
enum MultipartReply {
    static func make(json: [String: Any], file: Data, fileName: String) throws -> Response {
        let boundary = UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
        let params = try JSONSerialization.data(withJSONObject: json, options: [.sortedKeys, .withoutEscapingSlashes])
        var body = Data()
        body.append(Data("--\(boundary)\r\nContent-Disposition: form-data; name=\"params\"\r\nContent-Type: application/json\r\n\r\n".utf8))
        body.append(params)
        body.append(Data("\r\n--\(boundary)\r\nContent-Disposition: form-data; name=\"image\"; filename=\"\(fileName)\"\r\nContent-Type: application/octet-stream\r\n\r\n".utf8))
        body.append(file)
        body.append(Data("\r\n--\(boundary)--\r\n".utf8))
        return Response(status: .ok,
                        headers: [.contentType: "multipart/form-data; boundary=\(boundary)", .contentLength: String(body.count)],
                        body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }

    static func file(_ data: Data, fileName: String) -> Response {
        Response(status: .ok,
                 headers: [.contentType: "application/octet-stream", .contentLength: String(data.count),
                           .contentDisposition: "attachment; filename=\"\(fileName)\""],
                 body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}
