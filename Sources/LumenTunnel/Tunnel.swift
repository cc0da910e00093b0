import CLibSSH
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A local forward: listens on 127.0.0.1:localPort and carries each accepted connection over a
/// direct-tcpip channel to the server job's host and port: of the login-node session, or, with a
/// second hop, of a session to the compute node carried through the login node (`Route`).
///
/// Everything libssh does happens on one thread Lumen owns (`run()` is called on it; the CLI
/// starts a dedicated `Thread`): accept, channel opens, byte pumping, keepalives and reconnects.
/// When the link drops, the open connections are lost but the local port stays open, and the
/// session is rebuilt (host key checked again) with backoff: at once, then 0.5, 1, 2, 4, 8 s.
public final class Tunnel: @unchecked Sendable {
    public let route: Route
    public let localPort: Int
    public var keepaliveSeconds: Double
    public var log: @Sendable (String) -> Void
    private var session: SSHSession?
    private var event: SSHEvent?
    private var listener: Int32 = -1
    private var links: [Link] = []
    private let stopFlag = Atomic()

    public init(route: Route, session: SSHSession, localPort: Int,
                keepaliveSeconds: Double = 15, log: @escaping @Sendable (String) -> Void) {
        self.route = route
        self.session = session
        self.localPort = localPort
        self.keepaliveSeconds = keepaliveSeconds
        self.log = log
    }

    deinit { if listener >= 0 { close(listener) } }

