import Foundation
import Hummingbird
import LumenStore

/// `/datastore/image` (and the `PUT/DELETE /datastore/` aliases the Python client uses).
struct ImageRoutes: Sendable {
    let store: Datastore
    let ingestPolicy: IngestPolicy
    let limits: UploadLimits

    func register(on router: Router<LumenRequestContext>) {
        router.put("/datastore/image") { request, context in try await upload(request, context) }
        router.put("/datastore") { request, context in try await upload(request, context) }
        router.get("/datastore/image") { request, context in try await download(request, context, head: false) }
        router.head("/datastore/image") { request, context in try await download(request, context, head: true) }
        router.delete("/datastore/image") { request, context in try await delete(request, context) }
        router.delete("/datastore") { request, context in try await delete(request, context) }
    }

    /// Runs the upload through the ingest policy: an image that may identify a
    /// patient is refused (422) or scrubbed before anything is stored.
    func upload(_ request: Request, _ context: LumenRequestContext) async throws -> Response {
        let identity = try context.require(.annotator)
        let form = try await MultipartForm.receive(request, into: store.stagingDirectory, maxBytes: limits.maxUploadBytes)
        defer { form.removeFiles() }
        guard let file = form.file(named: "file") else { throw MultipartError.missingPart("file") }
        let requestedID = request.uri.queryParameters.get("image").flatMap { $0.isEmpty ? nil : $0 }
        let ingestor = Ingestor(store: store, policy: ingestPolicy, user: identity.user, maxVoxels: limits.maxVoxels)
        let info = form.fields["params"] ?? "{}"
        let image = try await Blocking.run {
            try ingestor.ingestUpload(file: file.url, fileName: file.fileName, requestedID: requestedID, info: info)
        }
        return try Responses.json(["image": image.id])
    }

    func download(_ request: Request, _ context: LumenRequestContext, head: Bool) async throws -> Response {
        _ = try context.require(.annotator)
        let id = try request.query("image", route: "GET /datastore/image")
        guard let image = try await Blocking.run({ try store.image(id: id) }) else { throw StoreError.imageNotFound(id: id) }
        if head, let checksum = request.uri.queryParameters.get("check_sum") {
            // "SHA256:<hex>"; upstream compared prefixed with unprefixed and always said 404.
            let hex = checksum.split(separator: ":").last.map(String.init)?.lowercased() ?? ""
            guard hex == image.sha256 else { throw StoreError.imageNotFound(id: id) }
        }
        return try await Responses.file(store.fileURL(of: image), downloadName: image.id + image.ext,
                                        sha256: image.sha256, size: image.size, head: head, context: context)
    }

    func delete(_ request: Request, _ context: LumenRequestContext) async throws -> Response {
        let identity = try context.require(.admin)
        let id = try request.query("id", route: "DELETE /datastore/image")
        try await Blocking.run { try store.deleteImage(id: id, user: identity.user) }
        return try Responses.json([String: Any]())
    }
}
