import Foundation
import Hummingbird
import HummingbirdTesting
@testable import LumenInference
import LumenIO
import LumenPhantom
@testable import LumenServer
import LumenStore
import Testing
import ZIPFoundation

/// Table-driven mutation campaigns, in-process and seeded: multipart bodies,
/// `params` JSON, zip archives and uploads through the router. Each input must
/// end in a value or a typed refusal; a trap ends the test run, which is the
/// failure this suite exists to catch.
@Suite("fuzzing")
struct FuzzTests {
    // MARK: multipart

    static func mutate(_ bytes: [UInt8], _ random: inout PhantomRandom) -> [UInt8] {
        var out = bytes
        for _ in 0...random.below(4) {
            guard !out.isEmpty else { break }
            let at = random.below(out.count)
            switch random.below(6) {
            case 0: out[at] = UInt8(truncatingIfNeeded: random.next())
            case 1: out.remove(at: at)
            case 2: out.insert(random.pick([13, 10, 45, 34, 59, 0]), at: at)
            case 3: out = Array(out.prefix(at))
            case 4: out.insert(contentsOf: out[at..<min(at + random.below(64), out.count)], at: at)
            default: out.replaceSubrange(at..<min(at + 2, out.count), with: Array("\r\n--".utf8))
            }
        }
        return out
    }

    @Test("mutated multipart bodies parse or are refused, whatever the chunking")
    func multipart() throws {
        var random = PhantomRandom(seed: 11)
        var refused = 0
        for n in 0..<3000 {
            let body = Self.mutate(MultipartParserTests.body, &random)
            var parser = MultipartParser(boundary: MultipartParserTests.boundary)
            let chunk = [1, 7, 64, 4096][n % 4]
            do {
                var offset = 0
                while offset < body.count {
                    let end = min(body.count, offset + chunk)
                    _ = try parser.feed(Array(body[offset..<end]))
                    offset = end
                }
                try parser.finish()
            } catch is MultipartError {
                refused += 1
            }
        }
        #expect(refused > 300, "only \(refused) of 3000 mutated bodies were refused")
    }

