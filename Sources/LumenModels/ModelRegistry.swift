import Foundation
import Logging
import LumenInference

/// The bundles being served now, one per name, swapped whole under a lock: a
/// request takes the bundle value when it starts and keeps it to the end, so a
/// promotion under it never changes the network it runs; the next request gets
/// the new one. A bundle that fails to load is reported and skipped: one broken
/// MMAR must not take the others down, and the reason is kept for `/info/` and
/// the start-up log. Which version serves is `ModelVersions`' decision.
public final class ModelRegistry: @unchecked Sendable {
    private let lock = NSLock()
    private var bundles: [String: ModelBundle]
    private var folders: [String: URL]
    private var loadFailures: [(directory: String, reason: String)]

    public init(models: [ModelBundle], directories: [String: URL] = [:], failures: [(directory: String, reason: String)] = []) {
        self.bundles = Dictionary(models.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        self.folders = directories
        self.loadFailures = failures
    }

    /// A registry of its own over the same (immutable) bundles, for a second server or a test.
    public func copy() -> ModelRegistry {
        lock.lock(); defer { lock.unlock() }
        return ModelRegistry(models: Array(bundles.values), directories: folders, failures: loadFailures)
    }

    public var models: [String: ModelBundle] { lock.lock(); defer { lock.unlock() }; return bundles }
    public var failures: [(directory: String, reason: String)] { lock.lock(); defer { lock.unlock() }; return loadFailures }

    /// Where a bundle was loaded from (for its config on `GET /admin/model/{name}`).
    public func directory(_ name: String) -> URL? { lock.lock(); defer { lock.unlock() }; return folders[name] }

    /// Serves `bundle` under its name from now on, replacing any earlier one.
    public func install(_ bundle: ModelBundle, from directory: URL) {
        lock.lock(); defer { lock.unlock() }
        bundles[bundle.name] = bundle
        folders[bundle.name] = directory
    }

    public func recordFailure(directory: String, reason: String) {
        lock.lock(); defer { lock.unlock() }
        loadFailures.append((directory, reason))
    }

    @discardableResult
    public func remove(_ name: String) -> ModelBundle? {
        lock.lock(); defer { lock.unlock() }
        folders[name] = nil
        return bundles.removeValue(forKey: name)
    }

    /// The bundle folders under `roots` (a root that is itself a bundle counts too), in name order.
    public static func bundleFolders(roots: [URL]) -> [URL] {
        roots.flatMap { root -> [URL] in
            if ModelBundle.isBundle(root) { return [root] }
            return ((try? FileManager.default.contentsOfDirectory(at: root, includingPropertiesForKeys: nil)) ?? [])
                .filter(ModelBundle.isBundle).sorted { $0.lastPathComponent < $1.lastPathComponent }
        }
    }

    /// Loads every bundle folder under `roots`; the first of a name wins.
    public static func load(roots: [URL], logger: Logger? = nil) -> ModelRegistry {
        var bundles: [ModelBundle] = [], failures: [(String, String)] = [], directories: [String: URL] = [:]
        for dir in bundleFolders(roots: roots) {
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
        return ModelRegistry(models: bundles, directories: directories, failures: failures)
    }

    public var names: [String] { models.keys.sorted() }

    public func model(_ name: String) throws -> ModelBundle {
        guard let model = models[name] else {
            throw ModelError.notFound("model \"\(name)\" is not loaded on this server; loaded models: \(names.joined(separator: ", "))")
        }
        return model
    }

    public func labelValues(model: String) -> Set<Int>? {
        models[model].map { Set(1...max($0.labels.count, 1)) }
    }

    public func version(model: String) -> String? { models[model]?.version }
}
