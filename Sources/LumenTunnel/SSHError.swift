import CLibSSH

/// libssh failures as Swift errors, each with what to check.
public enum SSHError: Error, CustomStringConvertible, Equatable {
    /// A libssh call failed; `message` is `ssh_get_error`'s text.
    case libssh(call: String, message: String)
    case connect(host: String, port: Int, message: String)
    /// The host's key is not in known_hosts (and --accept-new was not given).
    case unknownHostKey(host: String, port: Int, fingerprint: String, knownHosts: String)
    /// The host's key differs from the one recorded: possibly an attack; always refused.
    case changedHostKey(host: String, port: Int, fingerprint: String, knownHosts: String)
    case authentication(user: String, host: String, tried: String)
    case remoteCommand(command: String, status: Int, stderr: String)
    case forward(host: String, port: Int, message: String)
    case badTarget(String)
    case noServerJob(String)
    case badConnectionFile(String)
    case listen(port: Int, message: String)

    public var description: String {
        switch self {
        case .libssh(let call, let message): "\(call) failed: \(message)"
        case .connect(let host, let port, let message): "cannot connect to \(host):\(port): \(message)"
        case .unknownHostKey(let host, let port, let fp, let kh):
            """
            the host key of \(host):\(port) is not known (\(kh) has no entry for it); its fingerprint is \(fp).
            Check that fingerprint with your cluster's documentation or admins (on the login node: ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub), then run again with --accept-new to record it. Nothing was forwarded.
            """
        case .changedHostKey(let host, let port, let fp, let kh):
            """
            WARNING: THE HOST KEY OF \(host):\(port) HAS CHANGED (now \(fp)); it does not match the one recorded in \(kh).
            Someone may be intercepting the connection, or the host was reinstalled. Ask your cluster admins whether the key changed; only then remove the old entry (ssh-keygen -R '\(port == 22 ? host : "[\(host)]:\(port)")' -f \(kh)). Refused; nothing was forwarded.
            """
        case .authentication(let user, let host, let tried):
            "cannot log in as \(user) on \(host) (tried \(tried)); check the key (--identity), that ssh-agent holds it, and that its public half is in ~/.ssh/authorized_keys on the login node"
        case .remoteCommand(let command, let status, let stderr):
            "the login node's `\(command)` failed with status \(status): \(stderr.trimmingCharacters(in: .whitespacesAndNewlines))"
        case .forward(let host, let port, let message):
            "the login node could not open a connection to \(host):\(port): \(message) (is the server job still running? does the site allow TCP forwarding?)"
        case .badTarget(let why), .noServerJob(let why), .badConnectionFile(let why): why
        case .listen(let port, let message): "cannot listen on 127.0.0.1:\(port): \(message) (another program may use the port; pick another with --local-port)"
        }
    }
}
