import Foundation
import Hummingbird
import LumenModels
import LumenStore

/// Model versions for admins (list, show, promote, roll back, retire) beside
/// `/admin/model/{name}`, and MONAI Label's `GET /model/info/{model}`.
struct VersionRoutes: Sendable {
    let service: InferenceService

    func register(on router: Router<LumenRequestContext>) {
        router.get("/admin/model/:name/versions") { request, context in try list(request, context) }
        router.get("/admin/model/:name/versions/:version") { request, context in try show(request, context) }
        router.post("/admin/model/:name/versions/:version/promote") { request, context in try await change("promote", request, context) }
        router.post("/admin/model/:name/versions/:version/rollback") { request, context in try await change("rollback", request, context) }
        router.post("/admin/model/:name/versions/:version/retire") { request, context in try await change("retire", request, context) }
        router.get("/model/info/:model") { request, context in try info(request, context) }
    }

    static func version(_ context: LumenRequestContext) throws -> Int {
        let text = context.parameters.get("version") ?? ""
        guard let n = Int(text), (1...Int(Int32.max)).contains(n) else {
            throw ServerError.badRequest("a version is a whole number from 1, got \"\(text.prefix(20))\"")
        }
        return n
    }

    static func object(_ r: ModelVersionRecord) -> [String: Any] {
        var o: [String: Any] = [
            "name": r.name, "version": r.version, "sha256": r.sha256, "source": r.source.rawValue, "source_detail": r.sourceDetail,
            "state": r.state.rawValue, "reason": r.reason, "labels": r.labels, "created_at": r.createdAt.timeIntervalSince1970,
            "metrics": (try? JSONSerialization.jsonObject(with: Data(r.metrics.utf8))) ?? [:],
            "trained_on": (try? JSONSerialization.jsonObject(with: Data(r.trainedOn.utf8))) ?? [],
        ]
        if let parent = r.parent { o["parent"] = parent }
        if let by = r.promotedBy { o["promoted_by"] = by }
        if let at = r.promotedAt { o["promoted_at"] = at.timeIntervalSince1970 }
        return o
    }

    func list(_ request: Request, _ context: LumenRequestContext) throws -> Response {
        _ = try context.require(.admin)
        let name = try AdminRoutes.name(context)
        return try Responses.json(["name": name, "versions": try service.modelVersions().versions(name).map(Self.object)])
    }

    /// One version with its lineage: each parent back to the first version.
    func show(_ request: Request, _ context: LumenRequestContext) throws -> Response {
        _ = try context.require(.admin)
        let name = try AdminRoutes.name(context)
        let all = try service.modelVersions().versions(name)
        let wanted = try Self.version(context)
        guard var current = all.first(where: { $0.version == wanted }) else { throw ServerError.notFound("model \(name) has no version \(wanted)") }
        var object = Self.object(current)
        var lineage: [[String: Any]] = []
        while let parent = current.parent, parent != current.version, let next = all.first(where: { $0.version == parent }),
              lineage.count < all.count {
            lineage.append(["version": next.version, "source": next.source.rawValue, "state": next.state.rawValue])
            current = next
        }
        object["lineage"] = lineage
        object["audit"] = try service.versionAudit(name: name, version: wanted)
        return try Responses.json(object)
    }

    func change(_ action: String, _ request: Request, _ context: LumenRequestContext) async throws -> Response {
        let who = try context.require(.admin)
        let name = try AdminRoutes.name(context)
        let version = try Self.version(context)
        let versions = try service.modelVersions()
        switch action {
        case "promote":
            let decision = try await versions.promote(name: name, version: version, user: who.user, options: try AdminRoutes.options(request))
            return try AdminRoutes.reply(decision, service: service)
        case "rollback":
            return try AdminRoutes.reply(try await versions.rollback(name: name, version: version, user: who.user), service: service)
        default:
            let purge = request.uri.queryParameters.get("purge") == "true"
            let record = try await versions.retire(name: name, version: version, user: who.user, purge: purge)
            return try Responses.json(Self.object(record))
        }
    }

    /// MONAI Label's model info: what serves, its checksum and when it was made.
    func info(_ request: Request, _ context: LumenRequestContext) throws -> Response {
        _ = try context.require(.annotator)
        let name = context.parameters.get("model") ?? ""
        let bundle = try service.registry.model(name)
        var object: [String: Any] = ["name": name, "version": bundle.version, "labels": bundle.labels, "train_stats": [String: Any]()]
        if let versions = service.versions, let v = Int(bundle.version), let record = try versions.store.modelVersion(name: name, version: v) {
            // MONAI Label's shape: "SHA256:<hex>" (here of the whole bundle: configs and weights) and seconds.
            object["checksum"] = "SHA256:" + record.sha256
            object["modified_time"] = record.promotedAt?.timeIntervalSince1970 ?? record.createdAt.timeIntervalSince1970
        }
        return try Responses.json(object)
    }
}
