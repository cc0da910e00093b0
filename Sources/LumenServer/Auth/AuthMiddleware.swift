import Foundation
import Hummingbird

/// Attaches the caller's identity. Without a token table the server is open
/// (it then listens on loopback only) and every request acts as the local admin,
/// as MONAI Label does with auth off.
struct AuthMiddleware: RouterMiddleware {
    typealias Context = LumenRequestContext
    let tokens: TokenTable?

    static let openIdentity = Identity(user: "local", role: .admin)

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        // A fine-tuning job reports with its own per-job token, which the route checks; no user token applies.
        if request.method == .post, request.uri.path == TrainRoutes.progressPath {
            return try await next(request, context)
        }
        guard let tokens else {
            context.identity = Self.openIdentity
            return try await next(request, context)
        }
        guard let header = request.headers[.authorization] else { throw ServerError.notAuthenticated }
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { throw ServerError.notAuthenticated }
        guard let identity = tokens.identity(for: String(parts[1]).trimmingCharacters(in: .whitespaces)) else {
            throw ServerError.invalidToken
        }
        context.identity = identity
        context.logger[metadataKey: "user"] = .string(identity.user)
        return try await next(request, context)
    }
}
