import Foundation
import Logging
import LumenInference

/// Every bundle the server serves, loaded at start-up and swapped by the admin
/// routes. A bundle that fails to load is reported and skipped: one broken MMAR
/// must not take the others down with it, and the reason is kept for `/info/`
/// and the start-up log. A swap replaces the whole bundle value under a lock, so
/// an inference already running keeps the network it started with.
public final class ModelRegistry: ModelCatalog, @unchecked Sendable {
    private let lock = NSLock()
    private var bundles: [String: ModelBundle]
    private var folders: [String: URL]
    public let failures: [(directory: String, reason: String)]

    public init(models: [ModelBundle], directories: [String: URL] = [:], failures: [(directory: String, reason: String)] = []) {
        self.bundles = Dictionary(models.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        self.folders = directories
        self.failures = failures
    }

    public var models: [String: ModelBundle] { lock.lock(); defer { lock.unlock() }; return bundles }

    /// Where a bundle was loaded from (for its config on `GET /admin/model/{name}`).
    public func directory(_ name: String) -> URL? { lock.lock(); defer { lock.unlock() }; return folders[name] }

    /// Serves `bundle` under its name from now on, replacing any earlier one.
    public func install(_ bundle: ModelBundle, from directory: URL) {
        lock.lock(); defer { lock.unlock() }
        bundles[bundle.name] = bundle
        folders[bundle.name] = directory
    }

    @discardableResult
    public func remove(_ name: String) -> ModelBundle? {
        lock.lock(); defer { lock.unlock() }
        folders[name] = nil
        return bundles.removeValue(forKey: name)
    }

    /// Loads every directory under `roots` that holds `config/config_aiaa.json`
    /// (a root that is itself a bundle counts too), in name order.
    public static func load(roots: [URL], logger: Logger? = nil) -> ModelRegistry {
        var bundles: [ModelBundle] = [], failures: [(String, String)] = [], directories: [String: URL] = [:]
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
                    let bundle = try ModelBundle.load(dir)
                    bundles.append(bundle)
                    directories[bundle.name] = directories[bundle.name] ?? dir
                    logger?.info("loaded model \(dir.lastPathComponent)")
                } catch {
                    failures.append((dir.path, "\(error)"))
                    logger?.error("model \(dir.path) not loaded: \(error)")
                }
            }
        }
        return ModelRegistry(models: bundles, directories: directories, failures: failures)
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
