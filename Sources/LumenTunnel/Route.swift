/// How the tunnel reaches the server job: straight through the login node's forwarding, or with a
/// second hop through the compute node's own sshd. The second hop is needed where the login node
/// cannot reach the server's port: the server binds the node's loopback (slurm/serve.sbatch's
/// default), or the site lets the login node forward only to port 22.
public struct Route: Sendable {
    public var login: SSHSession.Options
    /// The second hop: the node's SSH options (host: the node's name, under which its key is looked
    /// up in known_hosts; port: its sshd) and the address the login node connects to. nil: none.
    public var node: Hop?
    /// Where the last session's direct-tcpip goes: from the login node, or on the node itself.
    public var target: (host: String, port: Int)

    public struct Hop: Sendable {
        public var options: SSHSession.Options
        public var address: String
    }

    public enum Mode: String, Sendable, CaseIterable {
        /// The login node's forwarding when it reaches the server, else the second hop.
        case auto
        /// Always through the node's sshd.
        case always
        /// Never: the login node's forwarding only.
        case never
    }

    /// A fresh session for the route's last leg (a reconnect builds every hop again).
    public func connect(keepaliveSeconds: Double) throws -> SSHSession {
        try hop(from: SSHSession(login), keepaliveSeconds: keepaliveSeconds)
    }

    /// The route's last leg from a login-node session: that session itself, or a node session that
    /// takes it over.
    public func hop(from login: SSHSession, keepaliveSeconds: Double) throws -> SSHSession {
        guard let node else { return login }
        return try SSHSession(node.options, via: login, address: node.address, keepaliveSeconds: keepaliveSeconds)
    }

    /// Picks the route for `info`. In `auto`, one direct-tcpip channel is opened through `session`
    /// to the server as a probe (and closed); only a refusal leads to the second hop, and `log` says why.
    public static func choose(for info: ConnectionInfo, mode: Mode, login: SSHSession.Options, session: SSHSession,
                              nodeSSHPort: Int, log: (String) -> Void) throws -> Route {
        let direct = Route(login: login, node: nil, target: (info.forwardHost, info.port))
        var nodeOptions = login
        nodeOptions.target = SSHTarget(user: session.user, host: info.node, port: nodeSSHPort)
        let loopback = ["127.0.0.1", "localhost", "::1", "0.0.0.0", "::"].contains(info.bind)
        let hop = Route(login: login, node: Hop(options: nodeOptions, address: info.nodeAddr),
                        target: (loopback ? "127.0.0.1" : info.bind, info.port))
        switch mode {
        case .never: return direct
        case .always: return hop
        case .auto:
            do {
                let probe = try SSHChannel(session: session)
                try probe.openForward(host: direct.target.host, port: direct.target.port)
                return direct
            } catch let error as SSHError {
                guard case .forward = error else { throw error }
                log("the login node cannot reach \(direct.target.host):\(direct.target.port) (\(error)); "
                    + "using a second hop through \(info.node)'s sshd (\(info.nodeAddr):\(nodeSSHPort))")
                return hop
            }
        }
    }
}
