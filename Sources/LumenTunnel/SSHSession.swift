import CLibSSH
import Foundation

/// Owns one libssh `ssh_session`: options, connection, host-key check and login; disconnected
/// and freed in `deinit`. libssh sessions are not thread-safe: a session and its channels are
/// used only on the thread that made them (the tunnel's own thread, never Swift's cooperative pool).
public final class SSHSession: @unchecked Sendable {
    let pointer: ssh_session
    public private(set) var host = ""
    public private(set) var port = 22
    public private(set) var user = ""
    public let knownHosts: String
    /// The login-node link under a second hop; stopped when this session ends.
    private var bridge: SSHBridge?

    public struct Options: Sendable {
        public var target: SSHTarget
        /// OpenSSH private key; nil: ssh-agent, then the config's IdentityFile and ~/.ssh/id_*.
        public var identity: String?
        /// nil: ~/.ssh/known_hosts.
        public var knownHosts: String?
        /// nil: ~/.ssh/config (when present).
        public var sshConfig: String?
        public var acceptNew = false
        public var connectTimeout = 10

        public init(target: SSHTarget, identity: String? = nil, knownHosts: String? = nil, sshConfig: String? = nil,
                    acceptNew: Bool = false) {
            self.target = target
            self.identity = identity
            self.knownHosts = knownHosts
            self.sshConfig = sshConfig
            self.acceptNew = acceptNew
        }
    }

    /// Sets the options (the alias first, then ~/.ssh/config, then what --login spelt out), connects,
    /// verifies the host key and logs in. Blocking: call it on a Lumen thread.
    public convenience init(_ options: Options) throws {
        try self.init(options, bridge: nil)
    }

    /// The second hop: an SSH session to a compute node, carried over `login` (which it takes over)
    /// by a direct-tcpip channel to the node's sshd at `address`:(options' port, default 22). The host
    /// key is looked up under the options' host (the node's name, as `ssh -J login node` records it),
    /// not under the address the login node connects to.
    public convenience init(_ options: Options, via login: SSHSession, address: String, keepaliveSeconds: Double) throws {
        let bridge = try SSHBridge(login: login, host: address, port: options.target.port ?? 22,
                                   keepaliveSeconds: keepaliveSeconds)
        do { try self.init(options, bridge: bridge) } catch { bridge.stop(); throw error }
    }

    private init(_ options: Options, bridge: SSHBridge?) throws {
        guard let session = ssh_new() else { bridge?.stop(); throw SSHError.libssh(call: "ssh_new", message: "out of memory") }
        pointer = session
        self.bridge = bridge
        let home = FileManager.default.homeDirectoryForCurrentUser.path
        knownHosts = options.knownHosts ?? "\(home)/.ssh/known_hosts"
        try set(SSH_OPTIONS_HOST, string: options.target.host)
        let config = options.sshConfig ?? "\(home)/.ssh/config"
        if FileManager.default.fileExists(atPath: config) {
            guard ssh_options_parse_config(pointer, config) == 0 else { throw error("reading \(config)") }
        } else {
            var no: Int32 = 0   // no config file: do not let ssh_connect look for one elsewhere
            _ = ssh_options_set(pointer, SSH_OPTIONS_PROCESS_CONFIG, &no)
        }
        if let user = options.target.user { try set(SSH_OPTIONS_USER, string: user) }
        if let port = options.target.port {
            var p = UInt32(port)
            guard ssh_options_set(pointer, SSH_OPTIONS_PORT, &p) == 0 else { throw error("setting the port") }
        }
        try set(SSH_OPTIONS_KNOWNHOSTS, string: knownHosts)
        var timeout = options.connectTimeout
        _ = ssh_options_set(pointer, SSH_OPTIONS_TIMEOUT, &timeout)
        host = option(SSH_OPTIONS_HOST) ?? options.target.host
        user = option(SSH_OPTIONS_USER) ?? NSUserName()
        var p: UInt32 = 22
        if ssh_options_get_port(pointer, &p) == 0 { port = Int(p) }
        if let bridge {   // libssh takes the socket over and closes it when the session ends
            var fd = bridge.innerFD
            guard ssh_options_set(pointer, SSH_OPTIONS_FD, &fd) == 0 else { throw error("using the second hop's socket") }
        }

        guard ssh_connect(pointer) == SSH_OK else {
            throw SSHError.connect(host: host, port: port, message: message)
        }
        try verifyHostKey(acceptNew: options.acceptNew)
        try authenticate(identity: options.identity)
    }

    deinit {
        if ssh_is_connected(pointer) != 0 { ssh_disconnect(pointer) }
        ssh_free(pointer)
        bridge?.stop()
    }

    public var isConnected: Bool { ssh_is_connected(pointer) != 0 }
    var fd: Int32 { Int32(ssh_get_fd(pointer)) }
    var message: String { String(cString: ssh_get_error(UnsafeMutableRawPointer(pointer))) }

    func error(_ call: String) -> SSHError { .libssh(call: call, message: message) }

