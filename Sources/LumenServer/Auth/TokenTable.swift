import Foundation

/// Bearer tokens issued by an admin out of band, one per person, loaded from a
/// JSON file (JSON is also valid YAML):
///
///     { "3f9c…long random…": { "user": "alice", "role": "annotator" },
///       "b72e…":             { "user": "bob",   "role": "admin" } }
public struct TokenTable: Sendable {
    let entries: [(token: [UInt8], identity: Identity)]

    public static let minimumTokenLength = 16

    public init(_ tokens: [String: Identity]) {
        entries = tokens.map { (Array($0.key.utf8), $0.value) }
    }

    public static func load(_ url: URL) throws -> TokenTable {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw ServerError.tokensFile(path: url.path, reason: "cannot be read: \(error.localizedDescription)")
        }
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw ServerError.tokensFile(path: url.path, reason: "must be a JSON object mapping each token to {\"user\": …, \"role\": \"annotator\"|\"admin\"}")
        }
        var tokens: [String: Identity] = [:]
        for (index, (token, value)) in object.sorted(by: { $0.key < $1.key }).enumerated() {
            let entry = "entry \(index + 1)"   // never echo a token
            guard token.count >= minimumTokenLength else {
                throw ServerError.tokensFile(path: url.path, reason: "\(entry): tokens must have at least \(minimumTokenLength) characters")
            }
            guard let fields = value as? [String: Any], let user = fields["user"] as? String, !user.isEmpty else {
                throw ServerError.tokensFile(path: url.path, reason: "\(entry): needs a non-empty \"user\"")
            }
            guard let roleName = fields["role"] as? String, let role = Role(rawValue: roleName) else {
                throw ServerError.tokensFile(path: url.path, reason: "\(entry) (user \(user)): \"role\" must be \"annotator\" or \"admin\"")
            }
            tokens[token] = Identity(user: user, role: role)
        }
        guard !tokens.isEmpty else { throw ServerError.tokensFile(path: url.path, reason: "holds no tokens") }
        return TokenTable(tokens)
    }

    /// Compares against every token in constant time per token, so response
    /// timing does not reveal how much of a guessed token was right.
    func identity(for token: String) -> Identity? {
        let candidate = Array(token.utf8)
        var found: Identity?
        for entry in entries where entry.token.count == candidate.count {
            var difference: UInt8 = 0
            for i in 0..<candidate.count { difference |= entry.token[i] ^ candidate[i] }
            if difference == 0 { found = entry.identity }
        }
        return found
    }
}
