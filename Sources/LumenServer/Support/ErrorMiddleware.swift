import Foundation
import Hummingbird

/// MONAI Label clients show the body of any non-200 reply to the user, so every
/// failure, including routing misses, becomes `{"detail": "<what to do>"}`.
struct ErrorMiddleware: RouterMiddleware {
    typealias Context = LumenRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError {
            let detail = error.body ?? (error.status == .notFound ? "Not Found: \(request.uri.path)" : error.status.reasonPhrase)
            return Self.response(status: error.status, detail: detail, headers: error.headers)
        } catch {
            let status = ErrorMapping.status(for: error)
            if status == .internalServerError {
                context.logger.error("\(request.method) \(request.uri.path) failed: \(error)")
            }
            var headers = HTTPFields()
            if case ServerError.notAuthenticated = error { headers[.wwwAuthenticate] = "Bearer" }
            if case ServerError.invalidToken = error { headers[.wwwAuthenticate] = "Bearer" }
            return Self.response(status: status, detail: "\(error)", headers: headers)
        }
    }

    static func response(status: HTTPResponse.Status, detail: String, headers: HTTPFields = [:]) -> Response {
        let data = (try? JSONSerialization.data(withJSONObject: ["detail": detail], options: [.withoutEscapingSlashes])) ?? Data("{}".utf8)
        var fields = headers
        fields[.contentType] = "application/json"
        fields[.contentLength] = String(data.count)
        return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}