    @Test("content-type headers: a boundary or a MultipartError", arguments: [
        "", "multipart/form-data", "multipart/form-data; boundary=", "multipart/form-data; boundary=\"", "multipart/form-data; boundary=\"\"",
        "multipart/form-data; boundary=" + String(repeating: "x", count: 5000), "text/plain; boundary=x", "multipart/form-data;;;;boundary==x",
        "multipart/form-data; boundary=\"a\\\"b\"", "multipart/form-data; boundary=\u{0}",
    ])
    func contentTypes(_ header: String) {
        do { _ = try HeaderParameters.boundary(contentType: header) } catch { #expect(error is MultipartError) }
    }

    // MARK: params JSON

    static func value(_ random: inout PhantomRandom, depth: Int = 0) -> Any {
        switch random.below(depth > 2 ? 6 : 9) {
        case 0: return random.pick([0, -1, 1, 1e-300, 1e300, -1e300, 2.5, 9.2e18, -9.3e18, 1e15, 4294967296, 0.5, -0.0] as [Double])
        case 1: return random.pick([Int.max, Int.min, 0, 3, -3, 65536])
        case 2: return random.pick(["", "nan", "inf", "[[1,2,3]]", "[1e309, 0, 0]", "{", "[[1e300,1,1]]", "[]", "[[1,2]]"])
        case 3: return NSNull()
        case 4: return random.below(2) == 0
        case 5: return random.pick([[], [[]], [[1]]] as [Any])
        case 6: return (0..<random.below(4)).map { _ in value(&random, depth: depth + 1) }
        case 7: return (0..<3).map { _ in value(&random, depth: depth + 1) }
        default: return Dictionary(uniqueKeysWithValues: (0..<random.below(3)).map { ("k\($0)", value(&random, depth: depth + 1)) })
        }
    }

    static let keys = ["foreground", "background", "current_point", "points", "more_points", "dimension", "slice_index",
                       "polygon_index", "vertex_index", "vertex_offset", "propagate_neighbor", "propagate_neighbor_3d", "poly"]

    @Test("random params: clicks, polygon edits and numbers are values or ServerErrors")
    func params() throws {
        var random = PhantomRandom(seed: 12)
        var refused = 0
        for _ in 0..<4000 {
            var object: [String: Any] = [:]
            for _ in 0...random.below(5) { object[random.pick(Self.keys)] = Self.value(&random) }
            // Through the wire form too: JSON text in the params part.
            guard JSONSerialization.isValidJSONObject(object),
                  let text = try? JSONSerialization.data(withJSONObject: object) else { continue }
            do {
                let parsed = try ClickParams.object(String(decoding: text, as: UTF8.self))
                let clicks = try ClickParams.clicks(parsed)
                let shape = [16, 16, 8]
                try? ClickCheck.inside(clicks.foreground + clicks.background + clicks.points, shape: shape, what: "click")
                let reader = ParamReader(parsed)
                _ = try reader.double("more_points", in: 0...1e6)
                _ = try reader.int("slice_index", in: 0...Int(Int32.max))
                let edit = try PolygonRoutes.edit(parsed)
                if let polygons = try PolygonRoutes.polygons(parsed["poly"]) {
                    _ = try? PolygonFix.apply(edit, to: polygons, bounds: (16, 16))
                    _ = PolygonFix.rasterize(polygons, nx: 16, ny: 16)
                }
            } catch is ServerError {
                refused += 1
            }
        }
        #expect(refused > 500)
    }

    // MARK: zip archives

    @Test("mutated zips unpack inside the folder or are refused")
    func zips() throws {
        let root = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let base = try HostileInputTests.zip([("config/config_aiaa.json", Data(#"{"type": "segmentation"}"#.utf8)),
                                              ("models/model.pt", Data((0..<4000).map { UInt8($0 % 251) })),
                                              ("docs/", nil), ("docs/README.md", Data("weights".utf8))])
        var random = PhantomRandom(seed: 13)
        var refused = 0
        for n in 0..<400 {
            var bytes = base
            for _ in 0...random.below(3) {
                // Half the hits land in the central directory, where the paths and sizes are.
                let at = random.below(2) == 0 ? bytes.count - 1 - random.below(min(300, bytes.count)) : random.below(bytes.count)
                bytes[at] = random.below(3) == 0 ? UInt8(ascii: ".") : UInt8(truncatingIfNeeded: random.next())
            }
            let zip = root.appendingPathComponent("in-\(n).zip")
            let out = root.appendingPathComponent("out-\(n)")
            try Data(bytes).write(to: zip)
            do {
                try SafeUnzip.extract(zip, into: out, maxBytes: 1 << 20)
            } catch is UnzipError {
                refused += 1
            }
            // Nothing may land beside the folder.
            let beside = try FileManager.default.contentsOfDirectory(atPath: root.path).filter { !$0.hasPrefix("in-") && !$0.hasPrefix("out-") }
            #expect(beside.isEmpty, "mutation \(n) wrote \(beside) outside its folder")
        }
        #expect(refused > 40, "only \(refused) of 400 mutated zips were refused")
    }

    @Test("entry paths that would escape or collide are refused", arguments: [
        ["../evil"], ["/abs"], ["a/../../evil"], ["C:evil"], ["a", "a"], ["a", "a/b"], ["a/b", "a"], ["x\\..\\..\\evil"],
    ])
    func entryPaths(_ paths: [String]) throws {
        let root = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let zip = try HostileInputTests.zip(paths.map { ($0, Data("x".utf8)) })
        try Data(zip).write(to: root.appendingPathComponent("z.zip"))
        #expect(throws: UnzipError.self) { try SafeUnzip.extract(root.appendingPathComponent("z.zip"), into: root.appendingPathComponent("out")) }
    }

    // MARK: through the router

    @Test("mutated NIfTI uploads through PUT /session/ and mask2polygon: never a 5xx")
    func uploads() async throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        var random = PhantomRandom(seed: 14)
        let base = tinyNIfTI(dims: [12, 10, 6])
        let uploads: [[UInt8]] = (0..<300).map { _ in
            var bytes = base
            for _ in 0...random.below(3) {
                let o = random.pick([40, 42, 44, 46, 70, 72, 76, 80, 84, 88, 108, 112, 252, 254, 280, 284, 300, 316, 324, 256])
                let v = random.pick([Float.nan, .infinity, -.infinity, 0, -1, 1e30, 3e38, 1e3, 1e-9, 352, 1e9]).bitPattern
                withUnsafeBytes(of: v.littleEndian) { for k in 0..<4 { bytes[o + k] = $0[k] } }
            }
            return bytes
        }
        let statuses = try await makeInferenceApp(store: try Datastore(directory: dir)).test(.router) { client in
            var statuses: [Int: Int] = [:]
            for (n, bytes) in uploads.enumerated() {
                let uri = n % 2 == 0 ? "/session/" : "/v1/mask2polygon"
                let body = Form.body(params: "{\"more_points\": 0.5}", field: "datapoint", fileName: "x.nii", file: bytes)
                let code = try await client.execute(uri: uri, method: n % 2 == 0 ? .put : .post, headers: .form(), body: body) {
                    #expect($0.status.code < 500, "mutation \(n) on \(uri): \(String(buffer: $0.body))")
                    return Int($0.status.code)
                }
                statuses[code, default: 0] += 1
            }
            return statuses
        }
        #expect((statuses[400] ?? 0) > 50 && (statuses[200] ?? 0) > 10, "\(statuses)")
    }
}
