/// `user@host[:port]`, where host may be an alias of ~/.ssh/config.
public struct SSHTarget: Sendable, Equatable {
    public var user: String?
    public var host: String
    public var port: Int?

    public init(user: String? = nil, host: String, port: Int? = nil) {
        self.user = user
        self.host = host
        self.port = port
    }

    public init(parsing text: String) throws {
        var rest = Substring(text)
        if let at = rest.lastIndex(of: "@") {
            user = String(rest[..<at])
            rest = rest[rest.index(after: at)...]
            guard !(user ?? "").isEmpty else { throw SSHError.badTarget("--login \(text): empty user before @") }
        }
        // [v6::addr]:port, host:port or host
        if rest.hasPrefix("["), let close = rest.firstIndex(of: "]") {
            host = String(rest[rest.index(after: rest.startIndex)..<close])
            rest = rest[rest.index(after: close)...]
            if rest.hasPrefix(":") { port = Int(rest.dropFirst()); guard port != nil else { throw SSHError.badTarget("--login \(text): bad port") } }
        } else if let colon = rest.lastIndex(of: ":"), rest.filter({ $0 == ":" }).count == 1 {
            host = String(rest[..<colon])
            guard let p = Int(rest[rest.index(after: colon)...]), (1...65_535).contains(p) else {
                throw SSHError.badTarget("--login \(text): the port must be a number from 1 to 65535")
            }
            port = p
        } else {
            host = String(rest)
        }
        guard !host.isEmpty else { throw SSHError.badTarget("--login \(text): no host") }
    }
}
