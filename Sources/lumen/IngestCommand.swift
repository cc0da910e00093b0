import ArgumentParser
import Foundation
import LumenStore

extension IngestPolicy: ExpressibleByArgument {}

/// Default store location until the config file exists: `$LUMEN_STORE`, else `./lumen-store`.
func defaultStorePath() -> String {
    ProcessInfo.processInfo.environment["LUMEN_STORE"] ?? "lumen-store"
}

struct IngestCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ingest",
        abstract: "Add NIfTI files or DICOM series folders to the datastore, checking them for patient data first.",
        discussion: """
            Under --policy reject (the default) an input that may identify a patient is refused with a list of \
            what was found (field and attribute names, never their values). Under --policy scrub it is removed or \
            replaced and the audit log records what was done. Images get pseudonymous ids. Inputs are named by \
            position in messages, since a path may itself contain a name.
            """)

    @Argument(help: "NIfTI files (.nii, .nii.gz) and folders each holding one DICOM series.")
    var paths: [String]

    @Option(help: "What to do with patient data: reject or scrub.")
    var policy: IngestPolicy = .reject

    @Option(help: "Datastore directory (default: $LUMEN_STORE or ./lumen-store).")
    var store: String = defaultStorePath()

    @Option(help: "Name recorded as the author of this ingest in the audit log (default: $USER).")
    var user: String = ProcessInfo.processInfo.environment["USER"] ?? "local"

    @Option(help: "Largest accepted volume, in voxels (default: max_voxels of the config file or LUMEN_MAX_VOXELS, as lumen serve reads it).")
    var maxVoxels: Int?

    @Option(help: "Config file (default: config/lumen.yaml when present).")
    var config: String?

    func run() throws {
        // The same limit as the server's uploads: what is refused over HTTP is refused here too.
        let file = config ?? (FileManager.default.fileExists(atPath: "config/lumen.yaml") ? "config/lumen.yaml" : nil)
        var settings = try ServeSettings.load(file: file)
        settings.maxVoxels = maxVoxels ?? settings.maxVoxels
        settings = try settings.validated()
        let datastore = try withCLIError { try Datastore(directory: URL(fileURLWithPath: store)) }
        let ingestor = Ingestor(store: datastore, policy: policy, user: user, maxVoxels: settings.maxVoxels)
        var failures = 0
        for (index, path) in paths.enumerated() {
            let label = "input \(index + 1)"
            do {
                let images = try ingestor.ingest(path: URL(fileURLWithPath: path), label: label)
                for image in images {
                    print("\(label): stored as \(image.id) (\(image.geometry.dims.map(String.init).joined(separator: "×")), \(image.source))")
                }
            } catch {
                failures += 1
                FileHandle.standardError.write(Data("lumen: \(error)\n".utf8))
            }
        }
        if failures > 0 {
            FileHandle.standardError.write(Data("lumen: \(failures) of \(paths.count) inputs were not ingested\n".utf8))
            throw ExitCode(1)
        }
    }
}
