import Foundation
import Logging
import LumenInference

/// Every bundle the server serves, loaded once at start-up. A bundle that fails
/// to load is reported and skipped: one broken MMAR must not take the others
/// down with it, and the reason is kept for `/info/` and the start-up log.
public final class ModelRegistry: ModelCatalog, @unchecked Sendable {
    public let models: [String: ModelBundle]
    public let failures: [(directory: String, reason: String)]

    public init(models: [ModelBundle], failures: [(directory: String, reason: String)] = []) {
        self.models = Dictionary(models.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        self.failures = failures
    }

    /// Loads every directory under `roots` that holds `config/config_aiaa.json`
    /// (a root that is itself a bundle counts too), in name order.
    public static func load(roots: [URL], logger: Logger? = nil) -> ModelRegistry {
        var bundles: [ModelBundle] = [], failures: [(String, String)] = []
        let fm = FileManager.default
        for root in roots {
            let candidates: [URL]
            if fm.fileExists(atPath: root.appendingPathComponent("config/config_aiaa.json").path) || ModelBundle.isMONAIBundle(root) {
                candidates = [root]
            } else {
                candidates = ((try? fm.contentsOfDirectory(at: root, includingPropertiesForKeys: nil)) ?? [])
                    .filter { fm.fileExists(atPath: $0.appendingPathComponent("config/config_aiaa.json").path) || ModelBundle.isMONAIBundle($0) }
                    .sorted { $0.lastPathComponent < $1.lastPathComponent }
            }
            for dir in candidates {
                do {
                    bundles.append(try ModelBundle.load(dir))
                    logger?.info("loaded model \(dir.lastPathComponent)")
                } catch {
                    failures.append((dir.path, "\(error)"))
                    logger?.error("model \(dir.path) not loaded: \(error)")
                }
            }
        }
        return ModelRegistry(models: bundles, failures: failures)
    }

    public var names: [String] { models.keys.sorted() }

    public func model(_ name: String) throws -> ModelBundle {
        guard let model = models[name] else {
            throw ServerError.notFound("model \"\(name)\" is not loaded on this server; loaded models: \(names.joined(separator: ", "))")
        }
        return model
    }

    public func labelValues(model: String) -> Set<Int>? {
        models[model].map { Set(1...max($0.labels.count, 1)) }
    }

    public func version(model: String) -> String? { models[model]?.version }
}
