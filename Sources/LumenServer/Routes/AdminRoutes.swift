import Foundation
import Hummingbird
import LumenInference
import LumenModels
import LumenIO
import NIOCore

/// AIAA's model administration (`/admin/model/{name}`), for admins only: upload
/// an MMAR (a zip, or `config` + weights), replace it, patch its config, unload
/// it. An upload is unpacked safely into a staging folder and loaded there
/// first; only a bundle that loads replaces the served one, so a bad upload
/// never takes a working model down. Uploaded bundles live in the service's
/// model directory and are loaded again at the next start.
struct AdminRoutes: Sendable {
    let service: InferenceService

    func register(on router: Router<LumenRequestContext>) {
        router.get("/admin/model/:name") { request, context in try config(request, context) }
        router.put("/admin/model/:name") { request, context in try await upload(request, context) }
        router.patch("/admin/model/:name") { request, context in try await patch(request, context) }
        router.delete("/admin/model/:name") { request, context in try await unload(request, context) }
    }

    static func name(_ context: LumenRequestContext) throws -> String {
        let name = context.parameters.get("name") ?? ""
        guard (1...64).contains(name.count), !name.hasPrefix("."),
              name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "._-".contains($0)) }) else {
            throw ServerError.badRequest("model names are 1 to 64 letters, digits, '.', '_' or '-', not starting with '.'; got \"\(name)\"")
        }
        return name
    }

    func config(_ request: Request, _ context: LumenRequestContext) throws -> Response {
        _ = try context.require(.admin)
        let name = try Self.name(context)
        _ = try service.registry.model(name)
        guard let directory = service.registry.directory(name) else { throw ServerError.notFound("model \(name) has no folder on this server") }
        for file in ["config/config_aiaa.json", "configs/inference.json"] {
            let url = directory.appendingPathComponent(file)
            if let data = try? Data(contentsOf: url) { return Responses.json(data: data) }
        }
        throw ServerError.notFound("model \(name) has neither config/config_aiaa.json nor configs/inference.json")
    }

    /// `data` = an MMAR zip (its root the MMAR, or one folder down), optionally
    /// with `config`; or `config` (config_aiaa.json) + `data` (models/model.pt),
    /// with `config_train` unless an already served model supplies the network.
    func upload(_ request: Request, _ context: LumenRequestContext) async throws -> Response {
        let who = try context.require(.admin)
        let name = try Self.name(context)
        let upload = try await UploadedRequest.receive(request, service: service)
        defer { upload.form?.removeFiles() }
        guard let form = upload.form, let data = form.file(named: "data") else {
            throw ServerError.badRequest("PUT /admin/model/\(name) needs a multipart part \"data\": an MMAR zip, or models/model.pt with \"config\"")
        }
        let config = try text(form, "config"), train = try text(form, "config_train")
        let staging = try service.modelStaging()
        defer { try? FileManager.default.removeItem(at: staging) }
        let bundle = staging.appendingPathComponent(name)
        try await Blocking.run { [existing = service.registry.directory(name)] in
            if try Self.isZip(data.url) {
                let unpacked = staging.appendingPathComponent("unpacked")
                try SafeUnzip.extract(data.url, into: unpacked, maxBytes: 8 << 30)
                try FileManager.default.moveItem(at: try Self.bundleRoot(unpacked), to: bundle)
            } else {
                guard config != nil else {
                    throw ServerError.badRequest("\"data\" is not a zip, so it is taken as models/model.pt and needs a \"config\" part (config_aiaa.json)")
                }
                try FileManager.default.createDirectory(at: bundle.appendingPathComponent("models"), withIntermediateDirectories: true)
                try FileManager.default.copyItem(at: data.url, to: bundle.appendingPathComponent("models/model.pt"))
                let oldTrain = existing?.appendingPathComponent("config/config_train.json")
                if train == nil, let oldTrain, FileManager.default.fileExists(atPath: oldTrain.path) {
                    try FileManager.default.createDirectory(at: bundle.appendingPathComponent("config"), withIntermediateDirectories: true)
                    try FileManager.default.copyItem(at: oldTrain, to: bundle.appendingPathComponent("config/config_train.json"))
                } else if train == nil {
                    throw ServerError.badRequest("model \(name) is new, so its network must come too: add a \"config_train\" part (config_train.json)")
                }
            }
            try Self.write(config, to: bundle.appendingPathComponent("config/config_aiaa.json"))
            try Self.write(train, to: bundle.appendingPathComponent("config/config_train.json"))
        }
        let decision = try await service.modelVersions().submit(
            staged: bundle, name: name, source: .upload, detail: who.user,
            parent: service.registry.version(model: name).flatMap { Int($0) }, user: who.user, options: try Self.options(request))
        context.logger.info("admin \(who.user) uploaded model \(name): \(decision.message)")
        return try Self.reply(decision, service: service)
    }

    /// `?force=true&reason=…` overrides the gate (audited); `?confirm_labels=true` accepts new labels.
    static func options(_ request: Request) throws -> ModelVersions.Options {
        let query = request.uri.queryParameters
        func flag(_ key: String) throws -> Bool {
            guard let text = query.get(key) else { return false }
            guard let value = ["true": true, "1": true, "false": false, "0": false][text.lowercased()] else {
                throw ServerError.badRequest("\(key) must be true or false, got \(text.prefix(20))")
            }
            return value
        }
        let reason = query.get("reason") ?? ""
        guard reason.count <= 500 else { throw ServerError.badRequest("reason may be at most 500 characters") }
        return ModelVersions.Options(force: try flag("force"), reason: reason, confirmLabels: try flag("confirm_labels"))
    }

    /// The AIAA model entry (when the version serves) plus what happened to the version.
    static func reply(_ decision: ModelVersions.Decision, service: InferenceService) throws -> Response {
        var object: [String: Any] = [:]
        if decision.promoted || decision.record.state == .serving, let bundle = service.registry.models[decision.record.name] {
            object = AIAARoutes.entry(bundle)
        }
        object["name"] = decision.record.name
        object["model_version"] = decision.record.version
        object["state"] = decision.record.state.rawValue
        object["promoted"] = decision.promoted
        object["message"] = decision.message
        return try Responses.json(object)
    }

    /// A new `config_aiaa.json` (the JSON body) over the served weights.
    func patch(_ request: Request, _ context: LumenRequestContext) async throws -> Response {
        let who = try context.require(.admin)
        let name = try Self.name(context)
        _ = try service.registry.model(name)
        guard let source = service.registry.directory(name) else { throw ServerError.notFound("model \(name) has no folder on this server") }
        let body: ByteBuffer
        do { body = try await request.body.collect(upTo: 1 << 20) } catch is NIOTooManyBytesError {
            throw ServerError.tooLarge("PATCH /admin/model/\(name) takes a config_aiaa.json of at most 1 MiB")
        }
        let text = String(buffer: body)
        guard (try? JSONSerialization.jsonObject(with: Data(text.utf8))) is [String: Any] else {
            throw ServerError.badRequest("PATCH /admin/model/\(name) takes a config_aiaa.json as its JSON body")
        }
        let staging = try service.modelStaging()
        defer { try? FileManager.default.removeItem(at: staging) }
        let bundle = staging.appendingPathComponent(name)
        try await Blocking.run {
            try FileManager.default.copyItem(at: source, to: bundle)
            try Self.write(text, to: bundle.appendingPathComponent("config/config_aiaa.json"))
        }
        let decision = try await service.modelVersions().submit(
            staged: bundle, name: name, source: .patch, detail: who.user,
            parent: service.registry.version(model: name).flatMap { Int($0) }, user: who.user, options: try Self.options(request))
        context.logger.info("admin \(who.user) patched the config of model \(name): \(decision.message)")
        return try Self.reply(decision, service: service)
    }

    /// Unloads the model: its serving version is retired (files kept; `?purge=true` deletes uploaded ones).
    func unload(_ request: Request, _ context: LumenRequestContext) async throws -> Response {
        let who = try context.require(.admin)
        let name = try Self.name(context)
        let bundle = try service.registry.model(name)
        guard let version = Int(bundle.version) else { throw ServerError.notFound("model \(name) has no recorded version") }
        let purge = request.uri.queryParameters.get("purge") == "true"
        _ = try await service.modelVersions().retire(name: name, version: version, user: who.user, purge: purge)
        context.logger.info("admin \(who.user) unloaded model \(name) (version \(version) retired)")
        return try Responses.json(["deleted": name, "retired_version": version])
    }

    func text(_ form: MultipartForm, _ field: String) throws -> String? {
        if let value = form.fields[field] { return value }
        guard let file = form.files.first(where: { $0.field == field }) else { return nil }
        guard file.size <= 1 << 20, let data = try? Data(contentsOf: file.url) else {
            throw ServerError.badRequest("\"\(field)\" must be a JSON file of at most 1 MiB")
        }
        return String(decoding: data, as: UTF8.self)
    }

    static func write(_ text: String?, to url: URL) throws {
        guard let text else { return }
        guard (try? JSONSerialization.jsonObject(with: Data(text.utf8))) is [String: Any] else {
            throw ServerError.badRequest("\(url.lastPathComponent) is not a JSON object")
        }
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try AtomicFile.write(Data(text.utf8), to: url)
    }

    static func isZip(_ url: URL) throws -> Bool {
        let handle = try FileHandle(forReadingFrom: url)
        defer { try? handle.close() }
        return try handle.read(upToCount: 4) == Data([0x50, 0x4B, 0x03, 0x04])
    }

    /// The MMAR (or MONAI bundle) root: the zip's top, or its only folder (Clara failed on the latter; Lumen looks).
    static func bundleRoot(_ unpacked: URL) throws -> URL {
        let isBundle = ModelBundle.isBundle
        if isBundle(unpacked) { return unpacked }
        let children = ((try? FileManager.default.contentsOfDirectory(at: unpacked, includingPropertiesForKeys: nil)) ?? [])
            .filter { !$0.lastPathComponent.hasPrefix(".") && $0.lastPathComponent != "__MACOSX" }
        if children.count == 1, isBundle(children[0]) { return children[0] }
        throw ServerError.badRequest("the zip has no config/config_aiaa.json (or configs/inference.json) at its root or one folder down")
    }
}
