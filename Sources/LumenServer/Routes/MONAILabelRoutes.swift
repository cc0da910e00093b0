import Foundation
import Hummingbird
import LumenInference
import LumenModels
import LumenIO
import LumenStore

/// MONAI Label's `/info/` and `/infer/{model}`, as the Slicer MONAILabel
/// extension and the monailabel client call them (monailabel-protocol.md §3–4).
struct MONAILabelRoutes: Sendable {
    let service: InferenceService
    let store: Datastore
    var finetuning: Finetuning? = nil

    func register(on router: Router<LumenRequestContext>) {
        router.get("/info") { request, context in try await info(request, context) }
        router.post("/infer/:model") { request, context in try await infer(request, context) }
    }

    func info(_ request: Request, _ context: LumenRequestContext) async throws -> Response {
        _ = try context.require(.annotator)
        var models: [String: Any] = [:]
        var labels: [String] = []
        for name in service.registry.names {
            let model = service.registry.models[name]!
            let dims = (model.metaData["deepgrow"]?.string ?? "3D").contains("2") ? 2 : 3
            let entryLabels: Any = model.kind == .segmentation
                ? Dictionary(uniqueKeysWithValues: model.labels.enumerated().map { ($0.element, $0.offset + 1) }) as Any
                : model.labels as Any
            models[name] = ["type": model.kind.rawValue, "labels": entryLabels, "dimension": dims,
                            "description": model.description, "version": model.version, "config": ["device": ["cpu"]]]
            for label in model.labels where !labels.contains(label) { labels.append(label) }
        }
        let stats = try await Blocking.run { try store.stats() }
        // Segmentation models can be fine-tuned when the server has Slurm; train_stats is each one's newest job's.
        var trainers: [String: Any] = [:], trainStats: [String: Any] = [:]
        if let finetuning {
            let jobs = try finetuning.jobs()
            for name in service.registry.names where service.registry.models[name]?.kind == .segmentation {
                trainers[name] = ["description": "fine-tune \(name) on final labels with a Slurm job",
                                  "config": ["max_epochs": 50, "val_split": 0.2, "train_batch_size": 2, "learning_rate": 0.0001]]
                let progress = jobs.first { $0.modelName == name }?.progress
                trainStats[name] = progress.flatMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) } ?? [String: Any]()
            }
        }
        for name in service.registry.names where trainStats[name] == nil { trainStats[name] = [String: Any]() }
        return try Responses.json([
            "name": "Lumen", "description": "Lumen annotation server: MMAR models run natively in Swift", "version": "0.1.0",
            "labels": labels, "models": models, "trainers": trainers,
            "strategies": Dictionary(uniqueKeysWithValues: Datastore.SampleStrategy.allCases.map {
                ($0.rawValue, ["description": "MONAI Label's \($0.rawValue) strategy over images without a final label"])
            }),
            "scoring": [String: Any](), "train_stats": trainStats,
            "datastore": ["total": stats.total, "completed": stats.completed, "label_tags": stats.labelTags],
        ])
    }

    func infer(_ request: Request, _ context: LumenRequestContext) async throws -> Response {
        let identity = try context.require(.annotator)
        let name = try context.parameters.require("model")
        let bundle = try service.registry.model(name)
        let query = request.uri.queryParameters
        let output = query.get("output") ?? "all"
        guard ["image", "json", "all"].contains(output) else {
            throw ServerError.unprocessable("output must be image, json or all (got '\(output)'); dicom_seg needs a DICOMweb datastore")
        }
        let start = DispatchTime.now().uptimeNanoseconds
        let input = try await InferenceRequest.resolve(request, route: "/infer/\(name)", service: service, store: store)
        defer { input.removeFiles() }
        let outcome = try await service.run(bundle, volume: input.volume, clicks: input.clicks, readMs: elapsedMs(since: start),
                                             stillWanted: context.connectionWatch())
        let json = outcome.params(bundle: bundle)
        if let image = input.datastoreImage, bundle.kind == .segmentation {
            try await saveOriginal(outcome, image: image, bundle: bundle, json: json, user: identity.user)
        }
        switch output {
        case "image": return Responses.answeredBy(bundle, MultipartReply.file(outcome.image, fileName: "\(name)_result.nii.gz"))
        case "json": return Responses.answeredBy(bundle, try Responses.json(json))
        default: return Responses.answeredBy(bundle, try MultipartReply.make(json: json, file: outcome.image, fileName: "\(name)_result.nii.gz"))
        }
    }

    /// A model's segmentation of a datastore image is recorded as `original`,
    /// with the model's name and version, so a refinement can point back to it.
    func saveOriginal(_ outcome: InferenceService.Outcome, image: StoredImage, bundle: ModelBundle, json: [String: Any],
                      user: String) async throws {
        let info = String(decoding: try JSONSerialization.data(withJSONObject: ["model": bundle.name, "params": json], options: [.sortedKeys]),
                          as: UTF8.self)
        try await Blocking.run {
            try store.addLabel(encoded: outcome.image, volume: outcome.labels, fileName: image.id + ".nii.gz", imageID: image.id,
                               tag: "original", user: user, model: ModelProvenance(name: bundle.name, version: bundle.version),
                               info: info)
        }
    }
}
