import LumenModels
/// What the datastore routes need to know about models: which label values a
/// model produces (a submitted label must use only those) and its version (for
/// `original` labels). The server's model registry implements this.
public protocol ModelCatalog: Sendable {
    /// Non-background values of the model's label map; nil when the model is unknown.
    func labelValues(model: String) -> Set<Int>?
    func version(model: String) -> String?
}

/// A fixed table, for tests and for servers without a registry.
public struct StaticModelCatalog: ModelCatalog {
    public var models: [String: (version: String, labels: Set<Int>)]
    public init(_ models: [String: (version: String, labels: Set<Int>)] = [:]) {
        self.models = models
    }
    public func labelValues(model: String) -> Set<Int>? { models[model]?.labels }
    public func version(model: String) -> String? { models[model]?.version }
}
extension ModelRegistry: ModelCatalog {}
