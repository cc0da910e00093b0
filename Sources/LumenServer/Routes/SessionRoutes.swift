import Foundation
import Hummingbird

/// `/session/` as both AIAA and MONAI Label clients use it: any part with a
/// filename is the image, whatever the field is called (`image`, `files`, `image0`).
struct SessionRoutes: Sendable {
    let service: InferenceService

    func register(on router: Router<LumenRequestContext>) {
        for path in ["/session", "/v1/session"] {
            router.put(RouterPath(path)) { request, context in try await create(request, context) }
        }
        for path in ["/session/:id", "/v1/session/:id"] {
            router.get(RouterPath(path)) { request, context in try await get(request, context) }
            router.delete(RouterPath(path)) { request, context in try await delete(request, context) }
        }
    }

    func create(_ request: Request, _ context: LumenRequestContext) async throws -> Response {
        _ = try context.require(.annotator)
        let upload = try await UploadedRequest.receive(request, service: service)
        defer { upload.form?.removeFiles() }
        guard let files = upload.form?.files, !files.isEmpty else {
            throw ServerError.badRequest("PUT /session/ needs the image as a multipart file part")
        }
        guard files.count == 1 else {
            throw ServerError.badRequest("PUT /session/ got \(files.count) files; send one NIfTI volume (DICOM series are not accepted here)")
        }
        var expiry: Int?
        if let text = request.uri.queryParameters.get("expiry") {
            guard let seconds = Int(text), seconds >= 0 else {
                throw ServerError.badRequest("expiry must be a whole number of seconds (0 for the default), got \(text.prefix(40))")
            }
            expiry = seconds
        }
        let volume = try await service.volume(fromUpload: files[0].url, name: files[0].fileName)
        let session = try await service.sessions.create(volume: volume, name: files[0].fileName, expiry: expiry)
        context.logger.info("session \(session.id): \(files[0].fileName) \(volume.spatialShape) spacing \(volume.geometry.spacing)")
        return try Responses.json(["session_id": session.id, "session_info": session.info()])
    }

    func get(_ request: Request, _ context: LumenRequestContext) async throws -> Response {
        _ = try context.require(.annotator)
        let id = try context.parameters.require("id")
        let touch = request.uri.queryParameters.get("update_ts") != "false"
        guard let session = await service.sessions.get(id, touch: touch) else {
            throw ServerError.notFound("Session (\(id)) Not Found")
        }
        return try Responses.json(["session_id": session.id, "session_info": session.info()])
    }

    func delete(_ request: Request, _ context: LumenRequestContext) async throws -> Response {
        _ = try context.require(.annotator)
        let id = try context.parameters.require("id")
        guard let session = await service.sessions.delete(id) else { throw ServerError.notFound("Session (\(id)) Not Found") }
        return try Responses.json(["session_id": session.id, "session_info": session.info()])
    }
}
