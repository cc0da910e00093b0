import ArgumentParser
import Foundation
import LumenStore

struct DatasetCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dataset",
        abstract: "Training data from the datastore.",
        subcommands: [Export.self])

    struct Export: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "export",
            abstract: "Write a MONAI-style dataset.json with image/label pairs (newest version of the tag per image).")

        @Option(help: "Label tag to export.")
        var tag = "final"

        @Option(help: "Folder to write dataset.json, imagesTr/ and labelsTr/ into.")
        var output: String

        @Option(help: "Datastore directory (default: $LUMEN_STORE or ./lumen-store).")
        var store: String = defaultStorePath()

        @Option(help: "Name recorded in the audit log (default: $USER).")
        var user: String = ProcessInfo.processInfo.environment["USER"] ?? "local"

        func run() throws {
            let summary = try withCLIError {
                let datastore = try Datastore(directory: URL(fileURLWithPath: store))
                return try DatasetExport.export(store: datastore, tag: tag, output: URL(fileURLWithPath: output), user: user)
            }
            print("wrote \(summary.datasetJSON.path) with \(summary.pairs) image/label pairs (tag '\(tag)')")
        }
    }
}
