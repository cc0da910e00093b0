import Foundation
import LumenIO
import LumenTensor
import Testing
@testable import LumenTransforms

/// The deepgrow 3-D chain step by step against MONAI's dictionary transforms:
/// clicks → guidance → crop → area resize → guidance resize → signal, and the
/// label restored onto the (D, H, W) array.
@Suite("Deepgrow transforms against MONAI 1.6.1")
struct DeepgrowTests {
    @Test("guidance, crop, resize, signal and restore equal MONAI's", arguments: Fixture.names(["deepgrow"]))
    func chain(name: String) throws {
        let spec = try Fixture.spec(name)
        let x = try Fixture.array(name, "x")                     // (D, H', W') after Spacing, no channel
        let original = spec["original_shape"]!.array!.map { $0.int! }
        let roi = spec["args"]!["roi"]!.array!.map { $0.int! }
        let resize = spec["args"]!["resize"]!.array!.map { $0.int! }
        let margin = spec["args"]!["margin"]!.int!
        var state = TransformState(image: ImageData(tensor: Tensor(shape: [1] + x.shape, data: x.data)),
                                   foreground: Fixture.points(spec["positive"]), background: Fixture.points(spec["negative"]),
                                   originalShape: original)
        // AddGuidanceFromPointsd runs before the channel is added: its shape is (D, H', W').
        let guidance = try AddGuidanceFromPoints()(foreground: state.foreground, background: state.background,
                                                   originalShape: original, currentShape: x.shape)
        let g0 = spec["guidance_points"]!.array!
        #expect(guidance.positive == Fixture.points(g0[0]) && guidance.negative == Fixture.points(g0[1]))
        state.guidance = guidance
        let steps = try [
            TransformRegistry.make(name: "SpatialCropGuidanced", args: ["spatial_size": .array(roi.map { .number(Double($0)) }),
                                                                         "margin": .number(Double(margin))]),
            TransformRegistry.make(name: "monai.transforms.Resized", args: ["spatial_size": .array(resize.map { .number(Double($0)) }),
                                                                             "mode": .string("area")]),
            TransformRegistry.make(name: "ResizeGuidanced", args: ["ref_image": .string("image")]),
            TransformRegistry.make(name: "NormalizeIntensityd", args: ["subtrahend": .number(208), "divisor": .number(388)]),
            TransformRegistry.make(name: "AddGuidanceSignald", args: ["sigma": .number(2)]),
        ]
        try steps[0].apply(&state)
        let crop = try #require(state.guidanceCrop)
        #expect(crop.start == Fixture.points(.array([spec["box_start"]!]))[0])
        #expect(crop.end == Fixture.points(.array([spec["box_end"]!]))[0])
        let cropped = try Fixture.array(name, "cropped")
        #expect(Fixture.maxDiff(state.image.tensor, cropped) == 0, "crop equals MONAI's exactly")
        let g1 = spec["guidance_cropped"]!.array!
        #expect(state.guidance!.positive == Fixture.points(g1[0]) && state.guidance!.negative == Fixture.points(g1[1]))
        for step in steps.dropFirst() { try step.apply(&state) }
        let g2 = spec["guidance_resized"]!.array!
        #expect(state.guidance!.positive == Fixture.points(g2[0]) && state.guidance!.negative == Fixture.points(g2[1]))
        let netIn = try Fixture.array(name, "net_in")
        let diff = Fixture.maxDiff(state.image.tensor, netIn)
        print("parity \(name) network input: max|Δ| = \(diff)")
        #expect(diff <= 1e-5, "max |Δ| = \(diff)")

        let pred = try Fixture.array(name, "pred")
        let rolled = [original[2], original[0], original[1]]
        let restored = try RestoreLabel.apply(pred, crop: crop, originalSpatialShape: rolled)
        // MONAI drops the channel of a 3-D result; Lumen keeps it (one channel).
        let monai = try Fixture.array(name, "restored")
        let expected = Tensor(shape: [1] + monai.shape, data: monai.data)
        #expect(restored.shape == expected.shape, "restored shape \(restored.shape) vs \(expected.shape)")
        #expect(Fixture.maxDiff(restored, expected) == 0, "restored label equals MONAI's exactly")

        // RestoreLabeld(mode="trilinear") on probabilities, as the shipped deepgrow 3-D config restores them.
        let prob = try Fixture.array(name, "prob")
        let linear = try RestoreLabel.apply(prob, crop: crop, originalSpatialShape: rolled, mode: .linear)
        let monaiLinear = try Fixture.array(name, "restored_linear")
        let linearDiff = Fixture.maxDiff(linear, Tensor(shape: [1] + monaiLinear.shape, data: monaiLinear.data))
        #expect(linear.shape == [1] + monaiLinear.shape && linearDiff <= 1e-5, "linear restore max |Δ| = \(linearDiff)")
    }

