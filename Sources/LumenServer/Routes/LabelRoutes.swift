import Foundation
import Hummingbird
import LumenStore

/// `/datastore/label`: every submission is a new version; GET serves the newest
/// (or `&version=N`, a Lumen addition).
struct LabelRoutes: Sendable {
    let store: Datastore
    let models: any ModelCatalog
    let limits: UploadLimits

    func register(on router: Router<LumenRequestContext>) {
        router.put("/datastore/label") { request, context in try await submit(request, context) }
        router.get("/datastore/label") { request, context in try await download(request, context, head: false) }
        router.head("/datastore/label") { request, context in try await download(request, context, head: true) }
        router.delete("/datastore/label") { request, context in try await delete(request, context) }
    }

    func submit(_ request: Request, _ context: LumenRequestContext) async throws -> Response {
        let identity = try context.require(.annotator)
        let imageID = try request.query("image", route: "PUT /datastore/label")
        let tag = request.uri.queryParameters.get("tag").flatMap { $0.isEmpty ? nil : $0 } ?? "final"
        let form = try await MultipartForm.receive(request, into: store.stagingDirectory, maxBytes: limits.maxUploadBytes)
        defer { form.removeFiles() }
        guard let file = form.file(named: "label") else { throw MultipartError.missingPart("label") }
        let paramsText = form.fields["params"] ?? "{}"
        let params = Responses.parseObject(paramsText)
        // Slicer's Submit names the model whose labels the doctor edited.
        let model = params["model"] as? String
        let allowed = model.flatMap { models.labelValues(model: $0) }
        let provenance = tag == "original" ? model.map {
            ModelProvenance(name: $0, version: models.version(model: $0) ?? (params["model_version"] as? String) ?? "unknown")
        } : nil
        var parent: LabelRef?
        if let p = params["parent"] as? [String: Any] {
            guard let t = p["tag"] as? String, let v = p["version"] as? Int else {
                throw ServerError.badRequest("params.parent must be {\"tag\": <string>, \"version\": <int>}")
            }
            parent = LabelRef(tag: t, version: v)
        }
        let chosenParent = parent
        let label = try await Blocking.run {
            try store.addLabel(file: file.url, fileName: file.fileName, imageID: imageID, tag: tag, user: identity.user,
                               model: provenance, parent: chosenParent, allowedValues: allowed, info: paramsText,
                               maxVoxels: limits.maxVoxels)
        }
        var reply: [String: Any] = ["image": imageID, "label": imageID, "tag": label.tag, "version": label.version,
                                    "sha256": label.sha256]
        if let p = label.parent { reply["parent"] = ["tag": p.tag, "version": p.version] }
        return try Responses.json(reply)
    }

    func download(_ request: Request, _ context: LumenRequestContext, head: Bool) async throws -> Response {
        _ = try context.require(.annotator)
        // GET names the image `label`, HEAD names it `image` (upstream's quirk); accept both on both.
        let id = request.uri.queryParameters.get("label") ?? request.uri.queryParameters.get("image") ?? ""
        guard !id.isEmpty else { throw ServerError.badRequest("GET /datastore/label needs the query parameter 'label' (the image id)") }
        let tag = request.uri.queryParameters.get("tag").flatMap { $0.isEmpty ? nil : $0 } ?? "final"
        var version: Int?
        if let v = request.uri.queryParameters.get("version") {
            guard let n = Int(v), n >= 1 else { throw ServerError.badRequest("version must be a positive whole number") }
            version = n
        }
        let wanted = version
        let label = try await Blocking.run { try store.label(imageID: id, tag: tag, version: wanted) }
        return try await Responses.file(store.fileURL(of: label), downloadName: id + label.ext, sha256: label.sha256,
                                        size: label.size, head: head, context: context)
    }

    func delete(_ request: Request, _ context: LumenRequestContext) async throws -> Response {
        let identity = try context.require(.admin)
        let id = try request.query("id", route: "DELETE /datastore/label")
        let tag = request.uri.queryParameters.get("tag").flatMap { $0.isEmpty ? nil : $0 } ?? "final"
        try await Blocking.run { try store.deleteLabel(imageID: id, tag: tag, user: identity.user) }
        return try Responses.json([String: Any]())
    }
}
