import Foundation
import Hummingbird
import HummingbirdTesting
import LumenInference
import LumenIO
import LumenModels
import LumenPhantom
import LumenServer
import LumenStore

/// The repository's bundled models, loaded once for every route test.
enum Bundled {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../mmar").standardizedFileURL
    static let registry = ModelRegistry.load(roots: [root])

    /// A small unseen phantom CT as uploaded bytes, with its volume for geometry checks.
    static let phantom: (bytes: [UInt8], volume: Volume, label: Volume) = {
        let p = try! Phantom.generate(seed: 777_003, index: 0, size: .small)
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("lumen-test-\(UUID().uuidString).nii.gz")
        try! p.image.write(to: url, datatype: .int16)
        defer { try? FileManager.default.removeItem(at: url) }
        return (Array(try! Data(contentsOf: url)), try! Volume.read(url), p.label)
    }()
}

func makeInferenceApp(store: Datastore, prefix: String = "", queue: InferenceQueue = InferenceQueue(),
                      sessions: SessionStore = SessionStore(), tokens: TokenTable? = nil,
                      maxUploadBytes: Int = 2 << 30, registry: ModelRegistry = Bundled.registry,
                      modelDirectory: URL = temporaryDirectory()) -> some ApplicationProtocol {
    var configuration = LumenApplication.Configuration(tokens: tokens)
    // Each app gets its own registry (over the shared, already loaded bundles) and versions in its own store.
    let own = registry.copy()
    let versions = ModelVersions(store: store, registry: own, root: modelDirectory)
    try! versions.bootstrap()
    configuration.inference = InferenceService(registry: own, queue: queue, sessions: sessions,
                                               maxUploadBytes: maxUploadBytes, modelDirectory: modelDirectory, versions: versions)
    configuration.prefix = prefix
    return Application(router: LumenApplication.responder(configuration: configuration, store: store))
}

/// Splits a multipart reply into (headers, body) parts, checking the framing the AIAA clients need.
func multipartParts(_ response: TestResponse) throws -> [(headers: String, body: [UInt8])] {
    let type = response.headers[.contentType] ?? ""
    guard let range = type.range(of: "boundary=") else { throw ServerError.badRequest("not multipart: \(type)") }
    let boundary = Array("--\(type[range.upperBound...])".utf8)
    let body = Array(buffer: response.body)
    var parts: [(String, [UInt8])] = []
    var starts: [Int] = []
    var i = 0
    while i + boundary.count <= body.count {
        if Array(body[i..<(i + boundary.count)]) == boundary { starts.append(i); i += boundary.count } else { i += 1 }
    }
    for (a, b) in zip(starts, starts.dropFirst()) {
        let part = Array(body[(a + boundary.count + 2)..<(b - 2)])
        let split = (0..<(part.count - 3)).first { part[$0] == 13 && part[$0 + 1] == 10 && part[$0 + 2] == 13 && part[$0 + 3] == 10 }!
        parts.append((String(decoding: part[..<split], as: UTF8.self), Array(part[(split + 4)...])))
    }
    return parts
}

/// A label map returned in a reply, read back through libnifti.
func volume(from bytes: [UInt8]) throws -> Volume {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("lumen-reply-\(UUID().uuidString).nii.gz")
    try Data(bytes).write(to: url)
    defer { try? FileManager.default.removeItem(at: url) }
    return try Volume.read(url)
}
