import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A push parser for multipart/form-data that never holds a whole part: bytes
/// go in as they arrive from the socket, events come out, and only a tail
/// shorter than the delimiter is kept back between chunks.
///
/// It accepts what real clients send rather than only what RFC 2046 allows:
/// MONAI Label's and AIAA's Python clients use the unquoted boundary
/// `----------lImIt_of_THE_fIle_eW_$`.
struct MultipartParser {
    enum Event: Equatable {
        case headers([String: String])   // lower-cased names
        case body([UInt8])
        case partEnd
    }

    enum State { case preamble, afterDelimiter, headers, body, epilogue }

    static let maxHeaderBytes = 16 * 1024

    let dashBoundary: [UInt8]    // "--" + boundary
    let delimiter: [UInt8]       // "\r\n--" + boundary
    private(set) var state = State.preamble
    private var buffer: [UInt8] = []
    private var start = 0

    init(boundary: String) {
        dashBoundary = Array("--\(boundary)".utf8)
        delimiter = Array("\r\n--\(boundary)".utf8)
    }

    var isFinished: Bool { state == .epilogue }

    mutating func feed(_ bytes: [UInt8]) throws -> [Event] {
        buffer.append(contentsOf: bytes)
        var events: [Event] = []
        loop: while true {
            switch state {
            case .preamble:
                if let i = find(dashBoundary, from: start) {
                    start = i + dashBoundary.count
                    state = .afterDelimiter
                } else {
                    start = max(start, buffer.count - dashBoundary.count + 1)
                    break loop
                }
            case .afterDelimiter:
                // "--" closes the body; otherwise optional spaces, then CRLF.
                guard buffer.count - start >= 2 else { break loop }
                if buffer[start] == UInt8(ascii: "-"), buffer[start + 1] == UInt8(ascii: "-") {
                    state = .epilogue
                    continue loop
                }
                var j = start
                while j < buffer.count, buffer[j] == UInt8(ascii: " ") || buffer[j] == UInt8(ascii: "\t") { j += 1 }
                guard buffer.count - j >= 2 else { break loop }
                guard buffer[j] == 13, buffer[j + 1] == 10 else {
                    throw MultipartError.malformed("the boundary is not followed by a line break")
                }
                start = j + 2
                state = .headers
            case .headers:
                if let end = find([13, 10, 13, 10], from: start) {
                    events.append(.headers(try Self.parseHeaders(buffer[start..<end])))
                    start = end + 4
                    state = .body
                } else if buffer.count - start >= 2, buffer[start] == 13, buffer[start + 1] == 10 {
                    events.append(.headers([:]))   // a part with no headers at all
                    start += 2
                    state = .body
                } else {
                    guard buffer.count - start <= Self.maxHeaderBytes else {
                        throw MultipartError.malformed("a part's headers exceed \(Self.maxHeaderBytes) bytes")
                    }
                    break loop
                }
            case .body:
                if let i = find(delimiter, from: start) {
                    if i > start { events.append(.body(Array(buffer[start..<i]))) }
                    events.append(.partEnd)
                    start = i + delimiter.count
                    state = .afterDelimiter
                } else {
                    // Everything but a possible delimiter prefix at the end is part data.
                    let safe = buffer.count - (delimiter.count - 1)
                    if safe > start {
                        events.append(.body(Array(buffer[start..<safe])))
                        start = safe
                    }
                    break loop
                }
            case .epilogue:
                start = buffer.count
                break loop
            }
        }
        compact()
        return events
    }

    /// After the last chunk: a body that never reached its closing delimiter is an error.
    func finish() throws {
        guard state == .epilogue else {
            throw MultipartError.malformed(state == .preamble
                ? "no part with the declared boundary was found"
                : "the body ends before the closing boundary; the upload was cut off")
        }
    }

    private mutating func compact() {
        if start > 0 && (start >= 65536 || start == buffer.count) {
            buffer.removeFirst(start)
            start = 0
        }
    }

    private func find(_ needle: [UInt8], from: Int) -> Int? {
        guard buffer.count - from >= needle.count else { return nil }
        return buffer.withUnsafeBytes { hay in
            needle.withUnsafeBytes { n in
                // memchr jumps to candidates for the first byte; memcmp confirms.
                let base = hay.baseAddress!
                let first = Int32(needle[0])
                var i = from
                let last = hay.count - needle.count
                while i <= last {
                    guard let hit = memchr(base + i, first, last - i + 1) else { return nil }
                    let at = base.distance(to: UnsafeRawPointer(hit))
                    if memcmp(base + at, n.baseAddress!, n.count) == 0 { return at }
                    i = at + 1
                }
                return nil
            }
        }
    }

    static func parseHeaders(_ bytes: ArraySlice<UInt8>) throws -> [String: String] {
        var headers: [String: String] = [:]
        let text = String(decoding: bytes, as: UTF8.self)
        for line in text.split(separator: "\r\n", omittingEmptySubsequences: true) {
            guard let colon = line.firstIndex(of: ":") else {
                throw MultipartError.malformed("a part header line has no ':'")
            }
            let name = line[..<colon].trimmingCharacters(in: .whitespaces).lowercased()
            headers[name] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        return headers
    }
}

enum MultipartError: Error, Equatable, CustomStringConvertible {
    case malformed(String)
    case notMultipart(contentType: String)
    case missingPart(String)
    case fieldTooLarge(name: String, limit: Int)

    var description: String {
        switch self {
        case .malformed(let why): "malformed multipart body: \(why)"
        case .notMultipart(let type): "expected a multipart/form-data upload with a boundary, got content-type '\(type)'"
        case .missingPart(let name): "the upload has no '\(name)' file part"
        case .fieldTooLarge(let name, let limit): "form field '\(name)' is larger than \(limit) bytes"
        }
    }
}
