import LumenTensor
import Testing
@testable import LumenInference

/// Clara's deepgrow configs (aiaa-protocol.md §8.3) resolve to Lumen's template;
/// anything outside it fails at load time naming the file and key.
@Suite("Deepgrow and DExtr3D config parsing")
struct InteractiveSpecTests {
    static func entry(_ name: String, _ args: [String: JSONValue] = [:]) -> JSONValue {
        .object(["name": .string(name), "args": .object(args.merging(["keys": .string("image")]) { a, _ in a })])
    }
    static func ints(_ v: [Int]) -> JSONValue { .array(v.map { .number(Double($0)) }) }

    /// Clara 4's deepgrow 2-D pre-transforms.
    static let clara2D: [JSONValue] = [
        entry("monai.transforms.LoadImaged"), entry("monai.transforms.AsChannelFirstd"),
        entry("monai.transforms.Spacingd", ["pixdim": .array([.number(1), .number(1)]), "mode": .string("bilinear")]),
        entry("monai.apps.deepgrow.transforms.AddGuidanceFromPointsd", ["ref_image": .string("image"), "spatial_dims": .number(2)]),
        entry("monai.apps.deepgrow.transforms.Fetch2DSliced"), entry("monai.transforms.AddChanneld"),
        entry("monai.apps.deepgrow.transforms.SpatialCropGuidanced", ["spatial_size": ints([256, 256])]),
        entry("monai.transforms.Resized", ["spatial_size": ints([256, 256]), "mode": .string("area")]),
        entry("monai.apps.deepgrow.transforms.ResizeGuidanced", ["ref_image": .string("image")]),
        entry("monai.transforms.NormalizeIntensityd", ["subtrahend": .number(208), "divisor": .number(388)]),
        entry("monai.apps.deepgrow.transforms.AddGuidanceSignald", ["image": .string("image")]),
    ]
    static let claraPost: [JSONValue] = [
        entry("monai.transforms.Activationsd", ["sigmoid": .bool(true)]),
        entry("monai.transforms.AsDiscreted", ["threshold_values": .bool(true), "logit_thresh": .number(0.5)]),
        entry("monai.transforms.ToNumpyd"), entry("monai.apps.deepgrow.transforms.RestoreLabeld"),
        entry("monai.transforms.AsChannelLastd"),
    ]

    @Test("Clara's deepgrow 2-D config")
    func clara2DConfig() throws {
        let spec = try InteractiveSpec.deepgrow(pre: Self.clara2D, post: Self.claraPost, meta: ["deepgrow": .string("2D")], file: "f")
        #expect(spec.spatialDims == 2 && spec.depthFirst)
        #expect(spec.spacing?.pixdim == [1, 1])
        #expect(spec.steps.count == 5)
        #expect(spec.post.count == 2)
    }

    @Test("RestoreLabeld splits the post steps: before it on the network's grid, after it on the file's")
    func restoreOrder() throws {
        let linear = [Self.entry("Activationsd", ["sigmoid": .bool(true)]),
                      Self.entry("RestoreLabeld", ["mode": .string("trilinear")]),
                      Self.entry("AsDiscreted", ["threshold": .number(0.5)])]
        let spec = try InteractiveSpec.deepgrow(pre: Self.clara2D, post: linear, meta: [:], file: "f")
        #expect(spec.post.count == 1 && spec.afterRestore.count == 1 && spec.restore == .linear)
        let clara = try InteractiveSpec.deepgrow(pre: Self.clara2D, post: Self.claraPost, meta: [:], file: "f")
        #expect(clara.post.count == 2 && clara.afterRestore.isEmpty && clara.restore == .nearest)
    }

    @Test("a restore that would write probabilities or a blurred mask is refused", arguments: [
        ("threshold before a linear restore", [entry("Activationsd", ["sigmoid": .bool(true)]), entry("AsDiscreted", ["threshold": .number(0.5)]),
                                               entry("RestoreLabeld", ["mode": .string("bilinear")])], "AsDiscreted after it"),
        ("no threshold at all", [entry("Activationsd", ["sigmoid": .bool(true)]), entry("RestoreLabeld", ["mode": .string("trilinear")])],
         "AsDiscreted after it"),
        ("unknown mode", [entry("RestoreLabeld", ["mode": .string("bicubic")])], "post_transforms[0].mode"),
    ] as [(String, [JSONValue], String)])
    func restoreRefused(what: String, post: [JSONValue], message: String) {
        #expect(what.count > 0)
        #expect { try InteractiveSpec.deepgrow(pre: Self.clara2D, post: post, meta: [:], file: "f") }
            throws: { "\($0)".contains(message) }
    }

    @Test("refused at load time, naming the key", arguments: [
        ("unknown transform", 4, entry("monai.transforms.RandFlipd"), "pre_transforms[4]"),
        ("depth_first false after AsChannelFirstd", 3,
         entry("AddGuidanceFromPointsd", ["spatial_dims": .number(2), "depth_first": .bool(false)]), "depth_first"),
        ("3 pixdims with depth first", 2, entry("Spacingd", ["pixdim": ints([1, 1, 1])]), "pixdim"),
        ("bad crop argument", 6, entry("SpatialCropGuidanced", ["spatial_size": .string("big")]), "pre_transforms[6]"),
    ] as [(String, Int, JSONValue, String)])
    func refused(what: String, index: Int, replacement: JSONValue, key: String) {
        var pre = Self.clara2D
        pre[index] = replacement
        #expect(what.count > 0)
        #expect { try InteractiveSpec.deepgrow(pre: pre, post: Self.claraPost, meta: [:], file: "deepgrow/config/config_aiaa.json") }
            throws: { "\($0)".contains("deepgrow/config/config_aiaa.json") && "\($0)".contains(key) }
    }

    @Test("DExtr3D needs its heatmap channel")
    func dextrNeedsHeatmap() {
        let pre = [Self.entry("LoadImaged"), Self.entry("CropByPointsd", ["margin_mm": .number(20)]),
                   Self.entry("Resized", ["spatial_size": Self.ints([64, 64, 64]), "mode": .string("trilinear")])]
        #expect(throws: BundleError.self) { try InteractiveSpec.dextr3d(pre: pre, post: [], file: "f") }
        let full = pre + [Self.entry("AddExtremePointsChanneld", ["sigma": .number(3)])]
        #expect((try? InteractiveSpec.dextr3d(pre: full, post: [], file: "f"))?.marginMM == 20)
    }
}
