import ArgumentParser
import Foundation

/// `lumen finetune …`: fine-tuning jobs on a running lumen serve, as an admin
/// (the same jobs Slicer's Train button starts).
struct FinetuneCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "finetune",
        abstract: "Submit, follow, list, cancel and read the logs of fine-tuning jobs on a running lumen serve.",
        subcommands: [Submit.self, Status.self, List.self, Cancel.self, Logs.self])

    /// One line a person can read at a glance: state, epoch bar, loss, Dice, ETA.
    static func progressLine(_ job: [String: Any]) -> String {
        let stats = job["train_stats"] as? [String: Any] ?? [:]
        // In floating point and clamped: the bar must not trap on whatever numbers a reply carries.
        func count(_ key: String) -> Int {
            let d = (stats[key] as? NSNumber)?.doubleValue ?? 0
            return d.isFinite ? Int(min(max(d, 0), 1e9)) : 0
        }
        let epoch = count("epoch"), total = count("total_epochs")
        let width = 20, filled = total > 0 ? Int(min(Double(width), (Double(width) * Double(epoch) / Double(total)).rounded(.down))) : 0
        var parts = ["\(job["id"] ?? "?")", "\(job["status"] ?? "?")/\(job["slurm_state"] ?? "?")",
                     "[" + String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled) + "] epoch \(epoch)/\(total)"]
        if let loss = ((stats["train"] as? [String: Any])?["loss"] as? NSNumber) ?? (stats["loss"] as? NSNumber) {
            parts.append(String(format: "loss %.4f", loss.doubleValue))
        }
        if let dice = stats["best_metric"] as? NSNumber { parts.append(String(format: "best Dice %.4f", dice.doubleValue)) }
        if stats["eta_seconds"] != nil { let eta = count("eta_seconds"); parts.append("ETA \(eta / 60) min \(eta % 60) s") }
        if let gate = (job["result"] as? [String: Any])?["gate"] as? [String: Any], let message = gate["message"] as? String {
            parts.append("— \(message)")
        }
        return parts.joined(separator: "  ")
    }

    struct Submit: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Fine-tune a model's serving version on the datastore's final labels.")
        @OptionGroup var server: ServerOptions
        @Argument var model: String
        @Option(help: "Epochs (1–10000).") var maxEpochs = 50
        @Option(help: "Learning rate.") var learningRate = 1e-4
        @Option(help: "Training crop, one size or X,Y,Z.") var patch: String?
        @Flag(help: "Queue behind a running job instead of refusing.") var enqueue = false
        func run() throws {
            var body: [String: Any] = ["max_epochs": maxEpochs, "learning_rate": learningRate, "enqueue": enqueue]
            if let patch { body["patch"] = patch.split(separator: ",").compactMap { Int($0) } }
            let data = try JSONSerialization.data(withJSONObject: body)
            let reply = try withCLIError {
                try server.client.call("POST", "/train/" + (model.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? model),
                                       body: data, contentType: "application/json")
            }
            print("submitted \(reply["id"] ?? "?") (Slurm job \(reply["slurm_job_id"] ?? "?")); follow it with: lumen finetune status --follow")
        }
    }

    struct Status: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The newest job's progress; --follow redraws it until the job ends.")
        @OptionGroup var server: ServerOptions
        @Flag var follow = false
        @Option(help: "Seconds between redraws with --follow.") var every = 5
        func run() throws {
            while true {
                let job = try withCLIError { try server.client.call("GET", "/train/") }
                print(FinetuneCommand.progressLine(job))
                let done = ["DONE", "ERROR", "STOPPED"].contains(job["status"] as? String ?? "")
                if done {
                    if let curve = (try? server.client.call("GET", "/admin/jobs/\(job["id"] ?? "")"))?["training_curve"] as? String {
                        print("training curve: \(curve) (also GET /admin/jobs/\(job["id"] ?? "")/curves)")
                    }
                }
                if !follow || done { return }
                Thread.sleep(forTimeInterval: Double(max(every, 1)))
            }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Every job, newest first.")
        @OptionGroup var server: ServerOptions
        func run() throws {
            let reply = try withCLIError { try server.client.call("GET", "/admin/jobs") }
            for job in reply["jobs"] as? [[String: Any]] ?? [] {
                print("\(job["id"] ?? "?")\t\(job["model"] ?? "?")@\(job["base_version"] ?? "?")\t\(job["slurm_state"] ?? "?")\t\(job["start_ts"] ?? "")")
            }
        }
    }

    struct Cancel: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Cancel a job (scancel); it is recorded and never promoted.")
        @OptionGroup var server: ServerOptions
        @Argument var id: String
        func run() throws {
            let reply = try withCLIError { try server.client.call("DELETE", "/admin/jobs/\(id)") }
            print("\(reply["id"] ?? id): cancel requested (\(reply["slurm_state"] ?? "?"))")
        }
    }

    struct Logs: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The job's Slurm output: every rank's training log.")
        @OptionGroup var server: ServerOptions
        @Argument var id: String
        @Option var lines = 300
        func run() throws {
            let text = try withCLIError { try server.client.raw("GET", "/admin/jobs/\(id)/logs?lines=\(max(1, min(lines, 100_000)))") }
            print(String(decoding: text, as: UTF8.self), terminator: "")
        }
    }
}
