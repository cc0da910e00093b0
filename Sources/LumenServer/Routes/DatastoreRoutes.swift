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

    public init(store: Datastore, ingestPolicy: IngestPolicy = .reject, models: any ModelCatalog = StaticModelCatalog()) {
        self.store = store
        self.ingestPolicy = ingestPolicy
        self.models = models
    }

    public func register(on router: Router<LumenRequestContext>) {
        DatastoreListRoutes(store: store).register(on: router)
        ImageRoutes(store: store, ingestPolicy: ingestPolicy).register(on: router)
        LabelRoutes(store: store, models: models).register(on: router)
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
