import CLibSSH
import Foundation

/// Owns one `ssh_channel`; closed and freed in `deinit`. Holds its session, because freeing a
/// session frees its channels.
final class SSHChannel {
    let pointer: ssh_channel
    let session: SSHSession

    init(session: SSHSession) throws {
        guard let channel = ssh_channel_new(session.pointer) else { throw session.error("ssh_channel_new") }
        pointer = channel
        self.session = session
    }

    deinit {
        if ssh_channel_is_open(pointer) != 0 && session.isConnected { ssh_channel_close(pointer) }
        ssh_channel_free(pointer)
    }

    func openSession() throws {
        guard ssh_channel_open_session(pointer) == SSH_OK else { throw session.error("opening a session channel") }
    }

    func exec(_ command: String) throws {
        guard ssh_channel_request_exec(pointer, command) == SSH_OK else { throw session.error("running a command") }
    }

    /// direct-tcpip: the login node connects to host:port for us.
    func openForward(host: String, port: Int) throws {
        guard ssh_channel_open_forward(pointer, host, Int32(port), "127.0.0.1", 0) == SSH_OK else {
            throw SSHError.forward(host: host, port: port, message: session.message)
        }
    }

    func readToEnd(stderr: Bool, timeoutMs: Int32) throws -> [UInt8] {
        var result: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 16_384)
        while true {
            let n = ssh_channel_read_timeout(pointer, &buffer, UInt32(buffer.count), stderr ? 1 : 0, timeoutMs)
            if n == SSH_ERROR { throw session.error("reading a command's output") }
            if n > 0 { result += buffer[0..<Int(n)]; continue }
            if ssh_channel_is_eof(pointer) != 0 || n == 0 { return result }
            return result
        }
    }

    var exitStatus: Int32 {
        ssh_channel_send_eof(pointer)
        return ssh_channel_get_exit_status(pointer)
    }

    var isEOF: Bool { ssh_channel_is_eof(pointer) != 0 }
    var isClosed: Bool { ssh_channel_is_closed(pointer) != 0 }

    /// What has arrived, without waiting: > 0 bytes, 0 nothing, < 0 error.
    func readAvailable(into buffer: inout [UInt8]) -> Int {
        Int(ssh_channel_read_nonblocking(pointer, &buffer, UInt32(buffer.count), 0))
    }

    /// Writes everything (blocks while the peer's window is full). False on error.
    func write(_ bytes: UnsafeRawBufferPointer) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let n = ssh_channel_write(pointer, bytes.baseAddress! + offset, UInt32(bytes.count - offset))
            if n <= 0 { return false }
            offset += Int(n)
        }
        return true
    }

    func sendEOF() { ssh_channel_send_eof(pointer) }
}

/// Owns an `ssh_event` holding one session: lets the pump process packets (keepalive requests,
/// window adjusts, EOF) while no channel read is pending.
final class SSHEvent {
    let pointer: ssh_event
    let session: SSHSession

    init(session: SSHSession) throws {
        guard let event = ssh_event_new() else { throw SSHError.libssh(call: "ssh_event_new", message: "out of memory") }
        pointer = event
        self.session = session
        guard ssh_event_add_session(event, session.pointer) == SSH_OK else {
            ssh_event_free(event)
            throw session.error("ssh_event_add_session")
        }
    }

    deinit {
        ssh_event_remove_session(pointer, session.pointer)
        ssh_event_free(pointer)
    }

    /// Handles what has arrived; false when the session failed.
    func poll() -> Bool { ssh_event_dopoll(pointer, 0) != SSH_ERROR && session.isConnected }
}
