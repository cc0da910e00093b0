import NIOCore

/// MITK's Poco-based AIAA client POSTs and PUTs over HTTP/1.0 and may send a
/// multipart body with neither Content-Length nor chunking, ending it by closing
/// its side of the socket. NIO's HTTP parser reads such a request as bodiless, so
/// this handler sits in front of the parser and re-frames that one body as
/// chunked. The body ends at the multipart closing delimiter (the client may wait
/// for the reply without ever closing) or at the client's half-close, whichever
/// comes first. Every other request passes through untouched, and the handler
/// leaves the pipeline as soon as it knows it is not needed.
final class LengthlessBodyFramer: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    /// A head larger than this is not ours to judge; the HTTP parser reports it.
    static let maxHead = 80 * 1024

    private enum State {
        case head(ByteBuffer?)
        case body(DelimiterScanner?)
        case done
    }
    private var state: State = .head(nil)

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        switch state {
        case .head(let pending):
            var head = pending ?? context.channel.allocator.buffer(capacity: bytes.readableBytes)
            head.writeBuffer(&bytes)
            // Only an HTTP/1.0 POST/PUT/PATCH head with CRLF line ends is ours to
            // judge; anything else (bare LF ends included) goes straight to the
            // parser, which answers or refuses it without waiting for more bytes.
            guard Self.mayBeLengthless(head) else { passOn(head, context: context); return }
            guard let end = Self.headEnd(head) else {
                if head.readableBytes > Self.maxHead { passOn(head, context: context) } else { state = .head(head) }
                return
            }
            guard let framing = LengthlessRequest(head: head.getBytes(at: head.readerIndex, length: end) ?? []) else {
                passOn(head, context: context)
                return
            }
            var rewritten = context.channel.allocator.buffer(bytes: framing.rewrittenHead)
            context.fireChannelRead(wrapInboundOut(rewritten))
            rewritten.clear()
            state = .body(framing.boundary.map(DelimiterScanner.init))
            head.moveReaderIndex(forwardBy: end)
            if head.readableBytes > 0 { frame(head, context: context) }
        case .body:
            frame(bytes, context: context)
        case .done:
            context.fireChannelRead(data)
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case ChannelEvent.inputClosed = event { finishBody(context: context) }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        finishBody(context: context)
        context.fireChannelInactive()
    }

    /// Not a lengthless request: hand over what was buffered and step aside.
    private func passOn(_ buffered: ByteBuffer, context: ChannelHandlerContext) {
        state = .done
        context.fireChannelRead(wrapInboundOut(buffered))
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
    }

    private func frame(_ bytes: ByteBuffer, context: ChannelHandlerContext) {
        guard case .body(var scanner) = state else { return }
        var body = bytes
        if let cut = scanner?.feed(body.readableBytesView) {
            body = body.getSlice(at: body.readerIndex, length: cut) ?? body
            emitChunk(body, context: context)
            finishBody(context: context)
            return
        }
        state = .body(scanner)
        emitChunk(body, context: context)
    }

    private func emitChunk(_ bytes: ByteBuffer, context: ChannelHandlerContext) {
        guard bytes.readableBytes > 0 else { return }
        var chunk = context.channel.allocator.buffer(capacity: bytes.readableBytes + 16)
        chunk.writeString(String(bytes.readableBytes, radix: 16) + "\r\n")
        var copy = bytes
        chunk.writeBuffer(&copy)
        chunk.writeString("\r\n")
        context.fireChannelRead(wrapInboundOut(chunk))
    }

    /// The last chunk; anything the client sends after it is ignored (HTTP/1.0
    /// without a length cannot carry a second request on the same connection).
    private func finishBody(context: ChannelHandlerContext) {
        guard case .body = state else { return }
        state = .done
        context.fireChannelRead(wrapInboundOut(context.channel.allocator.buffer(string: "0\r\n\r\n")))
        context.fireChannelReadComplete()
    }

    /// False once the bytes so far show the request is not an HTTP/1.0
    /// POST/PUT/PATCH with CRLF line ends; true while it still may be.
    static func mayBeLengthless(_ buffer: ByteBuffer) -> Bool {
        let view = buffer.readableBytesView
        var previous: UInt8 = 0
        var requestLine: [UInt8]?
        for (offset, byte) in view.enumerated() {
            if byte == 10 {
                guard previous == 13 else { return false }   // a bare LF
                if requestLine == nil { requestLine = Array(view.prefix(offset - 1)) }
                if offset >= 3, view[view.startIndex + offset - 2] == 10 { break }   // the blank line: the head is complete
            }
            previous = byte
        }
        guard let requestLine else { return true }
        let parts = requestLine.split(separator: 32)
        guard parts.count == 3, Array(parts[2]) == Array("HTTP/1.0".utf8) else { return false }
        return [Array("POST".utf8), Array("PUT".utf8), Array("PATCH".utf8)].contains(Array(parts[0]))
    }

    /// The offset just past the blank line that ends the head, if it has arrived.
    static func headEnd(_ buffer: ByteBuffer) -> Int? {
        let view = buffer.readableBytesView
        guard view.count >= 4 else { return nil }
        var index = view.startIndex
        while index + 3 < view.endIndex {
            if view[index] == 13, view[index + 1] == 10, view[index + 2] == 13, view[index + 3] == 10 {
                return index + 4 - view.startIndex
            }
            index += 1
        }
        return nil
    }
}

