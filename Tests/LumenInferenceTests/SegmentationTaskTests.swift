import Foundation
import LumenIO
import LumenTensor
import Testing
@testable import LumenInference

/// End to end against MONAI: scripts/fixtures/make_pipeline_fixture.py ran the same MMAR
/// (random weights) through MONAI 1.6.1's transforms, inferer and Invertd.
@Suite("Segmentation task")
struct SegmentationTaskTests {
    static let mmar = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/mmar_tiny")

    @Test("the label map equals MONAI's and keeps the input's geometry")
    func endToEnd() throws {
        let bundle = try ModelBundle.loadMMAR(Self.mmar)
        #expect(bundle.kind == .segmentation && bundle.labels == ["organ_a", "organ_b"])
        let image = try Volume.read(Self.mmar.appendingPathComponent("image.nii.gz"))
        let expected = try Volume.read(Self.mmar.appendingPathComponent("expected.nii.gz"))
        let (labels, timings) = try SegmentationTask.run(bundle, on: image)
        #expect(labels.spatialShape == image.spatialShape)
        #expect(labels.geometry == image.geometry)
        #expect(timings.stages.map(\.name) == ["pre", "infer", "post", "invert"])
        let differing = zip(labels.tensor.data, expected.tensor.data).filter { $0 != $1 }.count
        // Voxels where two classes tie within float rounding may go either way.
        #expect(Double(differing) / Double(labels.tensor.count) < 1e-3, "\(differing) of \(labels.tensor.count) voxels differ")
        #expect(Set(labels.tensor.data) == [0, 1, 2])
    }

    @Test("an unknown transform fails at load time, naming file, key and what is supported")
    func unknownTransform() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("lumen-mmar-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("config"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("models"), withIntermediateDirectories: true)
        for file in ["config/config_train.json", "models/model.pt"] {
            try FileManager.default.copyItem(at: Self.mmar.appendingPathComponent(file), to: dir.appendingPathComponent(file))
        }
        try Data(#"{"type": "segmentation", "pre_transforms": [{"name": "monai.transforms.RandFlipd", "args": {}}]}"#.utf8)
            .write(to: dir.appendingPathComponent("config/config_aiaa.json"))
        do {
            _ = try ModelBundle.loadMMAR(dir)
            Issue.record("loaded a bundle with an unknown transform")
        } catch let error as BundleError {
            let text = "\(error)"
            #expect(text.contains("config_aiaa.json") && text.contains("pre_transforms[0]") && text.contains("RandFlipd")
                    && text.contains("Spacingd"))
        }
    }

    @Test("a bundle without weights or with a TensorFlow model says so")
    func missing() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("lumen-mmar-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("config"), withIntermediateDirectories: true)
        try Data("{}".utf8).write(to: dir.appendingPathComponent("config/config_aiaa.json"))
        #expect(throws: BundleError.missingFile(bundle: dir.lastPathComponent, file: "models/model.pt")) { try ModelBundle.loadMMAR(dir) }
    }
}
