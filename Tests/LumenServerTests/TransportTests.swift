import Foundation
import NIOCore
import Testing
@testable import LumenServer

/// The HTTP/1.0 re-framing's pure parts: which heads it takes, and where the
/// multipart body ends however the reads split the closing delimiter.
@Suite struct TransportTests {
    static func head(_ lines: [String]) -> [UInt8] { Array((lines.joined(separator: "\r\n") + "\r\n\r\n").utf8) }

    @Test("which requests are re-framed", arguments: [
        (["POST /v1/segmentation HTTP/1.0", "Content-Type: multipart/form-data; boundary=\"MIME_boundary_x\""], true),
        (["PUT /session/ HTTP/1.0", "content-type: multipart/form-data; boundary=MIME_boundary_x"], true),
        (["POST /v1/segmentation HTTP/1.0", "Content-Length: 12"], false),
        (["POST /v1/segmentation HTTP/1.0", "Transfer-Encoding: chunked"], false),
        (["POST /v1/segmentation HTTP/1.1", "Content-Type: multipart/form-data; boundary=x"], false),
        (["GET /v1/models HTTP/1.0"], false),
    ])
    func reframedHeads(_ lines: [String], _ reframed: Bool) {
        let request = LengthlessRequest(head: Self.head(lines))
        #expect((request != nil) == reframed)
        if let request {
            let text = String(decoding: request.rewrittenHead, as: UTF8.self)
            #expect(text.hasSuffix("transfer-encoding: chunked\r\nconnection: close\r\n\r\n"))
            #expect(text.hasPrefix(lines[0] + "\r\n"))
            #expect(request.boundary == "MIME_boundary_x")
        }
    }

    @Test(arguments: [1, 2, 3, 5, 7, 13, 64, 10_000])
    func delimiterIsFoundAcrossAnySplit(_ size: Int) {
        let body = Array("--b\r\nContent-Disposition: form-data; name=\"params\"\r\n\r\n{}\r\n--b--\r\nEPILOGUE".utf8)
        let end = body.count - "EPILOGUE".count
        var scanner = DelimiterScanner(boundary: "b")
        var offset = 0, found: Int?
        while offset < body.count, found == nil {
            let piece = Array(body[offset..<min(offset + size, body.count)])
            if let cut = scanner.feed(ByteBuffer(bytes: piece).readableBytesView) { found = offset + cut } else { offset += piece.count }
        }
        // The line break after the delimiter is kept when it arrives in the same read; never more than that.
        #expect(found == end || found == end - 2, "found \(String(describing: found)) for reads of \(size)")
    }

    @Test func headEndNeedsTheBlankLine() {
        #expect(LengthlessBodyFramer.headEnd(ByteBuffer(string: "POST / HTTP/1.0\r\nA: b\r\n")) == nil)
        #expect(LengthlessBodyFramer.headEnd(ByteBuffer(string: "POST / HTTP/1.0\r\n\r\nbody")) == 19)
    }
}
