import Hummingbird

/// AIAA clients keep the configured URL's path, so Lumen can sit under a
/// prefix, including a secret one that stands in for the token those clients
/// cannot send (a wrong prefix is a plain 404 that reveals nothing). Old
/// client docs also told users to configure `…/v1`, which today's clients
/// turn into `/v1/v1/models`; both are mapped onto the real routes. This runs
/// before routing, so it wraps the router rather than being a middleware.
public struct PathRewriter<Inner: HTTPResponderBuilder>: HTTPResponderBuilder where Inner.Responder.Context == LumenRequestContext {
    /// Normalised: "" or "/segment" with no trailing slash.
    public let prefix: String
    let inner: Inner
    let tokens: TokenTable?

    public init(prefix: String, inner: Inner, tokens: TokenTable? = nil) {
        self.prefix = Self.normalise(prefix)
        self.inner = inner
        self.tokens = tokens
    }

    public static func normalise(_ prefix: String) -> String {
        let trimmed = prefix.split(separator: "/").joined(separator: "/")
        return trimmed.isEmpty ? "" : "/" + trimmed
    }

    public func buildResponder() -> CallbackResponder<LumenRequestContext> {
        let responder = inner.buildResponder()
        let prefix = self.prefix, tokens = self.tokens
        return CallbackResponder { request, context in
            guard var path = request.head.path else { return try await responder.respond(to: request, context: context) }
            var head = request.head
            // Token-in-path mode: http://host:8000/<token> in Slicer's server field. The
            // token becomes the request's bearer credential unless a header already gave one.
            if let tokens, head.headerFields[.authorization] == nil,
               let first = path.dropFirst().split(separator: "/", maxSplits: 1).first.map({ String($0.split(separator: "?")[0]) }),
               tokens.identity(for: first) != nil {
                path = String(path.dropFirst(first.count + 1))
                if path.isEmpty || path.hasPrefix("?") { path = "/" + path }
                head.headerFields[.authorization] = "Bearer \(first)"
            }
            guard let route = Self.rewrite(path, prefix: prefix) else {
                return Response(status: .notFound, headers: [.contentLength: "0"])
            }
            head.path = route
            return try await responder.respond(to: Request(head: head, body: request.body), context: context)
        }
    }

    /// The path the router should see, or nil when the prefix does not match.
    public static func rewrite(_ path: String, prefix: String) -> String? {
        let q = path.firstIndex(of: "?") ?? path.endIndex
        var route = String(path[..<q])
        if !prefix.isEmpty {
            guard route == prefix || route.hasPrefix(prefix + "/") else { return nil }
            route = String(route.dropFirst(prefix.count))
            if route.isEmpty { route = "/" }
        }
        while route.hasPrefix("/v1/v1/") { route = String(route.dropFirst(3)) }
        if route.hasPrefix("/v1/models/v1/") { route = String(route.dropFirst("/v1/models".count)) }
        return route + path[q...]
    }
}
