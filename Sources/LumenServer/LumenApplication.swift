import Foundation
import Hummingbird
import Logging
import LumenStore

/// Assembles Lumen's HTTP server. Middleware order matters: errors are
/// outermost so that auth failures and unknown routes also answer with
/// `{"detail": …}`, then auth, then one route group per resource.
public enum LumenApplication {
    public struct Configuration: Sendable {
        public var host: String
        public var port: Int
        public var tokens: TokenTable?
        public var ingestPolicy: IngestPolicy
        public var models: any ModelCatalog

        public init(host: String = "127.0.0.1", port: Int = 8000, tokens: TokenTable? = nil,
                    ingestPolicy: IngestPolicy = .reject, models: any ModelCatalog = StaticModelCatalog()) {
            self.host = host
            self.port = port
            self.tokens = tokens
            self.ingestPolicy = ingestPolicy
            self.models = models
        }
    }

    public static func router(configuration: Configuration, store: Datastore) -> Router<LumenRequestContext> {
        let router = Router(context: LumenRequestContext.self)
        router.add(middleware: ErrorMiddleware())
        router.add(middleware: AuthMiddleware(tokens: configuration.tokens))
        DatastoreRoutes(store: store, ingestPolicy: configuration.ingestPolicy, models: configuration.models)
            .register(on: router)
        return router
    }

    /// Refuses an open (token-less) server on anything but loopback.
    public static func checkBinding(_ configuration: Configuration) throws {
        if configuration.tokens == nil, !isLoopback(configuration.host) {
            throw ServerError.openNonLoopback(host: configuration.host)
        }
    }

    public static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host == "::1" || host == "[::1]" || host.hasPrefix("127.")
    }

    public static func application(configuration: Configuration, store: Datastore,
                                   logger: Logger = Logger(label: "lumen.server")) throws -> some ApplicationProtocol {
        try checkBinding(configuration)
        return Application(
            router: router(configuration: configuration, store: store),
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "lumen"),
            logger: logger)
    }
}
