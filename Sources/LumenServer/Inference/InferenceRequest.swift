import Foundation
import Hummingbird
import LumenInference
import LumenIO
import LumenStore

/// What an infer route works on, however the client sent it: an uploaded file, a session (AIAA
/// and MONAI Label), or a datastore image (MONAI Label's `?image=`). Both protocols' handlers
/// resolve their input here, so they cannot drift apart on what a request may name.
struct InferenceRequest {
    var volume: Volume
    var clicks: Clicks
    /// The datastore image the volume came from: a segmentation of it is kept as `original`.
    var datastoreImage: StoredImage?
    private var upload: UploadedRequest

    /// Resolves the input in MONAI Label's order: a file part, then a live session, then a
    /// datastore image (`store` nil: the route takes none); an expired session with no image to
    /// fall back on is 440 (monailabel-protocol.md §7).
    static func resolve(_ request: Request, route: String, service: InferenceService, store: Datastore?) async throws -> InferenceRequest {
        let upload = try await UploadedRequest.receive(request, service: service)
        do {
            let params = try ClickParams.object(upload.form?.fields["params"])
            let clicks = try ClickParams.clicks(params)
            let query = request.uri.queryParameters
            let sessionID = query.get("session_id").flatMap { $0.isEmpty ? nil : $0 }
            let imageID = store == nil ? nil : query.get("image").flatMap { $0.isEmpty ? nil : $0 }
            if let file = upload.form?.files.first {
                let volume = try await service.volume(fromUpload: file.url, name: file.fileName)
                return InferenceRequest(volume: volume, clicks: clicks, upload: upload)
            }
            if let sessionID, let session = await service.sessions.get(sessionID) {
                return InferenceRequest(volume: session.volume, clicks: clicks, upload: upload)
            }
            if let imageID, let store, let image = try await Blocking.run({ try store.image(id: imageID) }) {
                let volume = try await service.volume(fromUpload: store.fileURL(of: image), name: imageID)
                return InferenceRequest(volume: volume, clicks: clicks, datastoreImage: image, upload: upload)
            }
            if let sessionID {
                throw ServerError.sessionExpired("Session (\(sessionID)) Not Found: it is unknown or has expired; upload the image again")
            }
            if let imageID { throw StoreError.imageNotFound(id: imageID) }
            throw ServerError.badRequest(store == nil ? "POST \(route) needs an image file part or ?session_id="
                                                      : "POST \(route) needs an image file part, ?session_id= or ?image=")
        } catch {
            upload.form?.removeFiles()
            throw error
        }
    }

    /// Deletes the uploaded parts; call when the reply is built.
    func removeFiles() { upload.form?.removeFiles() }
}

/// A request body that may be multipart (usual), empty (inference by session),
/// or absent entirely (HTTP/1.0 without Content-Length is read to the end).
struct UploadedRequest {
    var form: MultipartForm?

    static func receive(_ request: Request, service: InferenceService) async throws -> UploadedRequest {
        let type = request.headers[.contentType] ?? ""
        guard type.lowercased().contains("multipart") else { return UploadedRequest(form: nil) }
        return UploadedRequest(form: try await MultipartForm.receive(request, into: service.staging, maxBytes: service.maxUploadBytes))
    }
}
