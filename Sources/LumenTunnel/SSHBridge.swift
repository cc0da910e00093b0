import CLibSSH
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The carrier of a second hop: a direct-tcpip channel from the login node to the compute node's
/// sshd, spliced onto one end of a socket pair whose other end an inner `SSHSession` uses as its
/// socket. libssh 0.10 has no native ProxyJump (cluster.md §6), and a channel is not a file
/// descriptor, so something has to copy bytes between the two.
///
/// The bridge owns the outer (login-node) session from the moment it is built, and runs it on a
/// thread of its own: libssh sessions are not thread-safe, and the inner session's blocking
/// handshake needs this pump running meanwhile. When the outer link fails the bridge closes its
/// end, so the inner session sees the drop and the tunnel reconnects both.
final class SSHBridge: @unchecked Sendable {
    /// The end the inner session reads and writes.
    let innerFD: Int32
    private let outerFD: Int32
    private let login: SSHSession
    private let channel: SSHChannel
    private let keepaliveSeconds: Double
    private let stopFlag = Atomic()

    /// Opens the channel to `host:port` through `login` (on the calling thread, which must be the
    /// one that owns `login` so far) and starts the pump thread, which owns it from then on.
    init(login: SSHSession, host: String, port: Int, keepaliveSeconds: Double) throws {
        let channel = try SSHChannel(session: login)
        try channel.openForward(host: host, port: port)
        var pair: [Int32] = [-1, -1]
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &pair) == 0 else {
            throw SSHError.libssh(call: "socketpair", message: String(cString: strerror(errno)))
        }
        self.login = login
        self.channel = channel
        self.innerFD = pair[0]
        self.outerFD = pair[1]
        self.keepaliveSeconds = keepaliveSeconds
        let thread = Thread { [self] in pump() }
        thread.name = "lumen.tunnel.hop"
        thread.stackSize = 1 << 20
        thread.start()
    }

    /// Asks the pump to end; it closes the channel and the login session on its own thread.
    func stop() { stopFlag.set() }

    private func pump() {
        var buffer = [UInt8](repeating: 0, count: 65_536)
        var lastKeepalive = Date()
        defer { close(outerFD) }
        guard let event = try? SSHEvent(session: login) else { return }
        while !stopFlag.isSet {
            var fds = [pollfd(fd: outerFD, events: Int16(POLLIN), revents: 0),
                       pollfd(fd: login.fd, events: Int16(POLLIN), revents: 0)]
            _ = Glibc.poll(&fds, 2, 200)
            if fds[1].revents != 0, !event.poll() { return }
            if Date().timeIntervalSince(lastKeepalive) >= keepaliveSeconds {
                lastKeepalive = Date()
                if !login.sendKeepalive() { return }
            }
            // Inner session → node.
            if fds[0].revents & Int16(POLLIN | POLLHUP | POLLERR) != 0 {
                let n = read(outerFD, &buffer, buffer.count)
                if n <= 0 { if n == 0 || (errno != EAGAIN && errno != EINTR) { return } }
                else if !buffer.withUnsafeBytes({ channel.write(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }) { return }
            }
            // Node → inner session, until nothing is waiting.
            while true {
                let n = channel.readAvailable(into: &buffer)
                if n < 0 { return }
                if n == 0 {
                    if channel.isEOF || channel.isClosed || !login.isConnected { return }
                    break
                }
                guard writeAll(buffer, count: n) else { return }
            }
        }
    }

    private func writeAll(_ bytes: [UInt8], count: Int) -> Bool {
        var offset = 0
        while offset < count {
            let n = bytes.withUnsafeBytes { Glibc.write(outerFD, $0.baseAddress! + offset, count - offset) }
            if n > 0 { offset += n; continue }
            if n < 0 && errno == EINTR { continue }
            return false
        }
        return true
    }
}
