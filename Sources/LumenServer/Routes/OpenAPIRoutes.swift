import Foundation
import Hummingbird

/// `/openapi.json`, generated from the router's own route table so it cannot
/// drift from what is served, and `/metrics` for Prometheus.
struct OpenAPIRoutes: Sendable {
    let metrics: ServerMetrics
    let service: InferenceService?

    static let summaries: [String: String] = [
        "GET /v1/models": "AIAA: list models (filters label, type; model= gives one object)",
        "POST /v1/segmentation": "AIAA: segment an uploaded image or a session's image",
        "POST /v1/deepgrow": "AIAA: deepgrow from foreground/background clicks",
        "POST /v1/dextr3d": "AIAA: DExtr3D from at least 6 extreme points",
        "POST /v1/inference": "AIAA: any model, dispatched on its type",
        "PUT /session": "AIAA and MONAI Label: upload an image once for many clicks",
        "GET /session/{id}": "Session info (404 when unknown or expired)",
        "DELETE /session/{id}": "Close a session",
        "GET /info": "MONAI Label: app info, models and datastore stats",
        "POST /infer/{model}": "MONAI Label: run a model on a datastore image, an upload or a session",
        "GET /admin/model/{name}/versions": "Admin: every version of a model, its state, source and metrics",
        "GET /admin/model/{name}/versions/{version}": "Admin: one version with its lineage and audit trail",
        "POST /admin/model/{name}/versions/{version}/promote": "Admin: serve a candidate if the gate allows (force=true&reason=… overrides)",
        "POST /admin/model/{name}/versions/{version}/rollback": "Admin: serve an earlier version again",
        "POST /admin/model/{name}/versions/{version}/retire": "Admin: take a version out of service (purge=true deletes its files)",
        "GET /model/info/{model}": "MONAI Label: the serving version's checksum, time and train_stats",
        "POST /activelearning/{strategy}": "MONAI Label: the next image to label (random, first, last; only images without a final label)",
        "POST /train/{model}": "MONAI Label: fine-tune a model on final labels with a Slurm job (429 while one runs, unless enqueue)",
        "GET /train": "MONAI Label: the newest training job (check_if_running, all)",
        "POST /train/progress": "A running job's rank 0 posts train_stats here with its per-job token",
        "DELETE /train": "MONAI Label: cancel the running training job",
        "GET /admin/jobs": "Admin: every fine-tuning job",
        "GET /admin/jobs/{id}": "Admin: one job with its progress, gate result and log tail",
        "GET /admin/jobs/{id}/logs": "Admin: the job's Slurm output (lines=N)",
        "DELETE /admin/jobs/{id}": "Admin: cancel a job",
        "GET /metrics": "Prometheus metrics",
        "GET /openapi.json": "This document",
    ]

    /// Call last: the document is built from the routes registered so far (plus these two).
    func register(on router: Router<LumenRequestContext>) {
        let document = Self.document(router.routes.map { ($0.method.rawValue, $0.path.description) }
                                     + [("GET", "/metrics"), ("GET", "/openapi.json")])
        let data = (try? JSONSerialization.data(withJSONObject: document, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data()
        router.get("/metrics") { _, _ in
            let text = await metrics.render(service: service)
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4", .contentLength: String(text.utf8.count)],
                            body: .init(byteBuffer: ByteBuffer(string: text)))
        }
        router.get("/openapi.json") { _, _ in Responses.json(data: data) }
    }

    /// OpenAPI 3.1 paths from (method, Hummingbird path) pairs; `:id` becomes `{id}`.
    static func document(_ routes: [(String, String)]) -> [String: Any] {
        var paths: [String: [String: Any]] = [:]
        for (method, raw) in routes {
            let segments = raw.split(separator: "/").map { $0.hasPrefix(":") ? "{\($0.dropFirst())}" : String($0) }
            let path = "/" + segments.joined(separator: "/")
            var operation: [String: Any] = ["summary": summaries["\(method) \(path)"] ?? "\(method) \(path)",
                                            "responses": ["200": ["description": "OK"], "4XX": ["description": "A refusal with a message"]]]
            let parameters = segments.filter { $0.hasPrefix("{") }.map {
                ["name": String($0.dropFirst().dropLast()), "in": "path", "required": true, "schema": ["type": "string"]] as [String: Any]
            }
            if !parameters.isEmpty { operation["parameters"] = parameters }
            paths[path, default: [:]][method.lowercased()] = operation
        }
        return ["openapi": "3.1.0", "info": ["title": "Lumen", "version": "0.1.0",
                                             "description": "AIAA v1 and MONAI Label protocols, datastore, sessions"],
                "paths": paths]
    }
}
