import ArgumentParser
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// The admin side of the CLI talks to a running `lumen serve` over HTTP, with
/// a bearer token, like any other client: `--server` / `LUMEN_SERVER`,
/// `--token` / `LUMEN_TOKEN`.
struct ServerOptions: ParsableArguments {
    @Option(help: "The server's URL (default: $LUMEN_SERVER, else http://127.0.0.1:8000).") var server: String?
    @Option(help: "An admin bearer token (default: $LUMEN_TOKEN).") var token: String?

    var client: ServerClient {
        let environment = ProcessInfo.processInfo.environment
        return ServerClient(base: server ?? environment["LUMEN_SERVER"] ?? "http://127.0.0.1:8000",
                            token: token ?? environment["LUMEN_TOKEN"])
    }
}

struct ServerClient {
    var base: String
    var token: String?

    /// Sends one request and returns the JSON object of a 2xx reply; any other reply becomes the server's own message.
    func call(_ method: String, _ path: String, body: Data? = nil, contentType: String? = nil) throws -> [String: Any] {
        let data = try raw(method, path, body: body, contentType: contentType)
        return (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] ?? [:]
    }

    /// The reply's bytes, for routes that answer text.
    func raw(_ method: String, _ path: String, body: Data? = nil, contentType: String? = nil) throws -> Data {
        guard let url = URL(string: base.trimmingCharacters(in: CharacterSet(charactersIn: "/")) + path) else {
            throw ValidationError("not a URL: \(base)\(path)")
        }
        var request = URLRequest(url: url, timeoutInterval: 3600)
        request.httpMethod = method
        request.httpBody = body
        if let contentType { request.setValue(contentType, forHTTPHeaderField: "Content-Type") }
        if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        let box = ResultBox()
        let done = DispatchSemaphore(value: 0)
        URLSession.shared.dataTask(with: request) { data, response, error in
            box.set(data, response as? HTTPURLResponse, error)
            done.signal()
        }.resume()
        done.wait()
        let (data, response, error) = box.get()
        if let error { throw ValidationError("cannot reach \(base): \(error.localizedDescription)") }
        let object = (data.flatMap { try? JSONSerialization.jsonObject(with: $0) }) as? [String: Any] ?? [:]
        guard let status = response?.statusCode, (200..<300).contains(status) else {
            let detail = object["detail"] as? String ?? String(decoding: data ?? Data(), as: UTF8.self)
            throw ValidationError("\(method) \(path): \(response?.statusCode ?? 0) \(detail)")
        }
        return data ?? Data()
    }

    /// A multipart body with one file part, as the admin upload route takes it.
    static func multipart(field: String, file: URL) throws -> (Data, String) {
        let boundary = "lumen-\(UUID().uuidString)"
        var body = Data("--\(boundary)\r\nContent-Disposition: form-data; name=\"\(field)\"; filename=\"\(file.lastPathComponent)\"\r\nContent-Type: application/octet-stream\r\n\r\n".utf8)
        body.append(try Data(contentsOf: file))
        body.append(Data("\r\n--\(boundary)--\r\n".utf8))
        return (body, "multipart/form-data; boundary=\(boundary)")
    }
}

/// URLSession's completion runs on another thread; this carries its result back.
private final class ResultBox: @unchecked Sendable {
    private let lock = NSLock()
    private var value: (Data?, HTTPURLResponse?, (any Error)?) = (nil, nil, nil)
    func set(_ data: Data?, _ response: HTTPURLResponse?, _ error: (any Error)?) { lock.lock(); value = (data, response, error); lock.unlock() }
    func get() -> (Data?, HTTPURLResponse?, (any Error)?) { lock.lock(); defer { lock.unlock() }; return value }
}
