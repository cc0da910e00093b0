import Foundation
import Hummingbird
import LumenCluster
import LumenModels
import LumenStore

/// MONAI Label's training API, so Slicer's Train button and progress bar work
/// unmodified, backed by Slurm jobs; and the admin view of those jobs.
struct TrainRoutes: Sendable {
    let finetuning: Finetuning

    /// Where a job's rank 0 posts train_stats with `Authorization: Bearer <per-job token>`.
    static let progressPath = "/train/progress"

    func register(on router: Router<LumenRequestContext>) {
        router.post(RouterPath(Self.progressPath)) { request, context in try await progress(request, context) }
        router.post("/train/:model") { request, context in try await submit(request, context) }
        router.get("/train") { request, context in try status(request, context) }
        router.delete("/train") { request, context in try await cancel(request, context) }
        router.get("/admin/jobs") { request, context in try adminList(request, context) }
        router.get("/admin/jobs/:id") { request, context in try adminShow(request, context) }
        router.get("/admin/jobs/:id/logs") { request, context in try logs(request, context) }
        router.get("/admin/jobs/:id/curves") { request, context in try await curves(request, context) }
        router.delete("/admin/jobs/:id") { request, context in try await adminCancel(request, context) }
    }

    /// MONAI Label's task status for a Slurm job state.
    static func status(_ job: FinetuneJobRecord) -> String {
        switch JobState(slurm: job.state) {
        case .pending, .configuring: "SUBMITTED"
        case .completed: gated(job) ? "DONE" : "RUNNING"   // done once the gate has spoken
        case .cancelled: "STOPPED"
        case let s where s.isFinal: "ERROR"
        default: "RUNNING"
        }
    }

    static func gated(_ job: FinetuneJobRecord) -> Bool {
        guard let text = job.result, let o = (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] else { return false }
        return o["gate"] != nil
    }

    static func object(_ job: FinetuneJobRecord, details: Bool = false) -> [String: Any] {
        let format = ISO8601DateFormatter()
        var o: [String: Any] = [
            "id": job.id, "status": status(job), "model": job.modelName, "slurm_job_id": job.slurmJobID ?? "",
            "slurm_state": job.state, "start_ts": format.string(from: job.submittedAt), "submitted_by": job.submittedBy,
            "base_version": job.baseVersion ?? "",
        ]
        if let reason = job.reason, !reason.isEmpty { o["reason"] = reason }
        // The controller could not be asked: say since when the state is a guess.
        if job.state == JobState.unknown.rawValue { o["unknown_since"] = format.string(from: job.stateSince) }
        if let code = job.exitCode { o["exit_code"] = code }
        if let end = job.finishedAt { o["end_ts"] = format.string(from: end) }
        if FileManager.default.fileExists(atPath: URL(fileURLWithPath: job.runDir).appendingPathComponent("candidate/docs/metrics.json").path) {
            o["curves"] = "/admin/jobs/\(job.id)/curves"
        }
        let config = (try? JSONSerialization.jsonObject(with: Data(job.config.utf8))) as? [String: Any]
        o["request"] = config?["values"] ?? [:]
        if let p = job.progress, let stats = try? JSONSerialization.jsonObject(with: Data(p.utf8)) { o["train_stats"] = stats }
        if let r = job.result, let result = try? JSONSerialization.jsonObject(with: Data(r.utf8)) { o["result"] = result }
        if details { o["details"] = tail(job, lines: 20) }
        return o
    }

    /// The job's training curves (loss and validation Dice per epoch) as a PNG.
    func curves(_ request: Request, _ context: LumenRequestContext) async throws -> Response {
        _ = try context.require(.admin)
        let id = try context.parameters.require("id")
        let finetuning = self.finetuning
        let png = try await Blocking.run { try finetuning.curves(jobID: id) }
        return Response(status: .ok, headers: [.contentType: "image/png", .contentLength: "\(png.count)"],
                        body: .init(byteBuffer: ByteBuffer(bytes: png)))
    }

