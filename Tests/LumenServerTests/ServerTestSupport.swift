import Foundation
import Hummingbird
import HummingbirdTesting
import LumenServer
import LumenStore

func temporaryDirectory() -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("lumen-server-\(UUID().uuidString)")
    try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// NIfTI-1 uint8 bytes on a fixed grid (sform code 1), written by hand so
/// tests can vary exactly one thing.
func tinyNIfTI(values: [UInt8]? = nil, dims: [Int] = [6, 5, 4], originX: Float = -10, descrip: String = "") -> [UInt8] {
    var h = [UInt8](repeating: 0, count: 352)
    func put<T: FixedWidthInteger>(_ v: T, _ o: Int) { withUnsafeBytes(of: v.littleEndian) { for (k, b) in $0.enumerated() { h[o + k] = b } } }
    func putF(_ v: Float, _ o: Int) { put(v.bitPattern, o) }
    put(Int32(348), 0)
    for (k, d) in [3, dims[0], dims[1], dims[2], 1, 1, 1, 1].enumerated() { put(Int16(d), 40 + 2 * k) }
    put(Int16(2), 70); put(Int16(8), 72)
    for (k, p) in [Float(1), 1.5, 1.5, 3].enumerated() { putF(p, 76 + 4 * k) }
    putF(352, 108); putF(1, 112); h[123] = 10
    for (k, b) in descrip.utf8.prefix(79).enumerated() { h[148 + k] = b }
    put(Int16(1), 254)
    let rows: [[Float]] = [[1.5, 0, 0, originX], [0, 1.5, 0, -20], [0, 0, 3, 5]]
    for r in 0..<3 { for c in 0..<4 { putF(rows[r][c], 280 + 16 * r + 4 * c) } }
    h[344] = 0x6E; h[345] = 0x2B; h[346] = 0x31
    return h + (values ?? (0..<dims.reduce(1, *)).map { UInt8($0 % 2) })
}

/// The body MONAI Label's Python client sends: its unquoted `$` boundary, text
/// parts first, then file parts with the full local path as file name.
enum Form {
    static let boundary = "----------lImIt_of_THE_fIle_eW_$"
    static var contentType: String { "multipart/form-data; boundary=\(boundary)" }

    static func body(params: String = "{\"client_id\": \"alice\"}", field: String, fileName: String, file: [UInt8]) -> ByteBuffer {
        var out = Array("--\(boundary)\r\nContent-Disposition: form-data; name=\"params\"\r\n\r\n\(params)\r\n".utf8)
        out += Array("--\(boundary)\r\nContent-Disposition: form-data; name=\"\(field)\"; filename=\"\(fileName)\"\r\nContent-Type: application/octet-stream\r\n\r\n".utf8)
        out += file
        out += Array("\r\n--\(boundary)--\r\n\r\n".utf8)
        return ByteBuffer(bytes: out)
    }
}

extension HTTPFields {
    static func form(token: String? = nil) -> HTTPFields {
        var fields: HTTPFields = [.contentType: Form.contentType]
        if let token { fields[.authorization] = "Bearer \(token)" }
        return fields
    }
    static func bearer(_ token: String?) -> HTTPFields {
        var fields = HTTPFields()
        if let token { fields[.authorization] = "Bearer \(token)" }
        return fields
    }
}

func detail(_ response: TestResponse) -> String {
    let object = try? JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: Any]
    return object?["detail"] as? String ?? ""
}

func json(_ response: TestResponse) -> [String: Any] {
    (try? JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: Any]) ?? [:]
}

func makeApp(store: Datastore, tokens: TokenTable? = nil, models: StaticModelCatalog = StaticModelCatalog())
    -> some ApplicationProtocol {
    let configuration = LumenApplication.Configuration(tokens: tokens, models: models)
    return Application(router: LumenApplication.router(configuration: configuration, store: store))
}
