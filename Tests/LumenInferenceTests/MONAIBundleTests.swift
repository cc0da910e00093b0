import Foundation
import LumenIO
import Testing
@testable import LumenInference

/// The fixture MMAR rewritten as a MONAI bundle (`configs/inference.json` with
/// `@id` references, the usual `$` expressions on parts Lumen does not read):
/// it must give the MMAR's own label map.
@Suite("MONAI bundle loading")
struct MONAIBundleTests {
    static let mmar = SegmentationTaskTests.mmar

    static let inference = #"""
    {
      "image_key": "image",
      "device": "$torch.device('cuda:0' if torch.cuda.is_available() else 'cpu')",
      "network_def": {"_target_": "UNet", "spatial_dims": 3, "in_channels": 1, "out_channels": 3,
                      "channels": [8, 16, 32], "strides": [2, 2], "num_res_units": 1, "norm": "batch"},
      "network": "$@network_def.to(@device)",
      "pixdim": [2.0, 2.0, 2.0],
      "preprocessing": {"_target_": "Compose", "transforms": [
        {"_target_": "LoadImaged", "keys": "@image_key", "reader": "$monai.data.NibabelReader"},
        {"_target_": "EnsureChannelFirstd", "keys": "@image_key"},
        {"_target_": "Orientationd", "keys": "@image_key", "axcodes": "RAS"},
        {"_target_": "Spacingd", "keys": "@image_key", "pixdim": "@pixdim", "mode": "bilinear"},
        {"_target_": "ScaleIntensityRanged", "keys": "@image_key", "a_min": -100, "a_max": 300, "b_min": 0.0, "b_max": 1.0, "clip": true},
        {"_target_": "RandFlipd", "keys": "@image_key", "_disabled_": true}
      ]},
      "inferer": {"_target_": "SlidingWindowInferer", "roi_size": [32, 32, 16], "sw_batch_size": 4, "overlap": 0.25},
      "postprocessing": {"_target_": "Compose", "transforms": [
        {"_target_": "Activationsd", "keys": "pred", "softmax": true},
        {"_target_": "Invertd", "keys": "pred", "transform": "@preprocessing", "orig_keys": "@image_key"},
        {"_target_": "AsDiscreted", "keys": "pred", "argmax": true},
        {"_target_": "SaveImaged", "keys": "pred", "output_dir": "$@output_dir"}
      ]}
    }
    """#

    static func makeBundle(inference: String) throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("lumen-bundle-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("configs"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("models"), withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: mmar.appendingPathComponent("models/model.pt"), to: dir.appendingPathComponent("models/model.pt"))
        try Data(inference.utf8).write(to: dir.appendingPathComponent("configs/inference.json"))
        try Data(#"{"version": "0.2.1", "description": "fixture", "network_data_format": {"outputs": {"pred": {"channel_def": {"0": "background", "2": "organ_b", "1": "organ_a"}}}}}"#.utf8)
            .write(to: dir.appendingPathComponent("configs/metadata.json"))
        return dir
    }

    @Test("a MONAI bundle gives the same label map as the equivalent MMAR")
    func sameAsMMAR() throws {
        let dir = try Self.makeBundle(inference: Self.inference)
        defer { try? FileManager.default.removeItem(at: dir) }
        let bundle = try ModelBundle.load(dir)
        #expect(bundle.labels == ["organ_a", "organ_b"] && bundle.version == "0.2.1")
        let mmar = try ModelBundle.loadMMAR(Self.mmar)
        let image = try Volume.read(Self.mmar.appendingPathComponent("image.nii.gz"))
        let (a, _) = try SegmentationTask.run(bundle, on: image)
        let (b, _) = try SegmentationTask.run(mmar, on: image)
        #expect(a.tensor.data == b.tensor.data)
        #expect(a.geometry == image.geometry)
    }

    @Test("a Python expression where Lumen reads is refused, naming the key", arguments: [
        (#""pixdim": [2.0, 2.0, 2.0]"#, #""pixdim": "$[2.0] * 3""#, "preprocessing.transforms[3].pixdim"),
        (#""roi_size": [32, 32, 16]"#, #""roi_size": "$@roi""#, "inferer.roi_size"),
        (#""channels": [8, 16, 32]"#, #""channels": "@nowhere""#, "network_def.channels"),
    ])
    func refused(original: String, replacement: String, key: String) throws {
        let dir = try Self.makeBundle(inference: Self.inference.replacingOccurrences(of: original, with: replacement))
        defer { try? FileManager.default.removeItem(at: dir) }
        #expect { try ModelBundle.load(dir) } throws: { "\($0)".contains(key) && "\($0)".contains("configs/inference.json") }
    }
}
