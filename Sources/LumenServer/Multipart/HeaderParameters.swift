import Foundation

/// `type/subtype; name=value; name="quoted value"` as clients really send it.
/// Backslashes in quoted values are kept literally: Python's clients put raw
/// Windows paths (`C:\Users\ana\label.nii.gz`) into `filename="…"`.
enum HeaderParameters {
    static func parse(_ header: String) -> (value: String, parameters: [String: String]) {
        var parameters: [String: String] = [:]
        let chars = Array(header)
        var i = 0
        func skipSpaces() { while i < chars.count, chars[i] == " " || chars[i] == "\t" { i += 1 } }
        var value = ""
        while i < chars.count, chars[i] != ";" { value.append(chars[i]); i += 1 }
        while i < chars.count {
            i += 1   // past ';'
            skipSpaces()
            var name = ""
            while i < chars.count, chars[i] != "=", chars[i] != ";" { name.append(chars[i]); i += 1 }
            name = name.trimmingCharacters(in: .whitespaces).lowercased()
            guard i < chars.count, chars[i] == "=" else { continue }
            i += 1
            skipSpaces()
            var v = ""
            if i < chars.count, chars[i] == "\"" {
                i += 1
                while i < chars.count, chars[i] != "\"" { v.append(chars[i]); i += 1 }
                i += 1
                while i < chars.count, chars[i] != ";" { i += 1 }
            } else {
                while i < chars.count, chars[i] != ";" { v.append(chars[i]); i += 1 }
                v = v.trimmingCharacters(in: .whitespaces)
            }
            if !name.isEmpty { parameters[name] = v }
        }
        return (value.trimmingCharacters(in: .whitespaces).lowercased(), parameters)
    }

    /// The boundary of a multipart content-type, quoted or not.
    static func boundary(contentType: String) throws -> String {
        let (type, parameters) = parse(contentType)
        guard type.hasPrefix("multipart/"), let boundary = parameters["boundary"], !boundary.isEmpty,
              boundary.utf8.count <= 200 else {
            throw MultipartError.notMultipart(contentType: contentType)
        }
        return boundary
    }

    /// What follows the last `/` or `\` of a client's file name; `filename*=utf-8''…` wins when present.
    static func fileName(disposition parameters: [String: String]) -> String? {
        var raw = parameters["filename"]
        if let extended = parameters["filename*"], let quote = extended.range(of: "''") {
            raw = String(extended[quote.upperBound...]).removingPercentEncoding ?? raw
        }
        guard let raw else { return nil }
        let base = raw.split(whereSeparator: { $0 == "/" || $0 == "\\" }).last.map(String.init) ?? ""
        return base
    }
}