    /// Binds 127.0.0.1:localPort (0: any free port) and returns the port.
    public func listen() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw SSHError.listen(port: localPort, message: String(cString: strerror(errno))) }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(localPort).bigEndian)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, Glibc.listen(fd, 64) == 0 else {
            let message = String(cString: strerror(errno))
            close(fd)
            throw SSHError.listen(port: localPort, message: message)
        }
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        listener = fd
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { _ = getsockname(fd, $0, &len) }
        }
        return Int(UInt16(bigEndian: addr.sin_port))
    }

    public func stop() { stopFlag.set() }

    /// The pump; returns after `stop()`. Call on a dedicated thread.
    public func run() {
        var buffer = [UInt8](repeating: 0, count: 65_536)
        var lastKeepalive = Date()
        var failures = 0
        var nextAttempt = Date.distantPast
        if let session { event = try? SSHEvent(session: session) }
        while !stopFlag.isSet {
            // Link down: rebuild it on the backoff schedule; the listener stays open meanwhile.
            if session == nil, Date() >= nextAttempt {
                do {
                    let s = try route.connect(keepaliveSeconds: keepaliveSeconds)
                    event = try SSHEvent(session: s)
                    session = s
                    log("reconnected to \(s.host):\(s.port)")
                    failures = 0
                    lastKeepalive = Date()
                } catch let error as SSHError {
                    if case .changedHostKey = error { log("\(error)"); stop(); break }
                    failures += 1
                    let delay = min(8.0, 0.5 * pow(2.0, Double(failures - 1)))
                    log("reconnect failed (\(error)); next try in \(delay) s")
                    nextAttempt = Date().addingTimeInterval(delay)
                } catch { failures += 1; nextAttempt = Date().addingTimeInterval(1) }
            }
            var fds = [pollfd(fd: listener, events: Int16(POLLIN), revents: 0)]
            if let session { fds.append(pollfd(fd: session.fd, events: Int16(POLLIN), revents: 0)) }
            let linkBase = fds.count
            for link in links {
                var events = Int16(0)
                if !link.localEOF && link.pending.isEmpty { events |= Int16(POLLIN) }
                if !link.pending.isEmpty { events |= Int16(POLLOUT) }
                fds.append(pollfd(fd: link.fd, events: events, revents: 0))
            }
            let busy = links.contains { $0.moreAvailable }
            let timeout: Int32 = busy ? 0 : (session == nil ? 100 : 200)
            _ = Glibc.poll(&fds, nfds_t(fds.count), timeout)

            if let session, let event {
                if fds[1].revents & Int16(POLLIN | POLLHUP | POLLERR) != 0, !event.poll() {
                    linkDown("the connection to \(session.host) closed")
                    continue
                }
                if Date().timeIntervalSince(lastKeepalive) >= keepaliveSeconds {
                    lastKeepalive = Date()
                    if !session.sendKeepalive() { linkDown("keepalive failed"); continue }
                }
            }
            // Local → remote.
            for (i, link) in links.enumerated() where fds[linkBase + i].revents != 0 {
                let revents = fds[linkBase + i].revents
                if revents & Int16(POLLOUT) != 0 { link.flushPending() }
                if revents & Int16(POLLIN | POLLHUP | POLLERR) != 0 && !link.localEOF {
                    let n = read(link.fd, &buffer, buffer.count)
                    if n > 0 {
                        let ok = buffer.withUnsafeBytes { link.channel.write(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
                        if !ok { link.failed = true }
                    } else if n == 0 || (errno != EAGAIN && errno != EINTR) {
                        link.localEOF = true
                        link.channel.sendEOF()
                    }
                }
            }
            // Remote → local.
            for link in links where !link.failed && link.pending.isEmpty {
                link.moreAvailable = false
                let n = link.channel.readAvailable(into: &buffer)
                if n > 0 {
                    link.pending = Array(buffer[0..<n])
                    link.flushPending()
                    link.moreAvailable = n == buffer.count
                } else if n < 0 {
                    link.remoteEOF = true
                } else if link.channel.isEOF || link.channel.isClosed {
                    link.remoteEOF = true
                }
                if link.remoteEOF && link.pending.isEmpty { shutdown(link.fd, Int32(SHUT_WR)) }
            }
            if let session, !session.isConnected { linkDown("the session ended"); continue }
            links.removeAll { link in
                let done = link.failed || (link.remoteEOF && link.pending.isEmpty && (link.localEOF || link.channel.isClosed))
                if done { link.close() }
                return done
            }
            // New connections.
            if fds[0].revents & Int16(POLLIN) != 0 { acceptAll() }
        }
        for link in links { link.close() }
        links = []
        event = nil
        session = nil
    }

    private func acceptAll() {
        while true {
            let fd = accept(listener, nil, nil)
            guard fd >= 0 else { return }
            guard let session else {
                log("a connection arrived while the link is down; closed it (reconnecting)")
                close(fd)
                continue
            }
            do {
                let channel = try SSHChannel(session: session)
                try channel.openForward(host: route.target.host, port: route.target.port)
                var one: Int32 = 1
                setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
                _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
                links.append(Link(fd: fd, channel: channel))
            } catch {
                log("\(error)")
                close(fd)
                if !session.isConnected { linkDown("the session ended") }
            }
        }
    }

    private func linkDown(_ why: String) {
        log("link down: \(why); \(links.count) open connection(s) lost; reconnecting")
        for link in links { link.close() }
        links = []
        event = nil
        session = nil
    }
}

/// One forwarded connection: the accepted socket and its channel.
final class Link {
    let fd: Int32
    let channel: SSHChannel
    var pending: [UInt8] = []
    var localEOF = false, remoteEOF = false, failed = false, moreAvailable = false
    private var closed = false

    init(fd: Int32, channel: SSHChannel) {
        self.fd = fd
        self.channel = channel
    }

    func flushPending() {
        while !pending.isEmpty {
            let n = pending.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if n > 0 { pending.removeFirst(n); continue }
            if n < 0 && (errno == EAGAIN || errno == EINTR) { return }
            failed = true
            pending = []
            return
        }
    }

    func close() {
        guard !closed else { return }
        closed = true
        Glibc.close(fd)
    }
}

/// A flag set from another thread (a signal handler's queue).
final class Atomic: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    func set() { lock.lock(); value = true; lock.unlock() }
    var isSet: Bool { lock.lock(); defer { lock.unlock() }; return value }
}
