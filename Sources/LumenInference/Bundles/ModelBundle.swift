import Foundation
import LumenIO
import LumenNN
import LumenTensor

/// A loaded Clara MMAR: what `config/config_aiaa.json` says to do, the network
/// from `config/config_train.json` (or the checkpoint's `train_conf`), and the
/// weights from `models/model.pt`, bound and frozen once at load time.
public struct ModelBundle: Sendable {
    public enum Kind: String, Sendable, CaseIterable { case segmentation, deepgrow, annotation }

    public var name: String
    public var version: String
    public var kind: Kind
    public var labels: [String]
    public var description: String
    public var pre: [PreStep]
    public var post: [PostStep]
    public var inferer: InfererSpec
    public var network: Network
    /// `inference.meta_data` from config_aiaa.json, merged into the AIAA listing (e.g. `{"deepgrow": "3D"}`).
    public var metaData: [String: JSONValue] = [:]
    /// The deepgrow or DExtr3D pipeline; nil for segmentation bundles.
    public var interactive: InteractiveSpec?

    public struct InfererSpec: Sendable {
        public var slidingWindow: Bool
        public var roi: [Int]
        public var overlap: Double
        public var gaussian: Bool
    }

    public static func loadMMAR(_ directory: URL) throws -> ModelBundle {
        let name = directory.lastPathComponent
        let aiaaURL = directory.appendingPathComponent("config/config_aiaa.json")
        let weightsURL = directory.appendingPathComponent("models/model.pt")
        guard FileManager.default.fileExists(atPath: aiaaURL.path) else {
            throw BundleError.missingFile(bundle: name, file: "config/config_aiaa.json")
        }
        guard FileManager.default.fileExists(atPath: weightsURL.path) else {
            if FileManager.default.fileExists(atPath: directory.appendingPathComponent("models/model.frozen.pb").path) {
                throw BundleError.tensorFlowMMAR(bundle: name)
            }
            throw BundleError.missingFile(bundle: name, file: "models/model.pt")
        }
        // An MMAR is config_aiaa.json + config_train.json + model.pt; a bundle
        // missing its training config could not be fine-tuned or re-exported.
        guard FileManager.default.fileExists(atPath: directory.appendingPathComponent("config/config_train.json").path) else {
            throw BundleError.missingFile(bundle: name, file: "config/config_train.json")
        }
        let file = "\(name)/config/config_aiaa.json"
        let aiaa = try readJSON(aiaaURL, file: file)
        guard aiaa.object != nil else {
            throw BundleError.badJSON(file: file, detail: "must be a JSON object with at least \"type\" and \"labels\"")
        }
        let typeName: String
        switch aiaa["type"] {
        case nil: typeName = "segmentation"
        case let value?:
            guard let text = value.string else {
                throw BundleError.badArgument(file: file, key: "type", detail: "must be a string: one of \(Kind.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            typeName = text
        }
        guard let kind = Kind(rawValue: typeName) else {
            throw BundleError.unsupportedType(file: file, type: typeName, supported: Kind.allCases.map(\.rawValue))
        }
        let labels = try Self.labels(aiaa["labels"], file: file)
        let preList = aiaa["pre_transforms"]?.array ?? [], postList = aiaa["post_transforms"]?.array ?? []
        let metaData = aiaa["inference"]?["meta_data"]?.object ?? [:]
        var pre: [PreStep] = [], post: [PostStep] = []
        var interactive: InteractiveSpec?
        switch kind {
        case .segmentation:
            pre = try TransformSpec.parsePre(preList, file: file)
            post = try TransformSpec.parsePost(postList, file: file)
        case .deepgrow:
            interactive = .deepgrow(try InteractiveSpec.deepgrow(pre: preList, post: postList, meta: metaData, file: file))
        case .annotation:
            interactive = .dextr3d(try InteractiveSpec.dextr3d(pre: preList, post: postList, file: file))
        }
        let args = aiaa["inference"]?["AIAA"]?["args"] ?? aiaa["inference"] ?? .object([:])
        let roi = args["roi"]?.array?.compactMap(\.int) ?? []
        guard roi.allSatisfy({ (1...4096).contains($0) }), roi.count == (args["roi"]?.array?.count ?? 0) else {
            throw BundleError.badArgument(file: file, key: "inference.roi", detail: "must be whole numbers from 1 to 4096")
        }
        let overlap = args["overlap"]?.double ?? 0.25
        guard (0..<1).contains(overlap) else {
            throw BundleError.badArgument(file: file, key: "inference.overlap", detail: "must be at least 0 and below 1, got \(overlap)")
        }
        let inferer = InfererSpec(
            slidingWindow: args["scanning_window"]?.bool ?? (args["roi"] != nil),
            roi: roi,
            overlap: overlap,
            gaussian: (args["mode"]?.string ?? args["sw_mode"]?.string) == "gaussian")

        let checkpoint = try CheckpointLoader.load(weightsURL)
        let spec = try networkSpec(directory, checkpoint: checkpoint, bundle: name)
        let network = try Network(spec: spec, stateDict: checkpoint.tensors)
        let version = aiaa["version"].map { $0.string ?? $0.int.map(String.init) ?? "1" } ?? "1"
        return ModelBundle(name: name, version: version, kind: kind, labels: labels,
                           description: aiaa["description"]?.string ?? "", pre: pre, post: post,
                           inferer: inferer, network: network, metaData: metaData, interactive: interactive)
    }

    /// The first `model` entry found breadth-first in config_train.json, then
    /// `model.pt["train_conf"]`: the MMAR's own file is what an admin edits and
    /// what fine-tuning writes, so it wins when the two disagree.
    static func networkSpec(_ directory: URL, checkpoint: Checkpoint, bundle: String) throws -> NetworkSpec {
        let trainURL = directory.appendingPathComponent("config/config_train.json")
        if FileManager.default.fileExists(atPath: trainURL.path),
           let model = firstModel(try readJSON(trainURL, file: "\(bundle)/config/config_train.json")) {
            return try NetworkSpec(json: model)
        }
        if let conf = checkpoint.extras["train_conf"], let model = firstModel(conf) { return try NetworkSpec(json: model) }
        throw BundleError.noNetwork(bundle: bundle)
    }

    static func firstModel(_ root: JSONValue) -> JSONValue? {
        var queue = [root]
        while !queue.isEmpty {
            let node = queue.removeFirst()
            if let object = node.object {
                if let model = object["model"], model["name"] != nil || model["_target_"] != nil { return model }
                queue.append(contentsOf: object.keys.sorted().compactMap { object[$0] })
            } else if let array = node.array {
                queue.append(contentsOf: array)
            }
        }
        return nil
    }

    /// `labels`: a list of names, or one name; anything else is a config mistake.
    static func labels(_ value: JSONValue?, file: String) throws -> [String] {
        guard let value else { return [] }
        if let single = value.string { return [single] }
        guard let list = value.array, case let names = list.compactMap(\.string), names.count == list.count else {
            throw BundleError.badArgument(file: file, key: "labels", detail: "must be a list of label names (strings)")
        }
        return names
    }

    static func readJSON(_ url: URL, file: String) throws -> JSONValue {
        do { return try JSONValue(parsing: Data(contentsOf: url)) } catch {
            throw BundleError.badJSON(file: file, detail: "is not valid JSON (\(error.localizedDescription))")
        }
    }
}
