import Foundation
import LumenIO
import LumenNN
import LumenTensor
import LumenTransforms

/// MONAI bundles (`configs/metadata.json`, `configs/inference.json`,
/// `models/model.pt`). Their configs are Python-flavoured: `@id` references are
/// resolved; `$` expressions are Python and are refused where Lumen reads
/// them (the network, the transforms it runs, the inferer), naming the key, so
/// a bundle never runs with a silently different meaning.
extension ModelBundle {
    public static func isMONAIBundle(_ directory: URL) -> Bool {
        FileManager.default.fileExists(atPath: directory.appendingPathComponent("configs/inference.json").path)
    }

    /// The one answer to "is this folder a bundle?": an MMAR (config/config_aiaa.json) or a MONAI bundle.
    public static func isBundle(_ directory: URL) -> Bool {
        FileManager.default.fileExists(atPath: directory.appendingPathComponent("config/config_aiaa.json").path) || isMONAIBundle(directory)
    }

    /// An MMAR or a MONAI bundle, whichever the directory holds.
    public static func load(_ directory: URL) throws -> ModelBundle {
        isMONAIBundle(directory) ? try loadMONAIBundle(directory) : try loadMMAR(directory)
    }

    public static func loadMONAIBundle(_ directory: URL) throws -> ModelBundle {
        let name = directory.lastPathComponent
        let file = "\(name)/configs/inference.json"
        let root = try readJSON(directory.appendingPathComponent("configs/inference.json"), file: file)
        let metaURL = directory.appendingPathComponent("configs/metadata.json")
        let meta = FileManager.default.fileExists(atPath: metaURL.path) ? try readJSON(metaURL, file: "\(name)/configs/metadata.json") : .object([:])
        let weights = directory.appendingPathComponent("models/model.pt")
        guard FileManager.default.fileExists(atPath: weights.path) else { throw BundleError.missingFile(bundle: name, file: "models/model.pt") }
        let resolver = BundleReferences(root: root, file: file)

        guard let networkDef = root["network_def"] else { throw BundleError.noNetwork(bundle: name) }
        let network = try resolver.resolve(networkDef, key: "network_def")
        let spec = try NetworkSpec(json: network)
        let pre = try TransformSpec.parsePre(try resolver.transforms("preprocessing"), file: file)
        let post = try TransformSpec.parsePost(try resolver.transforms("postprocessing"), file: file)
        let inferer = try resolver.resolve(root["inferer"] ?? .object([:]), key: "inferer")
        let target = inferer["_target_"]?.string.map { String($0.split(separator: ".").last ?? "") } ?? "SimpleInferer"
        guard ["SlidingWindowInferer", "SimpleInferer"].contains(target) else {
            throw BundleError.badArgument(file: file, key: "inferer", detail: "\(target) is not supported; use SlidingWindowInferer or SimpleInferer")
        }
        let spec2 = InfererSpec(slidingWindow: target == "SlidingWindowInferer",
                                roi: inferer["roi_size"]?.array?.compactMap(\.int) ?? [],
                                overlap: inferer["overlap"]?.double ?? 0.25,
                                gaussian: inferer["mode"]?.string == "gaussian")
        // channel_def {"0": "background", "1": "spleen"} → labels in value order, background dropped.
        let channels = meta["network_data_format"]?["outputs"]?["pred"]?["channel_def"]?.object ?? [:]
        let labels = channels.compactMap { key, value in Int(key).map { ($0, value.string ?? key) } }
            .filter { $0.0 > 0 }.sorted { $0.0 < $1.0 }.map(\.1)
        let checkpoint = try CheckpointLoader.load(weights)
        return ModelBundle(name: name, version: meta["version"]?.string ?? "1", kind: .segmentation, labels: labels,
                           description: meta["description"]?.string ?? meta["name"]?.string ?? "",
                           pre: pre, post: post, inferer: spec2,
                           network: try Network(spec: spec, stateDict: checkpoint.tensors))
    }
}

/// `@id` (and `@a::b` / `@a#b`) references of a MONAI bundle config.
struct BundleReferences {
    let root: JSONValue
    let file: String

    func lookup(_ id: String, key: String) throws -> JSONValue {
        var node: JSONValue? = root
        for part in id.split(whereSeparator: { $0 == "#" || $0 == ":" }).map(String.init) where !part.isEmpty {
            if let index = Int(part), let list = node?.array, list.indices.contains(index) { node = list[index] } else { node = node?[part] }
        }
        guard let found = node else {
            throw BundleError.badArgument(file: file, key: key, detail: "refers to @\(id), which the config does not define")
        }
        return found
    }

    func resolve(_ value: JSONValue, key: String, depth: Int = 0) throws -> JSONValue {
        guard depth < 32 else { throw BundleError.badArgument(file: file, key: key, detail: "references nest too deeply (a cycle?)") }
        switch value {
        case .string(let s) where s.hasPrefix("@"):
            return try resolve(try lookup(String(s.dropFirst()), key: key), key: key, depth: depth + 1)
        case .string(let s) where s.hasPrefix("$"):
            throw BundleError.badArgument(file: file, key: key,
                detail: "\"\(s.prefix(60))\" is a Python expression, which Lumen does not evaluate; write the value literally")
        case .array(let list):
            return .array(try list.enumerated().map { try resolve($1, key: "\(key)[\($0)]", depth: depth) })
        case .object(let object):
            var out: [String: JSONValue] = [:]
            for (k, v) in object { out[k] = try resolve(v, key: "\(key).\(k)", depth: depth) }
            return .object(out)
        default:
            return value
        }
    }

    /// A `Compose`'s transforms with references resolved; steps Lumen does implicitly
    /// (loading, channel handling, writing, Invertd) keep their Python-only arguments unread.
    func transforms(_ id: String) throws -> [JSONValue] {
        guard let compose = root[id] else { return [] }
        let list = compose["transforms"]?.array ?? compose.array ?? []
        return try list.enumerated().compactMap { i, raw in
            let key = "\(id).transforms[\(i)]"
            let entry = raw.string.map { _ in try? resolve(raw, key: key) } ?? raw
            guard let entry else { throw BundleError.badArgument(file: file, key: key, detail: "cannot be resolved") }
            if entry["_disabled_"]?.bool == true { return nil }
            let name = TransformNames.short(entry) ?? ""
            return TransformNames.segmentationTaskSteps.contains(name) ? entry : try resolve(entry, key: key)
        }
    }
}
