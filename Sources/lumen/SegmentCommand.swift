import ArgumentParser
import Foundation
import LumenInference
import LumenPreview
import LumenIO
import LumenTensor

struct SegmentCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "segment",
        abstract: "Run one model bundle (Clara MMAR) offline on one image; the label map keeps the input's geometry.",
        discussion: """
        Points are voxel indices i,j,k of the input file (as Slicer sends them), e.g. --foreground 120,88,41 121,90,41.
        Deepgrow models take --foreground/--background (2-D models answer on the slice of --current-point, default the
        last foreground click); DExtr3D (annotation) models take at least 6 --points at the object's extremes.
        """)

    @Option(help: "The bundle directory (config/config_aiaa.json, models/model.pt).") var model: String
    @Option(help: "Input image (.nii, .nii.gz, .hdr/.img).") var image: String
    @Option(help: "Output label map (.nii.gz).") var output: String
    @Option(parsing: .upToNextOption, help: "Deepgrow foreground clicks i,j,k.") var foreground: [String] = []
    @Option(parsing: .upToNextOption, help: "Deepgrow background clicks i,j,k.") var background: [String] = []
    @Option(help: "Deepgrow: the click that triggered this call, i,j,k.") var currentPoint: String?
    @Option(parsing: .upToNextOption, help: "DExtr3D extreme points i,j,k (at least 6).") var points: [String] = []
    @Flag(help: "Print per-stage timings.") var timings = false
    @Option(help: "Also write a preview PNG: the CT with the labels' outlines on three planes, and the clicks.") var preview: String?
    @Flag(help: "Print the result's JSON (points, bbox, crop).") var json = false

    func run() throws {
        try withCLIError {
            let clicks = Clicks(foreground: try foreground.map(Self.point), background: try background.map(Self.point),
                                currentPoint: try currentPoint.map(Self.point), points: try points.map(Self.point))
            var t = StageTimings()
            let bundle = try t.measure("load model") { try ModelBundle.load(URL(fileURLWithPath: model)) }
            let volume = try t.measure("read") { try Volume.read(URL(fileURLWithPath: image)) }
            let result = try TaskRunner.run(bundle, image: volume, clicks: clicks)
            try t.measure("write") { try result.labels.write(to: URL(fileURLWithPath: output), datatype: .uint8) }
            if let preview {
                let marks = clicks.foreground.map { Preview.Click(voxel: $0, foreground: true) }
                    + clicks.background.map { Preview.Click(voxel: $0, foreground: false) }
                    + clicks.points.map { Preview.Click(voxel: $0, foreground: true) }
                let picture = try Preview.render(ct: volume, labels: result.labels, names: bundle.labels.isEmpty ? ["foreground"] : bundle.labels,
                                                 clicks: marks, title: "\(bundle.name) v\(bundle.version)  \(URL(fileURLWithPath: image).lastPathComponent)")
                try Data(picture.png).write(to: URL(fileURLWithPath: preview), options: .atomic)
                print("preview: \(preview)")
            }
            if timings {
                print("\(bundle.name): \(t.stages.map { String(format: "%@ %.0f ms", $0.name, $0.ms) }.joined(separator: ", ")); \(result.timings)")
            }
            if json {
                let data = try JSONSerialization.data(withJSONObject: JSONValue.object(result.json).any, options: [.sortedKeys])
                print(String(decoding: data, as: UTF8.self))
            }
        }
    }

    static func point(_ text: String) throws -> [Int] {
        let parts = text.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard parts.count == 3, parts.allSatisfy({ $0 != nil }) else {
            throw ValidationError("\"\(text)\" is not a point: write voxel indices as i,j,k, e.g. 120,88,41")
        }
        return parts.map { $0! }
    }
}