    private func set(_ option: ssh_options_e, string: String) throws {
        guard ssh_options_set(pointer, option, string) == 0 else { throw error("setting option \(option.rawValue) to \(string)") }
    }

    private func option(_ option: ssh_options_e) -> String? {
        var value: UnsafeMutablePointer<CChar>?
        guard ssh_options_get(pointer, option, &value) == SSH_OK, let value else { return nil }
        defer { ssh_string_free_char(value) }
        return String(cString: value)
    }

    /// The server's key against known_hosts. Unknown: refused unless `acceptNew`, which records it.
    /// Changed, or a key of another type where one is recorded: always refused.
    func verifyHostKey(acceptNew: Bool) throws {
        let key = try SSHKey.serverKey(of: self)
        let fingerprint = key.fingerprint
        switch ssh_session_is_known_server(pointer) {
        case SSH_KNOWN_HOSTS_OK:
            return
        case SSH_KNOWN_HOSTS_CHANGED, SSH_KNOWN_HOSTS_OTHER:
            throw SSHError.changedHostKey(host: host, port: port, fingerprint: fingerprint, knownHosts: knownHosts)
        case SSH_KNOWN_HOSTS_UNKNOWN, SSH_KNOWN_HOSTS_NOT_FOUND:
            guard acceptNew else {
                throw SSHError.unknownHostKey(host: host, port: port, fingerprint: fingerprint, knownHosts: knownHosts)
            }
            let dir = (knownHosts as NSString).deletingLastPathComponent
            try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true,
                                                     attributes: [.posixPermissions: 0o700])
            guard ssh_session_update_known_hosts(pointer) == SSH_OK else { throw error("recording the host key in \(knownHosts)") }
            FileHandle.standardError.write(Data("lumen tunnel: recorded the host key of \(host):\(port) (\(fingerprint)) in \(knownHosts)\n".utf8))
        default:
            throw error("checking \(knownHosts)")
        }
    }

    func authenticate(identity: String?) throws {
        if let identity {
            let key = try SSHKey(privateKeyFile: identity)
            guard ssh_userauth_publickey(pointer, nil, key.pointer) == SSH_AUTH_SUCCESS.rawValue else {
                throw SSHError.authentication(user: user, host: host, tried: "the key \(identity): \(message)")
            }
            return
        }
        guard ssh_userauth_publickey_auto(pointer, nil, nil) == SSH_AUTH_SUCCESS.rawValue else {
            throw SSHError.authentication(user: user, host: host, tried: "ssh-agent and the default keys: \(message)")
        }
    }

    /// A keepalive the server ignores; false once the link is gone.
    func sendKeepalive() -> Bool {
        ssh_send_ignore(pointer, "lumen") == SSH_OK && isConnected
    }

    /// Runs `command` on the login node and returns its stdout; a non-zero status is an error.
    public func exec(_ command: String, timeoutMs: Int32 = 30_000) throws -> String {
        let channel = try SSHChannel(session: self)
        try channel.openSession()
        try channel.exec(command)
        let out = try channel.readToEnd(stderr: false, timeoutMs: timeoutMs)
        let err = try channel.readToEnd(stderr: true, timeoutMs: timeoutMs)
        let status = channel.exitStatus
        guard status == 0 else {
            throw SSHError.remoteCommand(command: command, status: Int(status), stderr: String(decoding: err, as: UTF8.self))
        }
        return String(decoding: out, as: UTF8.self)
    }
}

/// Owns one `ssh_key` (a loaded private key or a server's public key).
final class SSHKey {
    let pointer: ssh_key

    init(taking pointer: ssh_key) { self.pointer = pointer }

    convenience init(privateKeyFile path: String) throws {
        var key: ssh_key?
        guard ssh_pki_import_privkey_file(path, nil, nil, nil, &key) == SSH_OK, let key else {
            throw SSHError.libssh(call: "reading the private key \(path)",
                                  message: "not an OpenSSH/PEM private key, or it has a passphrase (load it into ssh-agent instead)")
        }
        self.init(taking: key)
    }

    static func serverKey(of session: SSHSession) throws -> SSHKey {
        var key: ssh_key?
        guard ssh_get_server_publickey(session.pointer, &key) == SSH_OK, let key else { throw session.error("ssh_get_server_publickey") }
        return SSHKey(taking: key)
    }

    deinit { ssh_key_free(pointer) }

    /// `SHA256:…`, as OpenSSH prints it.
    var fingerprint: String {
        var hash: UnsafeMutablePointer<UInt8>?
        var length = 0
        guard ssh_get_publickey_hash(pointer, SSH_PUBLICKEY_HASH_SHA256, &hash, &length) == 0, let bytes = hash else { return "(unknown)" }
        defer { ssh_clean_pubkey_hash(&hash) }
        guard let text = ssh_get_fingerprint_hash(SSH_PUBLICKEY_HASH_SHA256, bytes, length) else { return "(unknown)" }
        defer { ssh_string_free_char(text) }
        return String(cString: text)
    }
}