    @Test("a resize told where its input is non-zero gives the full resize's answer", arguments: [
        (Resize.Mode.linear, [1, 9, 11, 7], [20, 5, 16], [2..<6, 3..<9, 0..<7]),
        (.linear, [2, 12, 10], [31, 4], [0..<3, 9..<10]),
        (.nearest, [1, 9, 11, 7], [20, 5, 16], [2..<6, 3..<9, 1..<4]),
        (.nearest, [1, 8, 8, 8], [3, 20, 8], [7..<8, 0..<1, 2..<5]),
        (.linear, [1, 6, 6, 6], [9, 9, 9], [3..<3, 0..<6, 0..<6]),
    ] as [(Resize.Mode, [Int], [Int], [Range<Int>])])
    func supportWindow(mode: Resize.Mode, shape: [Int], size: [Int], support: [Range<Int>]) {
        var x = Tensor(zeros: shape)
        let spatial = Array(shape.dropFirst()), n = spatial.reduce(1, *)
        for i in 0..<x.count {
            var rest = i % n, inside = true
            for a in (0..<spatial.count).reversed() {
                inside = inside && support[a].contains(rest % spatial[a])
                rest /= spatial[a]
            }
            if inside { x.data[i] = Float((i * 37) % 101) / 50 - 0.7 }
        }
        let full = Resize.resize(x, to: size, mode: mode)
        let windowed = Resize.resize(x, to: size, mode: mode, support: support)
        #expect(windowed.shape == full.shape && windowed.data == full.data)
    }

    @Test("2-D deepgrow guidance keeps the clicks of one slice")
    func guidance2D() throws {
        let t = AddGuidanceFromPoints(spatialDims: 2)
        // Clicks in (H, W, D); array (D, H, W) at 2× in H and W.
        let g = try t(foreground: [[3, 4, 7], [5, 5, 2]], background: [[1, 1, 7]], originalShape: [10, 10, 9], currentShape: [9, 20, 20])
        #expect(g.slice == 2)
        #expect(g.positive == [[10, 10]] && g.negative.isEmpty)
        let h = try t(foreground: [[3, 4, 7], [5, 5, 2]], background: [[1, 1, 7]], originalShape: [10, 10, 9], currentShape: [9, 20, 20], slice: 7)
        #expect(h.positive == [[6, 8]] && h.negative == [[2, 2]])
        #expect(throws: TransformError.self) { try t(foreground: [[3, 4, 7]], background: [], originalShape: [10, 10, 9], currentShape: [9, 20, 20], slice: 3) }
    }

    @Test("the erf kernel has MONAI's 17 taps")
    func kernel() {
        let k = PointBlur.kernel(sigma: 2)
        #expect(k.count == 17)
        let expected: [Float] = [7.77e-5, 4.886e-4, 2.403e-3, 9.245e-3, 2.7835e-2, 6.559e-2, 0.12098, 0.17467, 0.19741]
        for (i, v) in expected.enumerated() { #expect(abs(k[i] - v) <= v * 2e-3, "tap \(i): \(k[i]) vs \(v)") }
        #expect(abs(k.reduce(0, +) - 0.99998) < 1e-4)
    }

    @Test("extreme-points heatmap peaks at the points and spans the rescale range")
    func extremePoints() throws {
        let h = try ExtremePointsHeatmap(sigma: 1.5)(points: [[2, 3, 4], [9, 3, 4]], spatialShape: [12, 8, 9])
        #expect(h.shape == [1, 12, 8, 9])
        #expect(h.data.max() == 1 && h.data.min() == -1)
        let at = { (i: Int, j: Int, k: Int) in h.data[(i * 8 + j) * 9 + k] }
        #expect(at(2, 3, 4) > at(2, 3, 6) && at(9, 3, 4) > at(5, 3, 4))
        #expect(throws: TransformError.self) { try ExtremePointsHeatmap()(points: [[12, 0, 0]], spatialShape: [12, 8, 9]) }
    }

    @Test("crop by points grows the box by the margin in mm")
    func cropByPoints() throws {
        let image = ImageData(tensor: Tensor(zeros: [1, 40, 40, 20]), affine: [[0.5, 0, 0, 0], [0, 0.5, 0, 0], [0, 0, 2, 0], [0, 0, 0, 1]])
        let (out, box) = try CropByPoints(marginMM: 4)(image, points: [[10, 12, 5], [20, 30, 6], [15, 35, 9]])
        #expect(box.offset == [2, 4, 3])
        #expect(out.spatialShape == [27, 36, 9])   // [2, 29), [4, 40) clipped, [3, 12)
        #expect(out.affine[0][3] == 1 && out.affine[2][3] == 6)
    }
}
