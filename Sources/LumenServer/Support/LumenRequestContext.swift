import Foundation
import Hummingbird
import NIOCore
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
    /// The client's connection: an inference that waited in the queue is skipped
    /// when the client has hung up in the meantime (Slicer users often click again).
    public let channel: any Channel

    public init(source: Source) {
        coreContext = .init(source: source)
        identity = nil
        channel = source.channel
    }

    /// A check that turns false once the client's connection has closed (watching
    /// the close, not `isActive`, which in-process test channels never set).
    public func connectionWatch() -> @Sendable () -> Bool {
        let closed = ClosedFlag()
        channel.closeFuture.whenComplete { _ in closed.set() }
        return { !closed.value }
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

final class ClosedFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var closed = false
    func set() { lock.lock(); closed = true; lock.unlock() }
    var value: Bool { lock.lock(); defer { lock.unlock() }; return closed }
}
