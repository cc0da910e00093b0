import Foundation
import LumenIO
import LumenTensor
import Testing
@testable import LumenTransforms

/// Whole pre-processing chains from config entries, and their inverse on a
/// prediction, against MONAI's Compose + Invertd.
@Suite("Pipelines and Invertd against MONAI 1.6.1")
struct PipelineTests {
    @Test("forward chain and its inverse equal MONAI's", arguments: Fixture.names(["pipeline"]))
    func pipeline(name: String) throws {
        let spec = try Fixture.spec(name)
        let x = try Fixture.array(name, "x")
        let steps = try spec["steps"]!.array!.map(TransformRegistry.make)
        var state = TransformState(image: ImageData(tensor: x, affine: Fixture.matrix(spec["affine"])!))
        for step in steps { try step.apply(&state) }
        let forward = try Fixture.array(name, "y")
        let diff = Fixture.maxDiff(state.image.tensor, forward)
        print("parity \(name) forward: shape \(state.image.tensor.shape) max|Δ| = \(diff)")
        #expect(diff <= 1e-4 * Fixture.scale(forward))
        #expect(Fixture.affineDiff(state.image.affine, Fixture.matrix(spec["out_affine"])!) < 1e-6)

        let nearest = spec["nearest"]!.bool!
        let inverse = SpatialRecord.invert(forward, records: state.records, nearest: nearest)
        let expected = try Fixture.array(name, "inv")
        let inverseDiff = Fixture.maxDiff(inverse, expected)
        print("parity \(name) inverse: shape \(inverse.shape) max|Δ| = \(inverseDiff)")
        #expect(inverse.shape == x.shape)
        #expect(inverseDiff <= 1e-4 * Fixture.scale(expected))
    }
}

@Suite("Registry")
struct RegistryTests {
    @Test("config spellings resolve", arguments: ["Spacingd", "Spacing", "monai.transforms.Spacingd", "monai.transforms.spatial.dictionary.Spacingd"])
    func names(name: String) throws {
        guard case .spacing(let s) = try TransformRegistry.make(name: name, args: ["pixdim": .array([.number(1.5)]), "keys": .array([.string("image")])]) else {
            Issue.record("\(name) did not resolve to Spacing"); return
        }
        #expect(s.pixdim == [1.5] && s.mode == .linear)
    }

