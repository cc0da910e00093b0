import Foundation
import Hummingbird
import LumenInference
import LumenModels
import LumenIO
import LumenTensor

/// What both protocols share: turning an upload or a session into a volume,
/// running a bundle through the queue, and writing the label map the clients
/// expect (uint8 gzip NIfTI on the input's exact header).
public struct InferenceService: Sendable {
    public let registry: ModelRegistry
    public let queue: InferenceQueue
    public let sessions: SessionStore
    public let staging: URL
    public let maxVoxels: Int
    public let metrics: ServerMetrics
    public let maxUploadBytes: Int
    /// Where model versions live (`<store>/models/<name>/<n>`), and staging beside them.
    public let modelDirectory: URL
    /// Every change to a model goes through its versions: checked, gated, promoted.
    public let versions: ModelVersions?

    public init(registry: ModelRegistry, queue: InferenceQueue = InferenceQueue(), sessions: SessionStore = SessionStore(),
                staging: URL = FileManager.default.temporaryDirectory.appendingPathComponent("lumen-uploads"),
                maxVoxels: Int = Volume.defaultMaxVoxels, metrics: ServerMetrics = ServerMetrics(),
                maxUploadBytes: Int = 2 << 30,
                modelDirectory: URL = FileManager.default.temporaryDirectory.appendingPathComponent("lumen-models"),
                versions: ModelVersions? = nil) {
        self.modelDirectory = modelDirectory
        self.versions = versions
        self.maxUploadBytes = maxUploadBytes
        self.metrics = metrics
        self.registry = registry
        self.queue = queue
        self.sessions = sessions
        self.staging = staging
        self.maxVoxels = maxVoxels
        try? FileManager.default.createDirectory(at: staging, withIntermediateDirectories: true)
    }

    public struct Outcome: Sendable {
        public var image: Data
        /// What `image` encodes, for the datastore's `original` (stored without decoding it again).
        public var labels: Volume
        public var json: [String: JSONValue]
        public var milliseconds: [(String, Double)]

        /// The reply's params: the task's JSON, label names, and per-stage timings
        /// (`timings` in ms for AIAA readers, `latencies` in s as MONAI Label reports them).
        public func params(bundle: ModelBundle) -> [String: Any] {
            let labels = bundle.labels
            var object = JSONValue.object(json).any as? [String: Any] ?? [:]
            // Which version answered: AIAA and MONAI Label readers both find it here.
            object["model"] = bundle.name
            object["model_version"] = bundle.version
            if object["label_names"] == nil {
                object["label_names"] = Dictionary(uniqueKeysWithValues: labels.enumerated().map { ($0.element, $0.offset + 1) })
            }
            var ms: [String: Double] = [:], seconds: [String: Double] = [:]
            for (name, value) in milliseconds {
                ms[name] = (value * 10).rounded() / 10
                seconds[name] = (value).rounded() / 1000
            }
            ms["total"] = (milliseconds.map(\.1).reduce(0, +) * 10).rounded() / 10
            seconds["total"] = (ms["total"]! / 1000 * 1000).rounded() / 1000
            object["timings"] = ms
            object["latencies"] = seconds
            return object
        }
    }

    /// Reads an uploaded file; a broken or absurd NIfTI is the client's error (400), named.
    public func volume(fromUpload url: URL, name: String) async throws -> Volume {
        let limit = maxVoxels
        do {
            return try await Blocking.run { try Volume.read(url, maxVoxels: limit) }
        } catch let error as NIfTIError {
            // The staging file's name means nothing to the client; name its own file instead.
            let message = "\(error)".replacingOccurrences(of: url.path + ": ", with: "")
                .replacingOccurrences(of: url.lastPathComponent + ": ", with: "")
            throw ServerError.badRequest("\(name): \(message)")
        }
    }

    /// A label map as the clients expect it: uint8, gzip level 1 (fast; labels compress well anyway).
    public func encodeLabels(_ labels: Volume) async throws -> Data {
        try await Blocking.run { try labels.encodedNIfTIGz(datatype: .uint8, compression: 1) }
    }

    /// A fresh staging folder beside the model directory (same file system, so installing is a rename).
    func modelStaging() throws -> URL {
        let url = modelDirectory.appendingPathComponent(".staging-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// The audit trail of one version (added, gated, promoted, retired), oldest first.
    func versionAudit(name: String, version: Int) throws -> [[String: Any]] {
        guard let versions else { return [] }
        return try versions.store.auditLog().filter { $0.object == "\(name)@\(version)" }.map {
            ["at": $0.at.timeIntervalSince1970, "user": $0.user, "action": $0.action,
             "details": (try? JSONSerialization.jsonObject(with: Data($0.details.utf8))) ?? [:]]
        }
    }

    /// The versions service; a server without a datastore-backed one cannot change models.
    func modelVersions() throws -> ModelVersions {
        guard let versions else { throw ServerError.notFound("this server was started without model versions, so models cannot be changed") }
        return versions
    }

    public func run(_ bundle: ModelBundle, volume: Volume, clicks: Clicks, readMs: Double,
                    stillWanted: @escaping @Sendable () -> Bool = { true }) async throws -> Outcome {
        let began = ContinuousClock.now
        let limit = maxVoxels
        let (result, waited) = try await queue.run(stillWanted: stillWanted) {
            try TaskRunner.run(bundle, image: volume, clicks: clicks, maxVoxels: limit)
        }
        defer { metrics.inference(model: bundle.name, duration: ContinuousClock.now - began) }
        let start = DispatchTime.now().uptimeNanoseconds
        let data = try await encodeLabels(result.labels)
        let write = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
        let stages = [("read", readMs), ("queue", waited)] + result.timings.stages.map { ($0.name, $0.ms) } + [("write", write)]
        return Outcome(image: data, labels: result.labels, json: result.json, milliseconds: stages)
    }
}

/// Milliseconds since `start` (a DispatchTime in ns).
func elapsedMs(since start: UInt64) -> Double { Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6 }