/// A request head that needs re-framing: HTTP/1.0, a method that carries a body,
/// and neither Content-Length nor Transfer-Encoding.
struct LengthlessRequest {
    var rewrittenHead: [UInt8]
    /// The multipart boundary, when the body is multipart; its closing delimiter ends the body.
    var boundary: String?

    init?(head: [UInt8]) {
        let text = String(decoding: head, as: UTF8.self)
        var lines = text.components(separatedBy: "\r\n")
        guard let requestLine = lines.first else { return nil }
        let parts = requestLine.split(separator: " ")
        guard parts.count == 3, parts[2] == "HTTP/1.0", ["POST", "PUT", "PATCH"].contains(String(parts[0])) else { return nil }
        var contentType = ""
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let name = line[..<colon].trimmingCharacters(in: .whitespaces).lowercased()
            let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            if name == "content-length" || name == "transfer-encoding" { return nil }
            if name == "content-type" { contentType = value }
        }
        boundary = try? HeaderParameters.boundary(contentType: contentType)
        // The head ends "\r\n\r\n": the split leaves two empty strings; the new header goes before them.
        while lines.last == "" { lines.removeLast() }
        // Nothing can follow a body that ends with the connection, and HTTP/1.0 closes after the reply.
        lines.removeAll { $0.lowercased().hasPrefix("connection:") }
        lines.append("transfer-encoding: chunked")
        lines.append("connection: close")
        rewrittenHead = Array((lines.joined(separator: "\r\n") + "\r\n\r\n").utf8)
    }
}

/// Finds the multipart closing delimiter (`--boundary--`) across reads.
struct DelimiterScanner {
    private let needle: [UInt8]
    /// The last `needle.count - 1` bytes seen, so a delimiter split over two reads is found.
    private var tail: [UInt8] = []

    init(boundary: String) { needle = Array("--\(boundary)--".utf8) }

    /// How many bytes of `bytes` belong to the body: up to and including the
    /// delimiter and the line break after it, or nil when it has not appeared yet.
    mutating func feed(_ bytes: ByteBufferView) -> Int? {
        let joined = tail + Array(bytes)
        if let start = Self.find(needle, in: joined) {
            var end = start + needle.count
            if end + 1 < joined.count, joined[end] == 13, joined[end + 1] == 10 { end += 2 }
            return max(0, end - tail.count)
        }
        tail = Array(joined.suffix(needle.count - 1))
        return nil
    }

    static func find(_ needle: [UInt8], in haystack: [UInt8]) -> Int? {
        guard let first = needle.first, haystack.count >= needle.count else { return nil }
        var index = 0
        while index + needle.count <= haystack.count {
            if haystack[index] == first, haystack[index..<(index + needle.count)].elementsEqual(needle) { return index }
            index += 1
        }
        return nil
    }
}