    @Test("entries in MMAR form, per-key mode lists and old AsDiscrete names")
    func entries() throws {
        let entry = try JSONValue(parsing: Data(#"{"name": "Spacingd", "args": {"keys": ["image", "label"], "pixdim": [1, 1, 2], "mode": ["nearest", "bilinear"]}}"#.utf8))
        guard case .spacing(let s) = try TransformRegistry.make(entry) else { Issue.record("not Spacing"); return }
        #expect(s.mode == .nearest && s.pixdim == [1, 1, 2])
        let old = try JSONValue(parsing: Data(#"{"_target_": "AsDiscreted", "keys": "pred", "threshold_values": true, "logit_thresh": 0.3}"#.utf8))
        guard case .asDiscrete(let d) = try TransformRegistry.make(old) else { Issue.record("not AsDiscrete"); return }
        #expect(d.threshold == 0.3 && !d.argmax)
    }

    @Test("unknown transforms and arguments are refused with what is supported")
    func refusals() throws {
        #expect(throws: TransformError.self) { try TransformRegistry.make(name: "RandFlipd", args: [:]) }
        do {
            _ = try TransformRegistry.make(name: "Orientationd", args: ["axcodes": .string("RAS"), "flavour": .number(1)])
            Issue.record("unknown argument accepted")
        } catch let e as TransformError {
            #expect(e.description.contains("flavour") && e.description.contains("axcodes"))
        }
        do {
            _ = try TransformRegistry.make(name: "RandFlipd", args: [:])
        } catch let e as TransformError {
            #expect(e.description.contains("Spacingd") && e.description.contains("FillHolesd"))
        }
        #expect(throws: TransformError.self) { try TransformRegistry.make(name: "Spacingd", args: ["pixdim": .number(1), "padding_mode": .string("zeros")]) }
        #expect(throws: TransformError.self) { try TransformRegistry.make(name: "Spacingd", args: [:]) }
        #expect(throws: TransformError.self) { try TransformRegistry.make(name: "Resized", args: ["spatial_size": .array([.number(4)]), "mode": .string("bicubic")]) }
        #expect(throws: TransformError.self) { try TransformRegistry.make(name: "Activationsd", args: ["softmax": .bool(true), "sigmoid": .bool(true)]) }
    }

    @Test("bad images are refused, not crashed on")
    func badImages() throws {
        var state = TransformState(image: ImageData(tensor: Tensor(zeros: [1, 4, 4, 4, 4])))
        #expect(throws: TransformError.self) { try Transform.spacing(Spacing(pixdim: [1])).apply(&state) }
        state = TransformState(image: ImageData(tensor: Tensor(zeros: [1, 4, 4, 4]), affine: [[1, 0], [0, 1]]))
        #expect(throws: TransformError.self) { try Transform.orientation(Orientation()).apply(&state) }
        state = TransformState(image: ImageData(tensor: Tensor(zeros: [1, 4, 4, 4])))
        #expect(throws: TransformError.self) { try Transform.cropForeground(CropForeground()).apply(&state) }
        #expect(throws: TransformError.self) { try Transform.addGuidanceSignal(AddGuidanceSignal()).apply(&state) }
        #expect(throws: TransformError.self) { try Orientation(axcodes: "RAA")(state.image) }
    }
}

@Suite("Inverses")
struct InverseTests {
    static let affine: [[Double]] = [[-0.8, 0, 0, 10], [0, 0, 2.5, -3], [0, 0.9, 0, 7], [0, 0, 0, 1]]

    @Test("orientation there and back is exact", arguments: ["RAS", "LPS", "SRA", "IPL"])
    func orientation(codes: String) throws {
        let x = Tensor(shape: [2, 5, 4, 3], data: (0..<120).map(Float.init))
        let (out, record) = try Orientation(axcodes: codes)(ImageData(tensor: x, affine: Self.affine))
        #expect(Fixture.maxDiff(Orientation.invert(out.tensor, record), x) == 0)
        // The voxel at a world point stays at that world point.
        let world = Matrix.apply(Self.affine, [1, 2, 0, 1])
        let v = Matrix.apply(Matrix.inverse(out.affine), world).prefix(3).map { Int($0.rounded()) }
        #expect(out.tensor.data[((v[0] * out.tensor.shape[2]) + v[1]) * out.tensor.shape[3] + v[2]] == x.data[(1 * 4 + 2) * 3 + 0])
    }

    @Test("spacing there and back with nearest returns the labels")
    func spacing() throws {
        let x = Tensor(shape: [1, 9, 8, 6], data: (0..<432).map { Float($0 % 17) })
        let image = ImageData(tensor: x, affine: [[1.1, 0, 0, 3], [0, 1.3, 0, -2], [0, 0, 2.5, 7], [0, 0, 0, 1]])
        let (out, record) = try Spacing(pixdim: [0.55, 0.65, 1.25], mode: .nearest)(image)
        #expect(out.spatialShape == [17, 15, 11])
        #expect(Fixture.maxDiff(Spacing.invert(out.tensor, record, mode: .nearest), x) == 0)
    }

    @Test("crop, pad and resize records undo onto the input grid")
    func boxes() throws {
        let x = Tensor(shape: [1, 6, 5, 4], data: (0..<120).map { Float($0) + 1 })
        let image = ImageData(tensor: x)
        let (padded, pad) = SpatialPad(spatialSize: [9, 5, 7], method: .symmetric)(image)
        #expect(padded.spatialShape == [9, 5, 7] && pad.offset == [-1, 0, -1])
        #expect(Fixture.maxDiff(SpatialRecord.pad(pad).invert(padded.tensor, nearest: true), x) == 0)
        let (cropped, crop) = try SpatialCrop(roiStart: [1, 1, 1], roiEnd: [5, 4, 3])(image)
        let back = SpatialRecord.crop(crop).invert(cropped.tensor, nearest: true)
        #expect(back.shape == x.shape && back.data[0] == 0 && back.data[(1 * 5 + 1) * 4 + 1] == x.data[(1 * 5 + 1) * 4 + 1])
        let (resized, r) = Resize(spatialSize: [12, 10, 8], mode: .nearest)(image)
        #expect(Fixture.maxDiff(SpatialRecord.resize(r).invert(resized.tensor, nearest: true), x) == 0)
    }
}

@Suite("Connected components")
struct ComponentTests {
    /// Two cubes touching only at a corner: one component with full connectivity, two with faces only.
    static func corner() -> Tensor {
        var t = Tensor(zeros: [1, 6, 6, 6])
        for i in 0..<2 { for j in 0..<2 { for k in 0..<2 { t.data[(i * 6 + j) * 6 + k] = 1 } } }
        for i in 2..<5 { for j in 2..<5 { for k in 2..<5 { t.data[(i * 6 + j) * 6 + k] = 1 } } }
        return t
    }

    @Test("MONAI's default connectivity is full (26 neighbours)")
    func fullByDefault() throws {
        let x = Self.corner()
        #expect(Fixture.maxDiff(try KeepLargestConnectedComponent()(x), x) == 0)
        let faces = try KeepLargestConnectedComponent(connectivity: 1)(x)
        #expect(faces.data.reduce(0, +) == 27)
        #expect(faces.data[0] == 0)
        #expect(throws: TransformError.self) { try KeepLargestConnectedComponent(connectivity: 4)(x) }
    }

    @Test("remove small objects refuses what MONAI would misread")
    func smallObjectsRefusals() throws {
        let x = Self.corner()
        #expect(try RemoveSmallObjects(minSize: 8)(ImageData(tensor: x)).tensor.data.reduce(0, +) == 27)
        let oneHot = Tensor(shape: [2, 6, 6, 6], data: x.data + x.data.map { 1 - $0 })
        #expect(throws: TransformError.self) { try RemoveSmallObjects()(ImageData(tensor: oneHot)) }
        #expect(throws: TransformError.self) { try RemoveSmallObjects(connectivity: 5)(ImageData(tensor: x)) }
        var fractional = x
        fractional.data[0] = 0.5
        #expect(throws: TransformError.self) { try RemoveSmallObjects()(ImageData(tensor: fractional)) }
    }

    @Test("fill holes fills a closed cavity, not one open to the border")
    func fillHoles() throws {
        var x = Tensor(zeros: [1, 7, 7, 7])
        for i in 1..<6 { for j in 1..<6 { for k in 0..<6 { x.data[(i * 7 + j) * 7 + k] = 2 } } }
        x.data[(3 * 7 + 3) * 7 + 3] = 0       // closed cavity
        x.data[(3 * 7 + 3) * 7 + 0] = 0       // a dent on the border face
        let y = try FillHoles()(x)
        #expect(y.data[(3 * 7 + 3) * 7 + 3] == 2)
        #expect(y.data[(3 * 7 + 3) * 7 + 0] == 0)
    }
}
