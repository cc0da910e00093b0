import Foundation

/// What slurm/serve.sbatch writes to `~/.lumen/jobs/<job id>.json` (mode 0600) while the server runs.
public struct ConnectionInfo: Codable, Sendable, Equatable {
    public var jobID: String
    /// The Slurm node name (SLURMD_NODENAME) and its address (NodeAddr, or the host name).
    public var node: String
    public var nodeAddr: String
    /// Where Lumen listens on the node: 127.0.0.1 unless the job was told otherwise.
    public var bind: String
    public var port: Int
    public var token: String
    public var version: String
    public var started: String

    enum CodingKeys: String, CodingKey {
        case jobID = "job_id", node, nodeAddr = "node_addr", bind, port, token, version, started
    }

    /// The file is read from the login node: its port becomes a C `int` for libssh and its names
    /// become SSH host names, so both are checked here, before use.
    public static func decode(_ text: String, source: String) throws -> ConnectionInfo {
        let info: ConnectionInfo
        do { info = try JSONDecoder().decode(ConnectionInfo.self, from: Data(text.utf8)) } catch {
            throw SSHError.badConnectionFile("\(source) is not a Lumen connection file: \(error)")
        }
        guard (1...65_535).contains(info.port) else {
            throw SSHError.badConnectionFile("\(source) names port \(info.port), not one from 1 to 65535")
        }
        for (key, value) in [("node", info.node), ("node_addr", info.nodeAddr), ("bind", info.bind)]
            where value.isEmpty || value.count > 255 || value.contains(where: { $0.isWhitespace || $0.isNewline }) {
            throw SSHError.badConnectionFile("\(source): \(key) is not a host name or address")
        }
        return info
    }

    /// Where the login node should connect: the bind address when it is a real one, else the node's address.
    public var forwardHost: String {
        ["127.0.0.1", "localhost", "::1", "0.0.0.0", "::"].contains(bind) ? nodeAddr : bind
    }
}

/// Finds a running server job over exec channels on the login node.
public enum ServerJobs {
    /// `export K='V'; ` for each entry (SLURM_CONF, LUMEN_HOME, PATH on odd sites).
    public static func prefix(_ env: [(String, String)]) -> String {
        env.map { "export \($0.0)=\(quote($0.1)); " }.joined()
    }

    public static func quote(_ s: String) -> String { "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'" }

    public static func connectionFileCommand(jobID: String, env: [(String, String)]) -> String {
        prefix(env) + "cat \"${LUMEN_HOME:-$HOME/.lumen}/jobs/\(jobID).json\""
    }

    public static func squeueCommand(env: [(String, String)]) -> String {
        prefix(env) + "squeue -h -u \"$(id -un)\" -t RUNNING -o '%i %j'"
    }

    /// The job to tunnel to: `jobID` if given; else the newest running job named `name`.
    public static func find(session: SSHSession, jobID: String?, name: String, env: [(String, String)]) throws -> ConnectionInfo {
        var id = jobID
        if id == nil {
            let out = try session.exec(squeueCommand(env: env))
            let ids = out.split(whereSeparator: \.isNewline).compactMap { line -> Int? in
                let parts = line.split(separator: " ", maxSplits: 1)
                guard parts.count == 2, parts[1] == name else { return nil }
                return Int(parts[0])
            }
            guard let newest = ids.max() else {
                throw SSHError.noServerJob("no running job named \(name) of yours on the login node (squeue); start one with `lumen cluster serve`, or give --job")
            }
            id = String(newest)
        }
        let text: String
        do { text = try session.exec(connectionFileCommand(jobID: id!, env: env)) } catch SSHError.remoteCommand {
            throw SSHError.noServerJob("job \(id!) has no connection file (~/.lumen/jobs/\(id!).json): is it a Lumen server job, and is it running yet?")
        }
        return try ConnectionInfo.decode(text, source: "~/.lumen/jobs/\(id!).json")
    }
}
