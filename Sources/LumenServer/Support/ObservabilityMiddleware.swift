import Foundation
import Hummingbird
import Logging

/// Gives every request an id (echoed as `X-Request-Id`, attached to each log
/// line it causes), logs one line per request, and counts it for `/metrics`.
struct ObservabilityMiddleware: RouterMiddleware {
    typealias Context = LumenRequestContext
    let metrics: ServerMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        let id = request.headers[.init("X-Request-Id")!].map { String($0.prefix(64)) } ?? String(UUID().uuidString.prefix(8)).lowercased()
        context.logger[metadataKey: "request_id"] = .string(id)
        let start = ContinuousClock.now
        var response = try await next(request, context)
        let elapsed = ContinuousClock.now - start
        response.headers[.init("X-Request-Id")!] = id
        let route = context.endpointPath ?? "unmatched"
        metrics.request(route: route, method: request.method.rawValue, status: response.status.code, duration: elapsed)
        context.logger.info("\(request.method) \(request.uri.path) → \(response.status.code)", metadata: [
            "route": .string(route), "ms": .stringConvertible((elapsed / .milliseconds(1)).rounded()),
        ])
        return response
    }
}
