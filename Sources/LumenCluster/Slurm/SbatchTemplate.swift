import Foundation

/// Renders slurm/finetune.sbatch.template with exactly the rules of slurm/render_template.py:
///   1. every `{{name}}` needs a value (an empty value is allowed);
///   2. an `#SBATCH` line holding a placeholder whose value is empty is dropped;
///   3. values may hold only letters, digits and `. _ - / : , @ % + =` (every value given is checked).
/// The bearer token never goes into the script (`report_token_file`).
public struct SbatchTemplate: Sendable {
    public let text: String

    /// Line ends are read as Python's text mode reads them (universal newlines): CRLF and CR become LF.
    public init(text: String) {
        self.text = Self.universalNewlines(text)
    }

    public init(contentsOf url: URL) throws {
        let text: String
        do { text = try String(contentsOf: url, encoding: .utf8) } catch {
            throw TemplateError.unreadable(path: url.path, reason: "\(error)")
        }
        self.init(text: text)
    }

    static func universalNewlines(_ s: String) -> String {
        guard s.unicodeScalars.contains("\r") else { return s }
        var out = String.UnicodeScalarView()
        let scalars = Array(s.unicodeScalars)
        var i = 0
        while i < scalars.count {
            if scalars[i] == "\r" {
                out.append("\n")
                if i + 1 < scalars.count, scalars[i + 1] == "\n" { i += 1 }
            } else {
                out.append(scalars[i])
            }
            i += 1
        }
        return String(out)
    }

    public enum TemplateError: Error, Equatable, CustomStringConvertible {
        case missingValues([String])
        case unsafeValue(name: String, value: String)
        case unreadable(path: String, reason: String)

        public var description: String {
            switch self {
            case .missingValues(let names): "no value for: " + names.joined(separator: ", ")
            case .unsafeValue(let name, let value):
                "unsafe value for \(name): \(value.debugDescription) (only letters, digits and . _ - / : , @ % + = are allowed)"
            case .unreadable(let path, let reason): "cannot read the job template \(path): \(reason)"
            }
        }
    }

    /// The placeholders the template uses, sorted (render_template.py --list).
    public var placeholders: [String] { Array(Set(Self.names(in: text))).sorted() }

    public func render(_ values: [String: String]) throws -> String {
        let missing = placeholders.filter { values[$0] == nil }
        guard missing.isEmpty else { throw TemplateError.missingValues(missing) }
        for (name, value) in values.sorted(by: { $0.key < $1.key }) where !Self.isSafe(value) {
            throw TemplateError.unsafeValue(name: name, value: value)
        }
        var out = ""
        for line in Self.splitLinesKeepingEnds(text) {
            let names = Self.names(in: line)
            if line.hasPrefix("#SBATCH"), names.contains(where: { values[$0] == "" }) { continue }
            out += Self.substitute(line, values)
        }
        return out
    }

    static let safe = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-/:,@%+=".unicodeScalars)

    static func isSafe(_ value: String) -> Bool { value.unicodeScalars.allSatisfy { safe.contains($0) } }

    /// Python's `\w`: Unicode letters, digits and the underscore.
    static func isWord(_ c: Character) -> Bool { c == "_" || c.isLetter || c.isNumber }

    /// Finds `{{name}}` left to right without overlaps, as `re.findall(r"\{\{(\w+)\}\}")` does.
    static func matches(in s: String) -> [(range: Range<String.Index>, name: String)] {
        var found: [(Range<String.Index>, String)] = []
        var i = s.startIndex
        while let open = s[i...].range(of: "{{") {
            var j = open.upperBound
            while j < s.endIndex, isWord(s[j]) { j = s.index(after: j) }
            if j > open.upperBound, s[j...].hasPrefix("}}") {
                let end = s.index(j, offsetBy: 2)
                found.append((open.lowerBound..<end, String(s[open.upperBound..<j])))
                i = end
            } else {
                i = s.index(after: open.lowerBound)
            }
        }
        return found
    }

    static func names(in s: String) -> [String] { matches(in: s).map(\.name) }

    static func substitute(_ line: String, _ values: [String: String]) -> String {
        var out = ""
        var i = line.startIndex
        for m in matches(in: line) {
            out += line[i..<m.range.lowerBound]
            out += values[m.name] ?? ""
            i = m.range.upperBound
        }
        out += line[i...]
        return out
    }

    /// Python's `str.splitlines(keepends=True)`: \n, \r, \r\n, \v, \f, \x1c-\x1e, \x85, U+2028, U+2029.
    static func splitLinesKeepingEnds(_ s: String) -> [String] {
        let breaks: Set<Unicode.Scalar> = ["\n", "\r", "\u{0B}", "\u{0C}", "\u{1C}", "\u{1D}", "\u{1E}", "\u{85}",
                                           "\u{2028}", "\u{2029}"]
        var lines: [String] = []
        var current = String.UnicodeScalarView()
        let scalars = Array(s.unicodeScalars)
        var k = 0
        while k < scalars.count {
            let c = scalars[k]
            current.append(c)
            if breaks.contains(c) {
                if c == "\r", k + 1 < scalars.count, scalars[k + 1] == "\n" {
                    current.append(scalars[k + 1])
                    k += 1
                }
                lines.append(String(current))
                current = String.UnicodeScalarView()
            }
            k += 1
        }
        if !current.isEmpty { lines.append(String(current)) }
        return lines
    }
}
