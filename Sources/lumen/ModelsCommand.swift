import ArgumentParser
import Foundation

/// `lumen models …`: model versions on a running server, for admins.
struct ModelsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "models",
        abstract: "List, upload, promote, roll back and retire model versions on a running lumen serve.",
        subcommands: [List.self, Versions.self, Show.self, Upload.self, Promote.self, Rollback.self, Retire.self])

    /// `NAME@VERSION`, both checked.
    static func parse(_ text: String) throws -> (String, Int) {
        let parts = text.split(separator: "@")
        guard parts.count == 2, let v = Int(parts[1]), v >= 1 else { throw ValidationError("expected NAME@VERSION (e.g. spleen@3), got \(text)") }
        return (String(parts[0]), v)
    }

    static func path(_ name: String) -> String {
        "/admin/model/" + (name.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? name)
    }

    static func gate(_ force: Bool, _ reason: String?, _ confirm: Bool) -> String {
        var query: [String] = []
        if force { query.append("force=true") }
        if let reason { query.append("reason=" + (reason.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")) }
        if confirm { query.append("confirm_labels=true") }
        return query.isEmpty ? "" : "?" + query.joined(separator: "&")
    }

    static func line(_ v: [String: Any]) -> String {
        let metrics = v["metrics"] as? [String: Any]
        let dice = ((metrics?["candidate"] as? [String: Any])?["mean_dice"] as? Double).map { String(format: "mean Dice %.4f", $0) } ?? ""
        return [String(describing: v["version"] ?? "?"), v["state"] as? String ?? "", v["source"] as? String ?? "",
                (v["sha256"] as? String).map { String($0.prefix(12)) } ?? "", dice, v["reason"] as? String ?? ""]
            .joined(separator: "\t")
    }

    static func report(_ reply: [String: Any]) {
        print(reply["message"] as? String ?? "\(reply)")
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The models the server serves, with their versions.")
        @OptionGroup var server: ServerOptions
        func run() throws {
            let reply = try withCLIError { try server.client.call("GET", "/info/") }
            let models = reply["models"] as? [String: [String: Any]] ?? [:]
            for name in models.keys.sorted() {
                print("\(name)\tversion \(models[name]?["version"] ?? "?")\t\(models[name]?["type"] ?? "")")
            }
        }
    }

    struct Versions: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Every version of a model: number, state, source, hash, Dice, reason.")
        @OptionGroup var server: ServerOptions
        @Argument var name: String
        func run() throws {
            let reply = try withCLIError { try server.client.call("GET", ModelsCommand.path(name) + "/versions") }
            print("version\tstate\tsource\tsha256\tgate\treason")
            for v in reply["versions"] as? [[String: Any]] ?? [] { print(ModelsCommand.line(v)) }
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "One version's lineage: parent, labels, metrics, who promoted it and when.")
        @OptionGroup var server: ServerOptions
        @Argument(help: "NAME@VERSION") var version: String
        func run() throws {
            let (name, v) = try ModelsCommand.parse(version)
            let reply = try withCLIError { try server.client.call("GET", ModelsCommand.path(name) + "/versions/\(v)") }
            let data = try JSONSerialization.data(withJSONObject: reply, options: [.prettyPrinted, .sortedKeys])
            print(String(decoding: data, as: UTF8.self))
        }
    }

    struct Upload: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Upload an MMAR zip as the next version; the gate decides whether it serves.")
        @OptionGroup var server: ServerOptions
        @Argument var name: String
        @Argument(help: "The MMAR as a zip.") var zip: String
        @Flag(help: "Serve it even if the gate refuses (needs --reason).") var force = false
        @Option(help: "Why, for the audit log.") var reason: String?
        @Flag(help: "Accept labels that differ from the serving version's.") var confirmLabels = false
        func run() throws {
            let (body, type) = try ServerClient.multipart(field: "data", file: URL(fileURLWithPath: zip))
            ModelsCommand.report(try withCLIError {
                try server.client.call("PUT", ModelsCommand.path(name) + ModelsCommand.gate(force, reason, confirmLabels), body: body, contentType: type)
            })
        }
    }

    struct Promote: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Serve a candidate version if the gate allows it.")
        @OptionGroup var server: ServerOptions
        @Argument(help: "NAME@VERSION") var version: String
        @Flag var force = false
        @Option var reason: String?
        @Flag var confirmLabels = false
        func run() throws {
            let (name, v) = try ModelsCommand.parse(version)
            ModelsCommand.report(try withCLIError {
                try server.client.call("POST", ModelsCommand.path(name) + "/versions/\(v)/promote" + ModelsCommand.gate(force, reason, confirmLabels))
            })
        }
    }

    struct Rollback: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Serve an earlier version again (no gate: it served before).")
        @OptionGroup var server: ServerOptions
        @Argument(help: "NAME@VERSION") var version: String
        func run() throws {
            let (name, v) = try ModelsCommand.parse(version)
            ModelsCommand.report(try withCLIError { try server.client.call("POST", ModelsCommand.path(name) + "/versions/\(v)/rollback") })
        }
    }

    struct Retire: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Take a version out of service; its files stay unless --purge.")
        @OptionGroup var server: ServerOptions
        @Argument(help: "NAME@VERSION") var version: String
        @Flag(help: "Delete the version's files too (never a bundled model's).") var purge = false
        func run() throws {
            let (name, v) = try ModelsCommand.parse(version)
            let reply = try withCLIError {
                try server.client.call("POST", ModelsCommand.path(name) + "/versions/\(v)/retire" + (purge ? "?purge=true" : ""))
            }
            print("\(name)@\(v): \(reply["state"] ?? "?") (\(reply["reason"] ?? ""))")
        }
    }
}
