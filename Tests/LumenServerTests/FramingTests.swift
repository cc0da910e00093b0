import Foundation
import Hummingbird
import HummingbirdTesting
@testable import LumenServer
import LumenStore
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Broken HTTP framing over a real socket, through Lumen's own channel (the
/// HTTP/1.0 re-framer in front of NIO's parser). Each used to get a 500, or
/// for bare LF line ends no reply until the read timeout; now each gets a 400
/// (or its normal reply) at once, and the next request is served.
@Suite("HTTP framing", .serialized)
struct FramingTests {
    /// Sends `bytes`, optionally half-closes, and returns the status of the reply (nil when none came within 60 s).
    /// "At once" is judged against the server's read timeout, 120 s here, not against a short clock:
    /// with every suite running in parallel on 2 cores, a whole test process has stalled for 15 s
    /// (other suites' requests took 15 s too), and a 400 that came after that was not a fault of framing.
    /// Each request ends where its framing breaks: bytes left unread when the server closes would make
    /// its kernel answer with a reset, which can overtake the 400 on its way (that is TCP, not Lumen).
    static func exchange(port: Int, _ bytes: [UInt8], halfClose: Bool = false) -> Int? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var timeout = timeval(tv_sec: 60, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { return nil }
        _ = bytes.withUnsafeBytes { send(fd, $0.baseAddress, bytes.count, Int32(MSG_NOSIGNAL)) }
        if halfClose { shutdown(fd, Int32(SHUT_WR)) }
        var reply = [UInt8](repeating: 0, count: 4096)
        let got = recv(fd, &reply, reply.count, 0)
        guard got > 12 else { return nil }
        let line = String(decoding: reply[0..<got], as: UTF8.self)
        return line.split(separator: " ").dropFirst().first.flatMap { Int($0) }
    }

    static let multipart = "Content-Type: multipart/form-data; boundary=\(Form.boundary)\r\n"

    @Test("malformed framing gets a 400 at once, never a 500 or silence", arguments: [
        ("a bad chunk size", "POST /v1/segmentation?model=bones HTTP/1.1\r\nHost: x\r\n\(multipart)Transfer-Encoding: chunked\r\n\r\nzz\r\n", false, 400),
        ("a half-close mid-body", "PUT /session/ HTTP/1.1\r\nHost: x\r\n\(multipart)Content-Length: 500\r\n\r\n--\(Form.boundary)\r\nabc", true, 400),
        ("a header line without a colon", "GET /v1/models HTTP/1.1\r\nHost: x\r\nBad Header Line\r\n\r\n", false, 400),
        ("two Content-Lengths", "POST /v1/mask2polygon HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", false, 400),
        ("bare LF line ends", "GET /v1/models HTTP/1.1\nHost: x\n\n", false, 400),
        ("bare LF in an HTTP/1.0 POST head", "POST /v1/mask2polygon HTTP/1.0\n\(multipart.dropLast(2))\n\n", true, 400),
    ])
    func framing(_ what: String, _ request: String, _ halfClose: Bool, _ expected: Int) async throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        var configuration = LumenApplication.Configuration(port: 0)
        configuration.inference = InferenceService(registry: Bundled.registry, modelDirectory: temporaryDirectory())
        configuration.readTimeout = .seconds(120)   // silence until this would fail: the client waits 60 s
        let app = try LumenApplication.application(configuration: configuration, store: try Datastore(directory: dir))
        try await app.test(.live) { client in
            let port = try #require(client.port)
            let status = await Task.detached { Self.exchange(port: port, Array(request.utf8), halfClose: halfClose) }.value
            #expect(status == expected, "\(what): got \(String(describing: status))")
            try await client.execute(uri: "/v1/models", method: .get) { #expect($0.status == .ok) }
        }
    }
}
