import ArgumentParser
import Dispatch
import Foundation
import LumenCluster

/// `lumen cluster serve|list|stop`: Lumen server jobs (slurm/serve.sbatch) on the cluster this
/// machine submits to (run it on the login node; from a workstation use `lumen tunnel`).
struct ClusterCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cluster",
        abstract: "Submit, list and stop Lumen server jobs on Slurm (slurm/serve.sbatch).",
        subcommands: [Serve.self, List.self, Stop.self])

    struct SlurmOptions: ParsableArguments {
        @Option(help: "A file of `export NAME=value` lines for the Slurm commands (e.g. scripts/services' env.sh).")
        var slurmEnv: String?
        @Option(help: "The server job name.") var name = "lumen-serve"

        func client() throws -> SlurmClient {
            var env: [String: String] = [:]
            if let slurmEnv { env = try SlurmClient.environment(fromEnvFile: URL(fileURLWithPath: slurmEnv)) }
            return SlurmClient(environment: env, retry: RetryPolicy(attempts: 2))
        }
    }

    static var jobsDirectory: URL {
        let home = ProcessInfo.processInfo.environment["LUMEN_HOME"]
            ?? FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".lumen").path
        return URL(fileURLWithPath: home).appendingPathComponent("jobs")
    }

    static func connectionFile(_ id: String) -> [String: Any]? {
        guard let data = try? Data(contentsOf: jobsDirectory.appendingPathComponent("\(id).json")) else { return nil }
        return try? JSONSerialization.jsonObject(with: data) as? [String: Any]
    }

    /// Runs an async Slurm call from this synchronous command on a plain task and waits for it.
    static func blocking<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) throws -> T {
        let box = Box<T>()
        let done = DispatchSemaphore(value: 0)
        Task { box.result = await Result { try await body() }; done.signal() }
        done.wait()
        return try withCLIError { try box.result!.get() }
    }

    struct Serve: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Submit slurm/serve.sbatch; with --wait, wait until its connection file appears.")
        @OptionGroup var slurm: SlurmOptions
        @Option(help: "The batch script.") var script = "slurm/serve.sbatch"
        @Option(help: "Wall-clock limit (sbatch --time).") var time = "08:00:00"
        @Option(help: "Seconds before the limit at which the server drains (--signal=B:USR1@N).") var drainSeconds = 300
        @Option var partition: String?
        @Option var account: String?
        @Option(help: "GPUs (--gres=gpu:N); 0 for a CPU node.") var gpus = 0
        @Option var cpus = 4
        @Option var mem: String?
        @Option(help: "The job's log file (sbatch --output; default lumen-serve-<jobid>.out in this directory).") var output: String?
        @Option(help: "Seconds to wait for the server to be ready (0: do not wait).") var wait = 0
        @Argument(parsing: .postTerminator, help: "Arguments for `lumen serve` (after --).") var serveArguments: [String] = []

        func run() throws {
            let bin = URL(fileURLWithPath: CommandLine.arguments[0]).standardizedFileURL.path
            setenv("LUMEN_BIN", FileManager.default.isExecutableFile(atPath: bin) ? bin : "lumen", 0)   // before the client copies the environment
            let client = try slurm.client()
            var args = ["--job-name=\(slurm.name)", "--time=\(time)", "--signal=B:USR1@\(drainSeconds)",
                        "--cpus-per-task=\(cpus)", "--export=ALL"]
            if let partition { args.append("--partition=\(partition)") }
            if let account { args.append("--account=\(account)") }
            if let mem { args.append("--mem=\(mem)") }
            if let output { args.append("--output=\(output)") }
            if gpus > 0 { args.append("--gres=gpu:\(gpus)") }
            let scriptURL = URL(fileURLWithPath: script).standardizedFileURL
            let arguments = args + [scriptURL.path] + serveArguments
            // sbatch takes the script and then its arguments: submit(script:) puts the script last, so call run().
            let out = try ClusterCommand.blocking { try await client.run("sbatch", ["--parsable"] + arguments) }
            let id = String(out.split(whereSeparator: \.isNewline).last?.split(separator: ";").first ?? "")
            print("submitted Lumen server job \(id)")
            guard wait > 0 else { return }
            let deadline = Date().addingTimeInterval(TimeInterval(wait))
            while Date() < deadline {
                if let info = ClusterCommand.connectionFile(id) {
                    print("job \(id) ready on \(info["node"] ?? "?") port \(info["port"] ?? "?"); from your workstation: lumen tunnel --login <you>@<this login node> --job \(id)")
                    return
                }
                Thread.sleep(forTimeInterval: 0.5)
            }
            FileHandle.standardError.write(Data("lumen: job \(id) has no connection file after \(wait) s (pending? see squeue -j \(id))\n".utf8))
            throw ExitCode(1)
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Your server jobs: state, node, port, since (never the token).")
        @OptionGroup var slurm: SlurmOptions
        func run() throws {
            let client = try slurm.client()
            let user = NSUserName(), name = slurm.name
            let out = try ClusterCommand.blocking {
                try await client.run("squeue", ["-h", "-u", user, "-n", name, "-o", "%i %T %N %M %l"])
            }
            print("JOB        STATE      NODE   PORT   LUMEN    STARTED               TIME/LIMIT")
            for line in out.split(whereSeparator: \.isNewline) {
                let f = line.split(separator: " ").map(String.init)
                guard f.count >= 5 else { continue }
                let info = ClusterCommand.connectionFile(f[0])
                let port = info?["port"].map { "\($0)" } ?? "-"
                print([f[0].padding(toLength: 10, withPad: " ", startingAt: 0), f[1].padding(toLength: 10, withPad: " ", startingAt: 0),
                       (f[2].isEmpty ? "-" : f[2]).padding(toLength: 6, withPad: " ", startingAt: 0), port.padding(toLength: 6, withPad: " ", startingAt: 0),
                       "\(info?["version"] ?? "-")".padding(toLength: 8, withPad: " ", startingAt: 0),
                       "\(info?["started"] ?? "-")".padding(toLength: 21, withPad: " ", startingAt: 0), "\(f[3])/\(f[4])"].joined(separator: " "))
            }
        }
    }

    struct Stop: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Stop a server job: drain first (finish queued work) unless --now.")
        @OptionGroup var slurm: SlurmOptions
        @Argument var job: String
        @Flag(help: "scancel at once instead of draining.") var now = false
        func run() throws {
            let client = try slurm.client()
            if now {
                try ClusterCommand.blocking { try await client.cancel(jobID: job) }
                print("cancelled job \(job)")
            } else {
                try ClusterCommand.blocking { try await client.requestCheckpoint(jobID: job) }   // scancel --signal=USR1 --batch
                print("job \(job) is draining: running inferences finish, then it ends")
            }
        }
    }
}

private final class Box<T>: @unchecked Sendable { var result: Result<T, any Error>? }

extension Result where Failure == any Error {
    init(catching body: () async throws -> Success) async {
        do { self = .success(try await body()) } catch { self = .failure(error) }
    }
}
