import Foundation
import Hummingbird
import LumenStore

/// MONAI Label's `POST /activelearning/{strategy}`: Slicer's Next Sample button.
/// `{}` when every image has a `final` label, which Slicer reports as such.
struct ActiveLearningRoutes: Sendable {
    let store: Datastore

    func register(on router: Router<LumenRequestContext>) {
        router.post("/activelearning/:strategy") { request, context in try await next(request, context) }
    }

    func next(_ request: Request, _ context: LumenRequestContext) async throws -> Response {
        let identity = try context.require(.annotator)
        let name = context.parameters.get("strategy") ?? ""
        guard let strategy = Datastore.SampleStrategy(rawValue: name) else {
            throw ServerError.badRequest("unknown active learning strategy \"\(name.prefix(40))\"; this server offers \(Datastore.SampleStrategy.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        let body = try await request.body.collect(upTo: 64 << 10)
        let config = (try? JSONSerialization.jsonObject(with: Data(buffer: body))) as? [String: Any] ?? [:]
        let client = String((config["client_id"] as? String ?? identity.user).prefix(200))
        let store = self.store
        guard let sample = try await Blocking.run({ try store.nextSample(strategy: strategy, client: client) }) else {
            return try Responses.json([String: Any]())
        }
        return try Responses.json(["id": sample.image.id, "weight": sample.weight, "ts": sample.ts,
                                   "name": sample.image.id + sample.image.ext,
                                   "path": store.fileURL(of: sample.image).path])
    }
}
