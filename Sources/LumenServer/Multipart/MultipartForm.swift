import Foundation
import Hummingbird
import LumenIO

/// A received multipart form: text fields in memory, file parts already on disk.
struct MultipartForm: Sendable {
    struct File: Sendable {
        var field: String
        /// The client's file name reduced to its basename; never used as a store path.
        var fileName: String
        var url: URL
        var size: Int
    }

    var fields: [String: String] = [:]
    var files: [File] = []

    static let maxFieldBytes = 1 << 20

    /// The file part named `field`, or else the only/first file part (clients differ on the name).
    func file(named field: String) -> File? {
        files.first { $0.field == field } ?? files.first
    }

    func removeFiles() {
        for file in files { try? FileManager.default.removeItem(at: file.url) }
    }

    /// Streams the body through the parser; file parts are written to `staging`
    /// as they arrive, so memory use does not grow with the upload.
    static func receive(_ request: Request, into staging: URL, maxBytes: Int = 2 << 30) async throws -> MultipartForm {
        if let declared = request.headers[.contentLength].flatMap(Int.init), declared > maxBytes {
            throw ServerError.tooLarge("the upload is \(declared >> 20) MiB; this server accepts at most \(maxBytes >> 20) MiB")
        }
        // HTTP/1.x request bodies end at Content-Length or the last chunk; a body sent
        // without either (old HTTP/1.0 clients) never reaches the server, so say what to fix.
        if request.headers[.contentLength] == nil, request.headers[.transferEncoding] == nil {
            throw ServerError.lengthRequired("this HTTP/1.1 multipart request has neither Content-Length nor chunked encoding, so by HTTP/1.1 it has no body; send Content-Length")
        }
        var received = 0
        let contentType = request.headers[.contentType] ?? ""
        var parser = MultipartParser(boundary: try HeaderParameters.boundary(contentType: contentType))
        var form = MultipartForm()
        var current: (name: String, file: FileHandle?, url: URL?, fileName: String?, text: [UInt8], size: Int)?
        do {
            for try await chunk in request.body {
                received += chunk.readableBytes
                guard received <= maxBytes else {
                    throw ServerError.tooLarge("the upload passed \(maxBytes >> 20) MiB, the most this server accepts")
                }
                for event in try parser.feed(Array(chunk.readableBytesView)) {
                    switch event {
                    case .headers(let headers):
                        let (_, disposition) = HeaderParameters.parse(headers["content-disposition"] ?? "")
                        let name = disposition["name"] ?? ""
                        if let fileName = HeaderParameters.fileName(disposition: disposition) {
                            let ext = Self.extensionOf(fileName)
                            let url = staging.appendingPathComponent("upload-\(UUID().uuidString)\(ext)")
                            guard let handle = try? NewFile.open(url) else {
                                throw ServerError.internalFailure("cannot create an upload file in \(staging.path)")
                            }
                            current = (name, handle, url, fileName.isEmpty ? "upload.nii.gz" : fileName, [], 0)
                        } else {
                            current = (name, nil, nil, nil, [], 0)
                        }
                    case .body(let bytes):
                        guard var part = current else { continue }
                        if let handle = part.file {
                            try handle.write(contentsOf: bytes)
                        } else {
                            guard part.text.count + bytes.count <= maxFieldBytes else {
                                throw MultipartError.fieldTooLarge(name: part.name, limit: maxFieldBytes)
                            }
                            part.text += bytes
                        }
                        part.size += bytes.count
                        current = part
                    case .partEnd:
                        guard let part = current else { continue }
                        if let handle = part.file, let url = part.url, let fileName = part.fileName {
                            try handle.close()
                            form.files.append(File(field: part.name, fileName: fileName, url: url, size: part.size))
                        } else {
                            form.fields[part.name] = String(decoding: part.text, as: UTF8.self)
                        }
                        current = nil
                    }
                }
            }
            try parser.finish()
        } catch {
            if let handle = current?.file { try? handle.close() }
            if let url = current?.url { try? FileManager.default.removeItem(at: url) }
            form.removeFiles()
            throw error
        }
        return form
    }

    /// `.nii.gz` keeps both suffixes (libnifti picks the format from them); no suffix means `.nii.gz`.
    static func extensionOf(_ name: String) -> String {
        let lower = name.lowercased()
        for ext in [".nii.gz", ".seg.nrrd", ".nii", ".nrrd"] where lower.hasSuffix(ext) { return ext }
        if let dot = name.lastIndex(of: "."), dot != name.startIndex {
            let ext = String(name[dot...])
            return ext.allSatisfy { $0.isLetter || $0.isNumber || $0 == "." } && ext.count <= 10 ? ext : ""
        }
        return ".nii.gz"
    }
}
