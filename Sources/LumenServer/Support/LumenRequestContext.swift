import Hummingbird
import Logging

public enum Role: String, Sendable, Codable, CaseIterable {
    case annotator, admin
}

/// Who a request acts as; written into every row and audit entry it causes.
public struct Identity: Sendable, Equatable {
    public var user: String
    public var role: Role
    public init(user: String, role: Role) {
        self.user = user
        self.role = role
    }
}

public struct LumenRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// Set by `AuthMiddleware` before any route runs.
    public var identity: Identity?

    public init(source: Source) {
        coreContext = .init(source: source)
        identity = nil
    }

    /// Uploads are streamed to disk, never decoded whole; this bounds only JSON bodies.
    public var maxUploadSize: Int { 16 * 1024 * 1024 }

    /// Admins may do everything annotators may.
    public func require(_ role: Role) throws -> Identity {
        guard let identity else { throw ServerError.notAuthenticated }
        guard identity.role == .admin || identity.role == role else {
            throw ServerError.forbidden(user: identity.user, needs: role.rawValue)
        }
        return identity
    }
}
