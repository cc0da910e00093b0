import Foundation
import Testing
@testable import LumenServer

@Suite struct MultipartParserTests {
    static let boundary = "----------lImIt_of_THE_fIle_eW_$"
    static let payload: [UInt8] = (0..<3000).map { UInt8(truncatingIfNeeded: $0 &* 31) } + Array("\r\n--not-the-boundary".utf8)
    static var body: [UInt8] {
        Array("--\(boundary)\r\nContent-Disposition: form-data; name=\"params\"\r\n\r\n{\"a\": 1}\r\n".utf8)
            + Array("--\(boundary)\r\nContent-Disposition: form-data; name=\"label\"; filename=\"C:\\tmp\\x.nii.gz\"\r\n\r\n".utf8)
            + payload + Array("\r\n--\(boundary)--\r\n\r\n".utf8)
    }

    /// Collects parts, whatever the chunking.
    func parse(_ body: [UInt8], boundary: String = boundary, chunk: Int) throws -> [(headers: [String: String], data: [UInt8])] {
        var parser = MultipartParser(boundary: boundary)
        var parts: [(headers: [String: String], data: [UInt8])] = []
        var offset = 0
        while offset < body.count {
            let end = min(body.count, offset + chunk)
            for event in try parser.feed(Array(body[offset..<end])) {
                switch event {
                case .headers(let h): parts.append((h, []))
                case .body(let b): parts[parts.count - 1].data += b
                case .partEnd: break
                }
            }
            offset = end
        }
        try parser.finish()
        return parts
    }

    @Test(arguments: [1, 2, 3, 7, 33, 34, 35, 64, 1000, 100_000])
    func anyChunkingGivesTheSameParts(chunk: Int) throws {
        let parts = try parse(Self.body, chunk: chunk)
        #expect(parts.count == 2)
        #expect(String(decoding: parts[0].data, as: UTF8.self) == "{\"a\": 1}")
        #expect(parts[1].data == Self.payload)
        let (_, disposition) = HeaderParameters.parse(parts[1].headers["content-disposition"] ?? "")
        #expect(HeaderParameters.fileName(disposition: disposition) == "x.nii.gz")
    }

    @Test(arguments: [
        ("multipart/form-data; boundary=----------lImIt_of_THE_fIle_eW_$", "----------lImIt_of_THE_fIle_eW_$"),
        ("multipart/form-data; boundary=\"abc def\"", "abc def"),
        ("Multipart/Form-Data;boundary=xyz ; charset=utf-8", "xyz"),
    ])
    func boundaries(contentType: String, expected: String) throws {
        #expect(try HeaderParameters.boundary(contentType: contentType) == expected)
    }

    @Test func notMultipartIsRefused() {
        #expect(throws: MultipartError.self) { try HeaderParameters.boundary(contentType: "application/json") }
    }

    @Test func cutOffBodyIsAnError() throws {
        let body = Array(Self.body.dropLast(20))
        #expect(throws: MultipartError.self) { _ = try parse(body, chunk: 100) }
    }

    @Test(arguments: [
        (["filename": "/home/ana/work/label.nii.gz"], "label.nii.gz"),
        (["filename": #"C:\Users\ana\label.nii.gz"#], "label.nii.gz"),
        (["filename": "x", "filename*": "utf-8''l%C3%A4bel.nii"], "läbel.nii"),
    ])
    func fileNamesKeepTheBasename(parameters: [String: String], expected: String) {
        #expect(HeaderParameters.fileName(disposition: parameters) == expected)
    }
}
