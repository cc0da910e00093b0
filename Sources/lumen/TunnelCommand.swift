import ArgumentParser
import Dispatch
import Foundation
import LumenTunnel

/// `lumen tunnel`: from a workstation, through the login node, to a Lumen server job.
/// All libssh work runs on one thread started here (never the cooperative pool).
struct TunnelCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tunnel",
        abstract: "Forward a local port through the login node to a running Lumen server job, and print the URL for Slicer.",
        discussion: """
        Finds your running server job (squeue; or --job), reads its connection file ~/.lumen/jobs/<id>.json
        over SSH, listens on 127.0.0.1:<local-port> and carries each connection through the login node
        (direct-tcpip) to the job's node and port. Keepalives detect a dead link; it then reconnects with
        backoff while the local port stays open. The login node's host key must be in known_hosts
        (first contact: --accept-new records it); a changed key is always refused.
        """)

    @Option(help: "The login node: user@host[:port], or an alias of ~/.ssh/config.") var login: String
    @Option(help: "The Slurm job id of the server job (default: your newest running job named --name).") var job: String?
    @Option(help: "The server jobs' Slurm job name.") var name = "lumen-serve"
    @Option(help: "Local port to listen on (127.0.0.1 only; 0 picks a free one).") var localPort = 8000
    @Flag(help: "First contact: record an unknown host key in known_hosts (a changed key is still refused).") var acceptNew = false
    @Option(help: "Private key file (default: ssh-agent, then IdentityFile of the ssh config, then ~/.ssh/id_*).") var identity: String?
    @Option(help: "known_hosts file (default ~/.ssh/known_hosts).") var knownHosts: String?
    @Option(help: "ssh config file (default ~/.ssh/config): Host aliases, HostName, Port, User, IdentityFile.") var sshConfig: String?
    @Option(help: "KEY=VALUE exported before the commands run on the login node (e.g. SLURM_CONF=…, LUMEN_HOME=…); repeatable.")
    var remoteEnv: [String] = []
    @Option(help: "Seconds between keepalives.") var keepalive: Double = 15
    @Flag(help: "Also print the equivalent OpenSSH command.") var printSsh = false

    func run() throws {
        signal(SIGPIPE, SIG_IGN)
        let target = try withCLIError { try SSHTarget(parsing: login) }
        let env: [(String, String)] = try remoteEnv.map {
            guard let eq = $0.firstIndex(of: "="), eq != $0.startIndex else { throw ValidationError("--remote-env wants KEY=VALUE, got \($0)") }
            return (String($0[..<eq]), String($0[$0.index(after: eq)...]))
        }
        let options = SSHSession.Options(target: target, identity: identity, knownHosts: knownHosts, sshConfig: sshConfig,
                                         acceptNew: acceptNew)
        let result = ResultBox()
        let command = self
        // The tunnel's own thread: connect, find the job, listen, pump.
        let thread = Thread {
            do {
                let session = try SSHSession(options)
                let info = try ServerJobs.find(session: session, jobID: command.job, name: command.name, env: env)
                let tunnel = Tunnel(options: options, session: session, target: (info.forwardHost, info.port),
                                    localPort: command.localPort, keepaliveSeconds: command.keepalive,
                                    log: { FileHandle.standardError.write(Data("lumen tunnel: \($0)\n".utf8)) })
                let port = try tunnel.listen()
                say("lumen tunnel: job \(info.jobID) on \(info.node) (\(info.forwardHost):\(info.port)), Lumen \(info.version), via \(session.user)@\(session.host):\(session.port)")
                if command.printSsh {
                    let p = session.port == 22 ? "" : " -p \(session.port)"
                    say("lumen tunnel: the same with OpenSSH: ssh -N -o ExitOnForwardFailure=yes -o ServerAliveInterval=30\(p) -L \(port):\(info.forwardHost):\(info.port) \(session.user)@\(session.host)")
                }
                // The one place the token is shown: the URL the user pastes into Slicer.
                say("lumen tunnel: in Slicer (MONAI Label or NVIDIA AIAA module), use the server  http://127.0.0.1:\(port)/\(info.token)")
                say("lumen tunnel: forwarding; Ctrl-C to stop")
                let stop = DispatchSource.makeSignalSource(signal: SIGINT, queue: .global())
                signal(SIGINT, SIG_IGN)
                stop.setEventHandler { tunnel.stop() }
                stop.resume()
                let term = DispatchSource.makeSignalSource(signal: SIGTERM, queue: .global())
                signal(SIGTERM, SIG_IGN)
                term.setEventHandler { tunnel.stop() }
                term.resume()
                tunnel.run()
                stop.cancel(); term.cancel()
            } catch {
                result.error = error
            }
            result.done.signal()
        }
        thread.name = "lumen.tunnel"
        thread.stackSize = 1 << 20
        thread.start()
        result.done.wait()
        if let error = result.error {
            FileHandle.standardError.write(Data("lumen tunnel: \(error)\n".utf8))
            throw ExitCode(1)
        }
    }
}

/// Straight to stdout, unbuffered: the URL must show at once even when stdout is a file or pipe.
private func say(_ line: String) { FileHandle.standardOutput.write(Data((line + "\n").utf8)) }

private final class ResultBox: @unchecked Sendable {
    let done = DispatchSemaphore(value: 0)
    var error: (any Error)?
}
