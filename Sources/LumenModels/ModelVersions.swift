import Foundation
import Logging
import LumenInference
import LumenIO
import LumenStore
import LumenTensor

/// Every change to a served model is a version: an upload, a patched config or
/// a fine-tuned candidate is checked, stored under `<store>/models/<name>/<n>/`,
/// compared with the serving version on the datastore's `final` labels, and
/// promoted only when it is not worse (by `gateMargin` mean Dice), or when an
/// admin forces it with a reason. Promotion is one transaction in the store and
/// one swap in the registry, so requests in flight finish on the version they
/// started with. Rollback serves an earlier version again, without the gate:
/// it has served before. The actor serialises changes; the heavy parts (load,
/// smoke inference, evaluation) run on Lumen's compute threads.
public actor ModelVersions {
    public nonisolated let store: Datastore
    public nonisolated let registry: ModelRegistry
    public nonisolated let root: URL
    public nonisolated let gateMargin: Double
    public nonisolated let maxVoxels: Int
    nonisolated let logger: Logger

    public struct Options: Sendable {
        public var force: Bool
        public var reason: String
        /// Accept a candidate whose labels differ from the serving version's.
        public var confirmLabels: Bool
        public init(force: Bool = false, reason: String = "", confirmLabels: Bool = false) {
            self.force = force; self.reason = reason; self.confirmLabels = confirmLabels
        }
    }

    /// What happened to a version, for the reply and `lumen models`.
    public struct Decision: Sendable {
        public var record: ModelVersionRecord
        public var promoted: Bool
        public var message: String
    }

    public init(store: Datastore, registry: ModelRegistry, root: URL, gateMargin: Double = 0.02,
                maxVoxels: Int = Volume.defaultMaxVoxels, logger: Logger = Logger(label: "lumen.models")) {
        self.store = store
        self.registry = registry
        self.root = root
        self.gateMargin = gateMargin
        self.maxVoxels = maxVoxels
        self.logger = logger
    }

    // MARK: start-up

    /// Records the registry's bundled models as versions, adopts bundles that an
    /// older Lumen stored as `<root>/<name>/`, and makes the registry serve what
    /// the store says serves. Runs once, before the server takes requests.
    public nonisolated func bootstrap() throws {
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        for name in registry.names {
            guard let directory = registry.directory(name), let bundle = registry.models[name] else { continue }
            let sha = try BundleDigest.sha256(of: directory)
            let known = try store.modelVersions(name: name)
            guard !known.contains(where: { $0.sha256 == sha }) else { continue }
            let serving = known.first { $0.state == .serving }
            // A changed bundled model (a new Lumen release) replaces an older bundled one; never an admin's upload.
            let serve = serving == nil || serving?.source == .bundled
            let record = ModelVersionRecord(name: name, version: try store.nextModelVersion(name: name), sha256: sha, source: .bundled,
                                            sourceDetail: directory.path, parent: serving?.version, state: .candidate,
                                            path: directory.path, labels: bundle.labels)
            try store.addModelVersion(record, user: "lumen")
            if serve { try store.promoteModelVersion(name: name, version: record.version, user: "lumen", reason: "bundled", forced: false) }
        }
        try adoptLegacyUploads()
        try serveWhatTheStoreSays()
    }

    /// `<root>/<name>/config/…` is how uploads were kept before versions: each becomes the serving upload version.
    nonisolated func adoptLegacyUploads() throws {
        let fm = FileManager.default
        for folder in (try? fm.contentsOfDirectory(at: root, includingPropertiesForKeys: nil)) ?? [] where ModelBundle.isBundle(folder) {
            let name = folder.lastPathComponent
            let version = try store.nextModelVersion(name: name)
            let moved = root.appendingPathComponent(".adopt-\(name)")
            try fm.moveItem(at: folder, to: moved)
            try fm.createDirectory(at: folder, withIntermediateDirectories: true)
            let target = folder.appendingPathComponent(String(version))
            try fm.moveItem(at: moved, to: target)
            try? AtomicFile.fsync(path: folder.path)
            let labels = (try? ModelBundle.load(target).labels) ?? []
            try store.addModelVersion(ModelVersionRecord(name: name, version: version, sha256: try BundleDigest.sha256(of: target),
                                                         source: .upload, sourceDetail: "adopted from an earlier Lumen", state: .candidate,
                                                         path: target.path, labels: labels), user: "lumen")
            try store.promoteModelVersion(name: name, version: version, user: "lumen", reason: "adopted upload", forced: false)
        }
    }

    nonisolated func serveWhatTheStoreSays() throws {
        let all = try store.modelVersions()
        let serving = Dictionary(all.filter { $0.state == .serving }.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        for name in Set(all.map(\.name)).subtracting(serving.keys) { registry.remove(name) }
        for (name, record) in serving {
            do {
                var bundle = try registry.directory(name)?.standardizedFileURL.path == URL(fileURLWithPath: record.path).standardizedFileURL.path
                    ? registry.model(name) : CandidateCheck.load(URL(fileURLWithPath: record.path), name: name)
                bundle.version = String(record.version)
                registry.install(bundle, from: URL(fileURLWithPath: record.path))
            } catch {
                registry.remove(name)
                registry.recordFailure(directory: record.path, reason: "version \(record.version) of \(name) serves but does not load: \(error)")
                logger.error("model \(name)@\(record.version) does not load: \(error)")
            }
        }
    }

    // MARK: changes

    /// A staged bundle folder (on the same file system as `root`) becomes the
    /// next version of `name`; then the gate decides whether it serves.
    public func submit(staged: URL, name: String, source: ModelVersionRecord.Source, detail: String, parent: Int?,
                       user: String, options: Options = Options(), trainedOn: String = "[]") async throws -> Decision {
        await lock()
        defer { unlock() }
        return try await submitLocked(staged: staged, name: name, source: source, detail: detail, parent: parent, user: user,
                                      options: options, trainedOn: trainedOn)
    }

    private func submitLocked(staged: URL, name: String, source: ModelVersionRecord.Source, detail: String, parent: Int?,
                              user: String, options: Options, trainedOn: String) async throws -> Decision {
        let sha = try await ComputePool.shared.run { try BundleDigest.sha256(of: staged) }
        if let same = try store.modelVersions(name: name).last(where: { $0.sha256 == sha && $0.state != .failed }) {
            try? FileManager.default.removeItem(at: staged)
            if same.state == .serving { return Decision(record: same, promoted: false, message: "\(name)@\(same.version) already serves these files") }
            return try await promoteLocked(name: name, version: same.version, user: user, options: options)
        }
        let version = try store.nextModelVersion(name: name)
        let folder = root.appendingPathComponent(name)
        let target = folder.appendingPathComponent(String(version))
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try FileManager.default.moveItem(at: staged, to: target)
        try? AtomicFile.fsync(path: folder.path)
        var record = ModelVersionRecord(name: name, version: version, sha256: sha, source: source, sourceDetail: detail,
                                        parent: parent, state: .candidate, path: target.path, labels: [], trainedOn: trainedOn)
        let limit = maxVoxels
        let checked: ModelBundle
        do {
            let (bundle, ms) = try await ComputePool.shared.run { () throws -> (ModelBundle, Double) in
                let bundle = try CandidateCheck.load(target, name: name)
                return (bundle, try CandidateCheck.smoke(bundle, maxVoxels: limit))
            }
            record.labels = bundle.labels
            record.metrics = Self.json(["smoke_ms": (ms * 10).rounded() / 10])
            checked = bundle
        } catch {
            record.state = .failed
            record.reason = "\(error)"
            try store.addModelVersion(record, user: user)
            throw ModelError.invalid("\(name)@\(version) was recorded as failed and will not serve: \(error)")
        }
        try store.addModelVersion(record, user: user)
        return try await promoteLocked(name: name, version: version, user: user, options: options, loaded: checked)
    }

    /// Serves a candidate if the gate lets it (or the admin forces it, with a reason).
    public func promote(name: String, version: Int, user: String, options: Options = Options()) async throws -> Decision {
        await lock()
        defer { unlock() }
        return try await promoteLocked(name: name, version: version, user: user, options: options)
    }

    /// `loaded`: the bundle when the caller has just loaded and checked it (a new version), so it is not read twice.
    private func promoteLocked(name: String, version: Int, user: String, options: Options,
                               loaded: ModelBundle? = nil) async throws -> Decision {
        guard let record = try store.modelVersion(name: name, version: version) else {
            throw ModelError.notFound("model \(name) has no version \(version)")
        }
        switch record.state {
        case .serving: return Decision(record: record, promoted: false, message: "\(name)@\(version) already serves")
        case .failed: throw ModelError.conflict("\(name)@\(version) failed its checks and cannot serve: \(record.reason)")
        case .retired where record.promotedAt != nil: return try await rollbackLocked(name: name, version: version, user: user)
        case .candidate, .retired: break
        }
        if options.force && options.reason.trimmingCharacters(in: .whitespaces).isEmpty {
            throw ModelError.conflict("forcing a promotion needs a reason; it goes into the audit log")
        }
        let limit = maxVoxels, store = self.store
        let candidate: ModelBundle
        if let loaded { candidate = loaded } else {
            candidate = try await ComputePool.shared.run { try CandidateCheck.load(URL(fileURLWithPath: record.path), name: name) }
        }
        guard let serving = try store.modelVersions(name: name).first(where: { $0.state == .serving }),
              let servingBundle = registry.models[name] else {
            return try commit(candidate, record, user: user, options: options, metrics: record.metrics, note: "nothing served \(name) before")
        }
        if serving.labels != candidate.labels && !(options.confirmLabels || options.force) {
            let message = "\(name)@\(version) has labels \(candidate.labels), the serving \(name)@\(serving.version) has \(serving.labels); promote it with confirm_labels=true if that is intended"
            try store.updateModelVersion(name: name, version: version, reason: message, user: user, action: "model.gate.refused")
            throw ModelError.refused(message)
        }
        let (mine, theirs) = try await ComputePool.shared.run {
            (try LabelEvaluation.evaluate(candidate, store: store, maxVoxels: limit),
             try LabelEvaluation.evaluate(servingBundle, store: store, maxVoxels: limit))
        }
        var metrics = (try? JSONSerialization.jsonObject(with: Data(record.metrics.utf8))) as? [String: Any] ?? [:]
        metrics["margin"] = gateMargin
        metrics["compared_with"] = serving.version
        if let mine { metrics["candidate"] = Self.object(mine) }
        if let theirs { metrics["serving"] = Self.object(theirs) }
        let json = Self.json(metrics)
        guard let a = mine?.mean, let b = theirs?.mean else {
            return try commit(candidate, record, user: user, options: options, metrics: json,
                              note: "no final labels in the datastore for \(name)'s labels, so nothing to compare; the checks passed")
        }
        let verdict = String(format: "mean Dice %.4f against the serving %@@%d's %.4f on %d held-out case(s), margin %.3f",
                             a, name, serving.version, b, mine?.cases.count ?? 0, gateMargin)
        if a < b - gateMargin && !options.force {
            try store.updateModelVersion(name: name, version: version, reason: "refused by the gate: \(verdict)", metrics: json,
                                         user: user, action: "model.gate.refused")
            throw ModelError.refused("\(name)@\(version) was not promoted: \(verdict). It stays a candidate; an admin may force it with a reason")
        }
        return try commit(candidate, record, user: user, options: options, metrics: json, note: verdict)
    }

    private func commit(_ bundle: ModelBundle, _ record: ModelVersionRecord, user: String, options: Options, metrics: String,
                        note: String) throws -> Decision {
        try store.updateModelVersion(name: record.name, version: record.version, reason: note, metrics: metrics, user: user,
                                     action: "model.gate.passed")
        let why = options.force ? options.reason : note
        try store.promoteModelVersion(name: record.name, version: record.version, user: user, reason: why, forced: options.force)
        var serving = bundle
        serving.version = String(record.version)
        registry.install(serving, from: URL(fileURLWithPath: record.path))
        logger.info("\(user) promoted \(record.name)@\(record.version): \(why)")
        let updated = try store.modelVersion(name: record.name, version: record.version) ?? record
        return Decision(record: updated, promoted: true, message: "\(record.name)@\(record.version) now serves: \(why)")
    }

    /// Serves an earlier version again. It served before, so the gate does not apply.
    public func rollback(name: String, version: Int, user: String) async throws -> Decision {
        await lock()
        defer { unlock() }
        return try await rollbackLocked(name: name, version: version, user: user)
    }

    private func rollbackLocked(name: String, version: Int, user: String) async throws -> Decision {
        guard let record = try store.modelVersion(name: name, version: version) else {
            throw ModelError.notFound("model \(name) has no version \(version)")
        }
        guard record.promotedAt != nil, record.state != .failed else {
            throw ModelError.conflict("\(name)@\(version) never served, so it cannot be rolled back to; promote it instead (the gate applies)")
        }
        if record.state == .serving { return Decision(record: record, promoted: false, message: "\(name)@\(version) already serves") }
        var bundle = try await ComputePool.shared.run { try CandidateCheck.load(URL(fileURLWithPath: record.path), name: name) }
        try store.promoteModelVersion(name: name, version: version, user: user, reason: "rollback", forced: false)
        bundle.version = String(version)
        registry.install(bundle, from: URL(fileURLWithPath: record.path))
        logger.info("\(user) rolled \(name) back to version \(version)")
        return Decision(record: try store.modelVersion(name: name, version: version) ?? record, promoted: true,
                        message: "\(name)@\(version) serves again")
    }

    /// Takes a version out of service (the model is unloaded when it served).
    /// Its files stay unless `purge` is set; bundled files are never deleted.
    public func retire(name: String, version: Int, user: String, purge: Bool) async throws -> ModelVersionRecord {
        await lock()
        defer { unlock() }
        guard let record = try store.modelVersion(name: name, version: version) else {
            throw ModelError.notFound("model \(name) has no version \(version)")
        }
        try store.updateModelVersion(name: name, version: version, state: .retired, reason: purge ? "retired, files purged" : "retired",
                                     user: user, action: purge ? "model.purge" : "model.retire")
        if record.state == .serving { registry.remove(name) }
        let path = URL(fileURLWithPath: record.path).standardizedFileURL
        if purge, path.path.hasPrefix(root.standardizedFileURL.path + "/") { try? FileManager.default.removeItem(at: path) }
        return try store.modelVersion(name: name, version: version) ?? record
    }

    // MARK: one change at a time

    /// The actor alone does not serialise: it re-enters at every `await` (a
    /// smoke inference, an evaluation), and two uploads of one name would take
    /// the same version number. Changes therefore queue here, in order.
    private var locked = false
    private var waiting: [CheckedContinuation<Void, Never>] = []

    private func lock() async {
        if locked { await withCheckedContinuation { waiting.append($0) } } else { locked = true }
    }

    private func unlock() {
        if waiting.isEmpty { locked = false } else { waiting.removeFirst().resume() }
    }

    /// Every version of `name`, oldest first.
    public nonisolated func versions(_ name: String) throws -> [ModelVersionRecord] {
        let all = try store.modelVersions(name: name)
        guard !all.isEmpty else { throw ModelError.notFound("model \(name) has no versions on this server") }
        return all
    }

    static func object(_ e: LabelEvaluation) -> [String: Any] {
        var o: [String: Any] = ["cases": e.cases, "dice": e.dice]
        if let mean = e.mean { o["mean_dice"] = mean }
        return o
    }

    static func json(_ object: [String: Any]) -> String {
        String(decoding: (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8), as: UTF8.self)
    }
}