    /// The last lines of the job's Slurm output (both ranks' training log lines land there).
    static func tail(_ job: FinetuneJobRecord, lines: Int) -> [String] {
        let dir = URL(fileURLWithPath: job.runDir)
        let files = ((try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []).filter { $0.hasPrefix("slurm-") && $0.hasSuffix(".out") }.sorted()
        guard let last = files.last, let data = FileManager.default.contents(atPath: dir.appendingPathComponent(last).path) else { return [] }
        return Array(String(decoding: data.suffix(1 << 20), as: UTF8.self).split(separator: "\n").suffix(lines).map(String.init))
    }

    func submit(_ request: Request, _ context: LumenRequestContext) async throws -> Response {
        let who = try context.require(.annotator)
        let model = context.parameters.get("model") ?? ""
        let body = try await request.body.collect(upTo: 64 << 10)
        let text = String(buffer: body)
        let config = try text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty ? [:] : ClickParams.object(text)
        let reader = ParamReader(config)
        var training = TrainingSettings()
        training.maxEpochs = try reader.int("max_epochs", in: 1...10_000) ?? 50
        training.batchSize = try reader.int("train_batch_size", "batch_size", in: 1...64) ?? training.batchSize
        if let split = try reader.double("val_split", in: 0...0.9) { training.valSplit = String(split) }
        if let lr = try reader.double("learning_rate", "lr", in: 1e-8...1) { training.lr = String(lr) }
        // Lumen's own key: the training crop (and validation window), one size or three.
        if let patch = config["patch"] ?? config["roi_size"] {
            let sizes = try ((patch as? [Any]) ?? [patch]).map { try ParamReader.int($0, key: "patch", in: 16...512) }
            guard sizes.count == 1 || sizes.count == 3 else { throw ServerError.badRequest("params.patch is one size or three, got \(sizes.count)") }
            training.patch = sizes.map(String.init).joined(separator: ",")
        }
        let enqueue = (config["enqueue"] as? Bool) == true || request.uri.queryParameters.get("enqueue") == "true"
        let job = try await finetuning.submit(model: model, user: who.user, training: training, enqueue: enqueue)
        var reply = Self.object(job)
        reply["request"] = config.merging(["model": model]) { a, _ in a }
        return try Responses.json(reply)
    }

    func progress(_ request: Request, _ context: LumenRequestContext) async throws -> Response {
        let header = request.headers[.authorization] ?? ""
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { throw ServerError.notAuthenticated }
        let body = try await request.body.collect(upTo: 256 << 10)
        let stats = String(buffer: body)
        let finetuning = self.finetuning
        let id: String
        do { id = try await Blocking.run { try finetuning.report(token: String(parts[1]), stats: stats) } } catch ModelError.notFound {
            throw ServerError.invalidToken
        }
        let epoch = ((try? JSONSerialization.jsonObject(with: Data(stats.utf8))) as? [String: Any])?["epoch"] ?? "?"
        context.logger.info("job \(id): progress report over HTTP, epoch \(epoch)")
        return try Responses.json(["job": id])
    }

    func status(_ request: Request, _ context: LumenRequestContext) throws -> Response {
        _ = try context.require(.annotator)
        let query = request.uri.queryParameters
        let jobs = try finetuning.jobs()
        if query.get("check_if_running") == "true" {
            guard let running = jobs.first(where: { !JobState(slurm: $0.state).isFinal || !Self.gated($0) }) else {
                throw ServerError.notFound("No Train Tasks are currently Running")
            }
            return try Responses.json(Self.object(running, details: true))
        }
        guard let latest = jobs.first else { throw ServerError.notFound("No Train Tasks Found") }
        if query.get("all") == "true" { return try Responses.json(jobs.map { Self.object($0) }) }
        return try Responses.json(Self.object(latest, details: true))
    }

    func cancel(_ request: Request, _ context: LumenRequestContext) async throws -> Response {
        let who = try context.require(.annotator)
        guard let running = try finetuning.running() else { return try Responses.json(NSNull()) }
        var object = Self.object(try await finetuning.cancel(jobID: running.id, user: who.user))
        object["status"] = "STOPPED"
        return try Responses.json(object)
    }

    func adminList(_ request: Request, _ context: LumenRequestContext) throws -> Response {
        _ = try context.require(.admin)
        return try Responses.json(["jobs": try finetuning.jobs(model: request.uri.queryParameters.get("model")).map { Self.object($0) }])
    }

    func job(_ context: LumenRequestContext) throws -> FinetuneJobRecord {
        let id = context.parameters.get("id") ?? ""
        guard let job = try finetuning.jobs().first(where: { $0.id == id }) else { throw ServerError.notFound("no fine-tuning job \(id.prefix(40))") }
        return job
    }

    func adminShow(_ request: Request, _ context: LumenRequestContext) throws -> Response {
        _ = try context.require(.admin)
        let job = try job(context)
        var object = Self.object(job, details: true)
        object["run_dir"] = job.runDir
        let curve = URL(fileURLWithPath: job.runDir).appendingPathComponent("candidate/docs/training_curve.png")
        if FileManager.default.fileExists(atPath: curve.path) { object["training_curve"] = curve.path }
        return try Responses.json(object)
    }

    func logs(_ request: Request, _ context: LumenRequestContext) throws -> Response {
        _ = try context.require(.admin)
        let job = try job(context)
        let lines = try request.uri.queryParameters.get("lines").map { text -> Int in
            guard let n = Int(text), (1...100_000).contains(n) else { throw ServerError.badRequest("lines must be a whole number from 1 to 100000") }
            return n
        } ?? 300
        let text = Self.tail(job, lines: lines).joined(separator: "\n") + "\n"
        return Response(status: .ok, headers: [.contentType: "text/plain; charset=utf-8", .contentLength: String(text.utf8.count)],
                        body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    func adminCancel(_ request: Request, _ context: LumenRequestContext) async throws -> Response {
        let who = try context.require(.admin)
        let job = try job(context)
        return try Responses.json(Self.object(try await finetuning.cancel(jobID: job.id, user: who.user)))
    }
}
