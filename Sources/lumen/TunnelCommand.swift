import ArgumentParser
import Dispatch
import Foundation
import LumenTunnel

extension Route.Mode: ExpressibleByArgument {}

/// `lumen tunnel`: from a workstation, through the login node, to a Lumen server job.
/// All libssh work runs on one thread started here (never the cooperative pool).
struct TunnelCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tunnel",
        abstract: "Forward a local port through the login node to a running Lumen server job, and print the URL for Slicer.",
        discussion: """
        Finds your running server job (squeue; or --job), reads its connection file ~/.lumen/jobs/<id>.json
        over SSH, listens on 127.0.0.1:<local-port> and carries each connection through the login node
        (direct-tcpip) to the job's node and port; where the login node cannot reach that port (the server
        binds the node's loopback, or the site forwards only to port 22), through a second hop: an SSH
        session to the node's own sshd, carried through the login node. Keepalives detect a dead link; it then reconnects with
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
    @Option(help: "Second hop through the compute node's sshd: auto (when the login node cannot reach the server's port), always, never.")
    var hop: Route.Mode = .auto
    @Option(help: "The compute nodes' sshd port, for the second hop.") var nodeSshPort = 22

    func run() throws {
        signal(SIGPIPE, SIG_IGN)
        let target = try withCLIError { try SSHTarget(parsing: login) }
        let env: [(String, String)] = try remoteEnv.map {
            guard let eq = $0.firstIndex(of: "="), eq != $0.startIndex else { throw ValidationError("--remote-env wants KEY=VALUE, got \($0)") }
            return (String($0[..<eq]), String($0[$0.index(after: eq)...]))
        }
        guard (1...65_535).contains(nodeSshPort) else { throw ValidationError("--node-ssh-port must be from 1 to 65535") }
        let options = SSHSession.Options(target: target, identity: identity, knownHosts: knownHosts, sshConfig: sshConfig,
                                         acceptNew: acceptNew)
        let result = ResultBox()
        let command = self
        // The tunnel's own thread: connect, find the job, listen, pump.
        let thread = Thread {
            do {
                let session = try SSHSession(options)
                let info = try ServerJobs.find(session: session, jobID: command.job, name: command.name, env: env)
                let log: @Sendable (String) -> Void = { FileHandle.standardError.write(Data("lumen tunnel: \($0)\n".utf8)) }
                let route = try Route.choose(for: info, mode: command.hop, login: options, session: session,
                                             nodeSSHPort: command.nodeSshPort, log: log)
                let login = (user: session.user, host: session.host, port: session.port)
                // With a second hop the login session now belongs to the hop's own thread.
                let last = try route.hop(from: session, keepaliveSeconds: command.keepalive)
                let tunnel = Tunnel(route: route, session: last, localPort: command.localPort,
                                    keepaliveSeconds: command.keepalive, log: log)
                let port = try tunnel.listen()
                let via = route.node.map { " and \($0.options.target.host)'s sshd (\($0.address):\(command.nodeSshPort))" } ?? ""
                say("lumen tunnel: job \(info.jobID) on \(info.node) (\(route.target.host):\(route.target.port)), Lumen \(info.version), via \(login.user)@\(login.host):\(login.port)\(via)")
                if command.printSsh {
                    let forward = "-L \(port):\(route.target.host):\(route.target.port)"
                    let openssh = "ssh -N -o ExitOnForwardFailure=yes -o ServerAliveInterval=30"
                    if let node = route.node {
                        let p = command.nodeSshPort == 22 ? "" : " -p \(command.nodeSshPort)"
                        say("lumen tunnel: the same with OpenSSH: \(openssh) -J \(login.user)@\(login.host):\(login.port) -o HostKeyAlias=\(node.options.target.host)\(p) \(forward) \(login.user)@\(node.address)")
                    } else {
                        let p = login.port == 22 ? "" : " -p \(login.port)"
                        say("lumen tunnel: the same with OpenSSH: \(openssh)\(p) \(forward) \(login.user)@\(login.host)")
                    }
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
