import ArgumentParser
import Foundation
import LumenPhantom

struct PhantomCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "phantom",
        abstract: "Generate synthetic contrast-enhanced abdominal CT phantoms with label maps.",
        discussion: "Writes imageNN.nii.gz (int16 HU) and labelNN.nii.gz (uint8) pairs, a tissueNN.nii.gz (uint8; what each voxel is made of, names in dataset.json's \"tissues\") for each, and a Decathlon-style dataset.json. Deterministic for a seed.")

    @Option(help: "Output directory.") var output: String
    @Option(help: "Number of cases.") var count: Int = 1
    @Option(help: "Random seed.") var seed: UInt64 = 0
    @Option(help: "full (0.6–1.0 mm in-plane, 1–5 mm slices), medium (1 mm, 1.25 mm slices, for vessels) or small (2 mm, for tests and CPU training).")
    var size: String = "full"
    @Option(help: "Scan protocol: portal-venous (the default every seed was made with), non-contrast, arterial or delayed (same anatomy, that phase's HU).")
    var `protocol`: String = "portal-venous"
    @Option(help: "Bone density: typical (the default every seed was made with) or older (osteoporotic trabecular bone in a thinner shell).")
    var boneDensity: String = "typical"

    func run() throws {
        guard let size = Phantom.Size(rawValue: size) else { throw ValidationError("--size must be full, medium or small") }
        guard count >= 1 else { throw ValidationError("--count must be at least 1") }
        guard let scan = ScanProtocol(rawValue: `protocol`) else {
            throw ValidationError("--protocol must be one of \(ScanProtocol.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard let bone = BoneDensity(rawValue: boneDensity) else { throw ValidationError("--bone-density must be typical or older") }
        try withCLIError {
            let start = Date()
            _ = try PhantomDataset.write(to: URL(fileURLWithPath: output), count: count, seed: seed, size: size, scan: scan, bone: bone) { index, c in
                print(String(format: "%@  %@  spacing %.2f × %.2f × %.2f mm  %@  (%.1f s)", c.image, c.label, c.spacing[0],
                             c.spacing[1], c.spacing[2], c.orientation, Date().timeIntervalSince(start)))
            }
            print("dataset.json written to \(output)")
        }
    }
}
