import Foundation
import Hummingbird
import NIOHTTP1

/// MONAI Label clients show the body of any non-200 reply to the user, so every
/// failure, including routing misses, becomes `{"detail": "<what to do>"}`.
struct ErrorMiddleware: RouterMiddleware {
    typealias Context = LumenRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError {
            let detail = error.body ?? (error.status == .notFound ? "no route \(request.method) \(request.uri.path) on this Lumen server" : error.status.reasonPhrase)
            return Self.response(status: error.status, detail: detail, headers: error.headers, aiaa: Self.isAIAA(request))
        } catch let error as HTTPParserError {
            // Broken framing: Hummingbird answers 400 and closes the connection. A
            // reply from here would be followed by its own, on a stream already lost.
            context.logger.info("\(request.method) \(request.uri.path): malformed HTTP (\(error)); answered 400 and closed")
            throw error
        } catch {
            let status = ErrorMapping.status(for: error)
            if status == .internalServerError {
                context.logger.error("\(request.method) \(request.uri.path) failed: \(error)")
                // The error's own text can name server paths; the log has it, the client gets what to do.
                if !(error is ServerError) {
                    return Self.response(status: status, detail: "Lumen failed to handle \(request.method) \(request.uri.path); the server log has the details (look for this path and time)",
                                         aiaa: Self.isAIAA(request), type: "InternalError")
                }
            }
            var headers = HTTPFields()
            if case ServerError.notAuthenticated = error { headers[.wwwAuthenticate] = "Bearer" }
            if case ServerError.invalidToken = error { headers[.wwwAuthenticate] = "Bearer" }
            if case ServerError.busy(let seconds) = error { headers[.retryAfter] = String(seconds) }
            return Self.response(status: status, detail: "\(error)", headers: headers, aiaa: Self.isAIAA(request),
                                 type: String(describing: type(of: error)))
        }
    }

    /// AIAA clients show `Status: <code>; Response: <body>`; Clara's bodies had this shape.
    static func isAIAA(_ request: Request) -> Bool {
        request.uri.path.contains("/v1/") || request.uri.path.hasPrefix("/session")
    }

    static func response(status: HTTPResponse.Status, detail: String, headers: HTTPFields = [:], aiaa: Bool = false,
                         type: String = "HTTPError") -> Response {
        let object: [String: Any] = aiaa ? ["success": false, "error": ["type": type, "message": [detail]], "detail": detail]
                                         : ["detail": detail]
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.withoutEscapingSlashes, .sortedKeys])) ?? Data("{}".utf8)
        var fields = headers
        fields[.contentType] = "application/json"
        fields[.contentLength] = String(data.count)
        return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}
