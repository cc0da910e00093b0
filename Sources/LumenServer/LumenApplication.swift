import LumenModels
import Foundation
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
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
        /// Models, queue and sessions; without it only the datastore routes are served.
        public var inference: InferenceService?
        /// Fine-tuning on Slurm; without it the training routes are not served.
        public var finetuning: Finetuning?
        /// Long-running work beside the HTTP server (the job monitor, the session sweeper).
        public var services: [any Service] = []
        /// A path prefix for every route (e.g. a secret one for token-less AIAA clients).
        public var prefix: String = ""
        /// What one upload may hold, for every route that takes one (datastore, ingest, inference).
        public var limits = UploadLimits()
        /// How long a client may stay silent mid-request or idle between requests; nil: no limit.
        public var readTimeout: Duration? = .seconds(60)
        /// The service's metrics when there is one, so inference and HTTP metrics share one registry.
        public var metrics: ServerMetrics { inference?.metrics ?? fallbackMetrics }
        private let fallbackMetrics = ServerMetrics()

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
        router.add(middleware: ObservabilityMiddleware(metrics: configuration.metrics))
        router.add(middleware: ErrorMiddleware())
        router.add(middleware: AuthMiddleware(tokens: configuration.tokens))
        DatastoreRoutes(store: store, ingestPolicy: configuration.ingestPolicy,
                        models: configuration.inference?.registry ?? configuration.models, limits: configuration.limits)
            .register(on: router)
        ActiveLearningRoutes(store: store).register(on: router)
        if let service = configuration.inference {
            AIAARoutes(service: service).register(on: router)
            PolygonRoutes(service: service).register(on: router)
            AdminRoutes(service: service).register(on: router)
            VersionRoutes(service: service).register(on: router)
            SessionRoutes(service: service).register(on: router)
            MONAILabelRoutes(service: service, store: store, finetuning: configuration.finetuning).register(on: router)
        }
        if let finetuning = configuration.finetuning {
            TrainRoutes(finetuning: finetuning).register(on: router)
        }
        OpenAPIRoutes(metrics: configuration.metrics, service: configuration.inference).register(on: router)
        return router
    }

    /// Refuses an open (token-less) server on anything but loopback.
    public static func checkBinding(_ configuration: Configuration) throws {
        if configuration.tokens == nil, !isLoopback(configuration.host) {
            throw ServerError.openNonLoopback(host: configuration.host)
        }
    }

    public static func normalisedPrefix(_ prefix: String) -> String { PathRewriter<Router<LumenRequestContext>>.normalise(prefix) }

    /// The router behind the prefix and `/v1/v1` rewriting; what the server (and in-process tests) run.
    public static func responder(configuration: Configuration, store: Datastore) -> PathRewriter<Router<LumenRequestContext>> {
        PathRewriter(prefix: configuration.prefix, inner: router(configuration: configuration, store: store),
                     tokens: configuration.tokens)
    }

    public static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host == "::1" || host == "[::1]" || host.hasPrefix("127.")
    }

    public static func application(configuration: Configuration, store: Datastore,
                                   logger: Logger = Logger(label: "lumen.server")) throws -> some ApplicationProtocol {
        try checkBinding(configuration)
        return Application(
            router: responder(configuration: configuration, store: store),
            server: .lumen(idleTimeout: configuration.readTimeout.map { TimeAmount.nanoseconds(Int64($0 / .nanoseconds(1))) }),
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "lumen"),
            services: configuration.services,
            logger: logger)
    }
}
