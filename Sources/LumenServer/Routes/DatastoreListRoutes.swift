import Foundation
import Hummingbird
import LumenStore

/// `GET /datastore/?output=stats|all|train`.
struct DatastoreListRoutes: Sendable {
    let store: Datastore

    func register(on router: Router<LumenRequestContext>) {
        router.get("/datastore") { request, context in try await list(request, context) }
    }

    func list(_ request: Request, _ context: LumenRequestContext) async throws -> Response {
        _ = try context.require(.annotator)
        let output = request.uri.queryParameters.get("output") ?? "stats"
        switch output {
        case "stats":
            let stats = try await Blocking.run { try store.stats() }
            return try Responses.json(["total": stats.total, "completed": stats.completed, "label_tags": stats.labelTags])
        case "all":
            let data = try await Blocking.run {
                try JSONSerialization.data(withJSONObject: try allMetadata(), options: [.sortedKeys, .withoutEscapingSlashes])
            }
            return Responses.json(data: data)
        case "train":
            let pairs = try await Blocking.run { try store.newestLabels(tag: "final") }
            return try Responses.json(pairs.map { ["image": store.fileURL(of: $0.image).path,
                                                   "label": store.fileURL(of: $0.label).path] })
        default:
            throw ServerError.unprocessable("output must be one of stats, all, train (got '\(output)')")
        }
    }

    /// The shape of MONAI Label's datastore_v2.json (§12.2), newest version per
    /// tag, with Lumen's version and provenance added beside the upstream keys.
    func allMetadata() throws -> [String: Any] {
        var objects: [String: Any] = [:]
        for image in try store.images() {
            var imageInfo = Responses.parseObject(image.info)
            imageInfo["ts"] = Int(image.createdAt.timeIntervalSince1970)
            imageInfo["name"] = image.id + image.ext
            imageInfo["user"] = image.addedBy
            var newest: [String: StoredLabel] = [:]
            for label in try store.labels(imageID: image.id) where (newest[label.tag]?.version ?? 0) < label.version {
                newest[label.tag] = label
            }
            var labels: [String: Any] = [:]
            for (tag, label) in newest {
                var info = Responses.parseObject(label.info)
                info["ts"] = Int(label.createdAt.timeIntervalSince1970)
                info["name"] = image.id + label.ext
                info["user"] = label.author
                var entry: [String: Any] = ["ext": label.ext, "info": info, "version": label.version,
                                            "sha256": label.sha256]
                if let model = label.modelName { entry["model"] = model; entry["model_version"] = label.modelVersion ?? "" }
                if let parent = label.parent { entry["parent"] = ["tag": parent.tag, "version": parent.version] }
                labels[tag] = entry
            }
            objects[image.id] = ["image": ["ext": image.ext, "info": imageInfo, "sha256": image.sha256],
                                 "labels": labels]
        }
        return ["name": "lumen", "description": "Lumen datastore", "images_dir": ".", "labels_dir": "labels",
                "objects": objects]
    }
}
