import Foundation
import Hummingbird
import LumenInference
import LumenModels
import LumenIO
import LumenTensor

/// NVIDIA Clara AIAA v1, as the Slicer NvidiaAIAA extension, the Python and the
/// C++ clients call it (aiaa-protocol.md).
struct AIAARoutes: Sendable {
    let service: InferenceService

    func register(on router: Router<LumenRequestContext>) {
        router.get("/v1/models") { request, context in try listing(request, context) }
        for route in ["segmentation", "deepgrow", "dextr3d", "inference"] {
            router.post("/v1/\(route)") { request, context in try await infer(route, request, context) }
        }
    }

    static func entry(_ model: ModelBundle) -> [String: Any] {
        var object: [String: Any] = ["name": model.name, "type": model.kind.rawValue, "version": model.version,
                                     "labels": model.labels, "description": model.description]
        for (key, value) in model.metaData { object[key] = value.any }
        if model.kind == .annotation { object["padding"] = 20; object["roi"] = [128, 128, 128] }
        return object
    }

    func listing(_ request: Request, _ context: LumenRequestContext) throws -> Response {
        _ = try context.require(.annotator)
        let query = request.uri.queryParameters
        if let name = query.get("model"), !name.isEmpty {
            return try Responses.json(Self.entry(try service.registry.model(name)))
        }
        var models = service.registry.names.compactMap { service.registry.models[$0] }
        if let label = query.get("label")?.lowercased(), !label.isEmpty {
            models = models.filter { $0.labels.contains { $0.lowercased().contains(label) } }
        }
        if let type = query.get("type"), !type.isEmpty { models = models.filter { $0.kind.rawValue == type } }
        return try Responses.json(models.map(Self.entry))
    }

    /// One handler for the four inference routes; `/v1/inference` takes any model type.
    func infer(_ route: String, _ request: Request, _ context: LumenRequestContext) async throws -> Response {
        _ = try context.require(.annotator)
        let query = request.uri.queryParameters
        guard let name = query.get("model"), !name.isEmpty else {
            throw ServerError.badRequest("POST /v1/\(route) needs ?model=<name>; GET /v1/models lists them")
        }
        let bundle = try service.registry.model(name)
        let expected: [String: ModelBundle.Kind] = ["segmentation": .segmentation, "deepgrow": .deepgrow, "dextr3d": .annotation]
        if let kind = expected[route], bundle.kind != kind {
            throw ServerError.badRequest("model \(name) is a \(bundle.kind.rawValue) model, not \(kind.rawValue); /v1/inference takes any model")
        }
        let start = DispatchTime.now().uptimeNanoseconds
        let input = try await InferenceRequest.resolve(request, route: "/v1/\(route)", service: service, store: nil)
        defer { input.removeFiles() }
        let outcome = try await service.run(bundle, volume: input.volume, clicks: input.clicks, readMs: elapsedMs(since: start),
                                             stillWanted: context.connectionWatch())
        var json = outcome.params(bundle: bundle)
        if json["points"] == nil { json["points"] = [[Int]]() }
        switch query.get("output") ?? "" {
        case "image": return Responses.answeredBy(bundle, MultipartReply.file(outcome.image, fileName: "result.nii.gz"))
        case "json": return Responses.answeredBy(bundle, try Responses.json(json))
        default: return Responses.answeredBy(bundle, try MultipartReply.make(json: json, file: outcome.image, fileName: "result.nii.gz"))
        }
    }
}
