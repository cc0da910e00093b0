import LumenTensor
import LumenTransforms
import Testing
@testable import LumenInference

/// Every task post-processes through the transform registry (PostProcessing), so these are
/// MONAI's semantics, not a second reading of the same config.
@Suite("Post-processing: one path, MONAI's semantics")
struct PostProcessingTests {
    static func entry(_ name: String, _ args: [String: JSONValue]) -> JSONValue {
        .object(["name": .string("monai.transforms." + name), "args": .object(args.merging(["keys": .string("pred")]) { a, _ in a })])
    }

    static let probabilities = Tensor(shape: [1, 1, 2, 2], data: [0.2, 0.4, 0.6, 0.9])

    @Test("AsDiscreted thresholds as MONAI does", arguments: [
        // A bare logit_thresh is ignored by MONAI (it only counts with threshold_values: true);
        // the old serving loop thresholded on it.
        (["logit_thresh": JSONValue.number(0.3)], [Float(0.2), 0.4, 0.6, 0.9]),
        (["threshold_values": .bool(true), "logit_thresh": .number(0.3)], [0, 1, 1, 1]),
        (["threshold_values": .bool(true)], [0, 0, 1, 1]),
        (["threshold": .number(0.5)], [0, 0, 1, 1]),
    ])
    func asDiscrete(args: [String: JSONValue], expected: [Float]) throws {
        let steps = try TransformSpec.parsePost([Self.entry("AsDiscreted", args)], file: "f")
        #expect(try PostProcessing.run(steps, Self.probabilities, affine: Matrix.identity(4)).data == expected)
    }

    /// Two one-voxel-thick objects of 4 and 12 voxels on a 1 × 1 × 5 mm grid: 20 and 60 mm³.
    static func twoObjects() -> Tensor {
        var t = Tensor(zeros: [1, 8, 8, 3])
        for i in 0..<4 { t.data[(1 * 8 + i) * 3 + 1] = 1 }             // row 1, x 0..<4
        for i in 0..<12 { t.data[((4 + i / 6) * 8 + i % 6) * 3 + 1] = 1 } // rows 4-5, x 0..<6
        return t
    }

    @Test("RemoveSmallObjectsd by_measure counts millimetres on the model grid's affine")
    func removeByMeasure() throws {
        let steps = try TransformSpec.parsePost([Self.entry("RemoveSmallObjectsd", ["min_size": .number(30), "by_measure": .bool(true)])], file: "f")
        let anisotropic: [[Double]] = [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 5, 0], [0, 0, 0, 1]]
        let kept = try PostProcessing.run(steps, Self.twoObjects(), affine: anisotropic)
        #expect(kept.data.reduce(0, +) == 12)   // 20 mm³ < 30 removed, 60 mm³ kept
        let isotropic = try PostProcessing.run(steps, Self.twoObjects(), affine: Matrix.identity(4))
        #expect(isotropic.data.reduce(0, +) == 0)   // 4 and 12 mm³ on a 1 mm grid: both under 30
    }

    @Test("deepgrow's post runs through the same path, with the working grid's voxel sizes")
    func interactivePost() throws {
        // Before RestoreLabeld, so on the working grid (after it, it would run on the file's).
        var post = InteractiveSpecTests.claraPost
        post.insert(Self.entry("RemoveSmallObjectsd", ["min_size": .number(30), "by_measure": .bool(true)]), at: 2)
        let spec = try InteractiveSpec.deepgrow(pre: InteractiveSpecTests.clara2D, post: post, meta: ["deepgrow": .string("2D")], file: "f")
        #expect(spec.post.count == 3 && spec.afterRestore.isEmpty)
        // Logits: positive on both objects; sigmoid → ≥ 0.5 → the two objects; then by measure.
        var logits = Self.twoObjects()
        logits.data = logits.data.map { $0 > 0 ? 4 : -4 }
        let mask = try PostProcessing.run(spec.post, logits, affine: [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 5, 0], [0, 0, 0, 1]])
        #expect(mask.data.reduce(0, +) == 12)
    }

    @Test("DExtr3D resizes probabilities: the steps split before the first discretisation")
    func split() throws {
        let steps = try TransformSpec.parsePost([
            Self.entry("Activationsd", ["sigmoid": .bool(true)]), Self.entry("AsDiscreted", ["threshold": .number(0.5)]),
            Self.entry("KeepLargestConnectedComponentd", ["applied_labels": .array([.number(1)])]),
        ], file: "f")
        let (activations, discrete) = PostProcessing.split(steps)
        #expect(activations.count == 1 && discrete.count == 2)
        #expect(PostProcessing.isDiscrete(steps) && !PostProcessing.isDiscrete(activations))
    }
}
