import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// A minimal AIAA client, written the way the Slicer extension talks: multipart
/// uploads with the Python client's `$` boundary, multipart replies with a JSON
/// `params` part and the result image.
struct DemoClient {
    let base: String
    static let boundary = "----------lImIt_of_THE_fIle_eW_$"

    func get(_ path: String) async throws -> Data {
        let (data, response) = try await URLSession.shared.data(from: URL(string: base + path)!)
        try Self.check(response, data, path)
        return data
    }

    /// POST or PUT a multipart body with `params` and (optionally) one file; returns the raw reply.
    func send(_ method: String, _ path: String, params: String = "{}", file: URL?) async throws -> (Data, String) {
        var body = Data("--\(Self.boundary)\r\nContent-Disposition: form-data; name=\"params\"\r\n\r\n\(params)\r\n".utf8)
        if let file {
            body += Data("--\(Self.boundary)\r\nContent-Disposition: form-data; name=\"image\"; filename=\"\(file.lastPathComponent)\"\r\nContent-Type: application/octet-stream\r\n\r\n".utf8)
            body += try Data(contentsOf: file)
            body += Data("\r\n".utf8)
        }
        body += Data("--\(Self.boundary)--\r\n\r\n".utf8)
        var request = URLRequest(url: URL(string: base + path)!)
        request.httpMethod = method
        request.setValue("multipart/form-data; boundary=\(Self.boundary)", forHTTPHeaderField: "Content-Type")
        request.httpBody = body
        request.timeoutInterval = 600
        let (data, response) = try await URLSession.shared.data(for: request)
        try Self.check(response, data, path)
        return (data, (response as? HTTPURLResponse)?.value(forHTTPHeaderField: "Content-Type") ?? "")
    }

    /// Splits a multipart reply into its JSON params and its file.
    static func parts(_ data: Data, contentType: String) throws -> (params: [String: Any], file: Data) {
        guard let range = contentType.range(of: "boundary=") else { throw DemoError.reply("not multipart: \(contentType)") }
        let delimiter = Data("--\(contentType[range.upperBound...])".utf8)
        var pieces: [Data] = []
        var cursor = data.startIndex
        while let found = data.range(of: delimiter, in: cursor..<data.endIndex) {
            if cursor != data.startIndex { pieces.append(data[cursor..<(found.lowerBound - 2)]) }
            cursor = found.upperBound + 2
        }
        let bodies = pieces.compactMap { piece -> Data? in
            guard let split = piece.range(of: Data("\r\n\r\n".utf8)) else { return nil }
            return piece[split.upperBound...]
        }
        guard bodies.count == 2, let params = try JSONSerialization.jsonObject(with: bodies[0]) as? [String: Any] else {
            throw DemoError.reply("expected a params part and an image part")
        }
        return (params, Data(bodies[1]))
    }

    static func check(_ response: URLResponse, _ data: Data, _ path: String) throws {
        let status = (response as? HTTPURLResponse)?.statusCode ?? 0
        guard status == 200 else { throw DemoError.reply("\(path): status \(status): \(String(decoding: data.prefix(300), as: UTF8.self))") }
    }
}

enum DemoError: Error, CustomStringConvertible {
    case reply(String), server(String)
    var description: String {
        switch self { case .reply(let s): "unexpected reply: \(s)"; case .server(let s): s }
    }
}
