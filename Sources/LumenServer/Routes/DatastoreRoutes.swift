import Foundation
import Hummingbird
import LumenStore

/// MONAI Label's datastore API (monailabel-protocol.md §6) over a `Datastore`.
/// The full server plugs this into its router next to the other resources:
///
///     let routes = DatastoreRoutes(store: store, ingestPolicy: .reject, models: registry)
///     routes.register(on: router)
public struct DatastoreRoutes: Sendable {
    public var store: Datastore
    /// Applied to image uploads: `reject` (default) refuses PHI, `scrub` removes it.
    public var ingestPolicy: IngestPolicy
    public var models: any ModelCatalog
    public var limits: UploadLimits

    public init(store: Datastore, ingestPolicy: IngestPolicy = .reject, models: any ModelCatalog = StaticModelCatalog(),
                limits: UploadLimits = UploadLimits()) {
        self.store = store
        self.ingestPolicy = ingestPolicy
        self.models = models
        self.limits = limits
    }

    public func register(on router: Router<LumenRequestContext>) {
        DatastoreListRoutes(store: store).register(on: router)
        ImageRoutes(store: store, ingestPolicy: ingestPolicy, limits: limits).register(on: router)
        LabelRoutes(store: store, models: models, limits: limits).register(on: router)
    }
}

extension Request {
    /// A required query parameter, with the message a client developer needs.
    func query(_ name: String, route: String) throws -> String {
        guard let value = uri.queryParameters.get(name), !value.isEmpty else {
            throw ServerError.badRequest("\(route) needs the query parameter '\(name)'")
        }
        return value
    }
}
