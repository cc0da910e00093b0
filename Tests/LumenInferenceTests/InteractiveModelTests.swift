import Foundation
import LumenIO
import LumenPhantom
import LumenTensor
import Testing
@testable import LumenInference
@testable import LumenTransforms

/// The shipped deepgrow and DExtr3D bundles on a phantom they never saw, with
/// the simulated user of scripts/evaluation/evaluate_interactive.py: the reply keeps the
/// input's grid, stays where it must (one slice for 2-D, the crop for 3-D), and
/// finds the clicked organ.
@Suite("Bundled interactive models")
struct InteractiveModelTests {
    static func bundle(_ name: String) throws -> ModelBundle {
        try ModelBundle.loadMMAR(URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../mmar/\(name)").standardizedFileURL)
    }

    static let phantom = Result { try Phantom.generate(seed: 777_002, index: 0, size: .small) }

    /// Voxels of value `v` that are 2 voxels inside its edge (scipy's 6-connected erosion, twice).
    static func interior(_ label: Volume, _ v: Float) -> [[Int]] {
        let s = label.spatialShape
        var mask = label.tensor.data.map { $0 == v }
        for _ in 0..<2 {
            var next = mask
            for i in 0..<s[0] { for j in 0..<s[1] { for k in 0..<s[2] where mask[(i * s[1] + j) * s[2] + k] {
                for (di, dj, dk) in [(1, 0, 0), (-1, 0, 0), (0, 1, 0), (0, -1, 0), (0, 0, 1), (0, 0, -1)] {
                    let (a, b, c) = (i + di, j + dj, k + dk)
                    if a < 0 || b < 0 || c < 0 || a >= s[0] || b >= s[1] || c >= s[2] || !mask[(a * s[1] + b) * s[2] + c] {
                        next[(i * s[1] + j) * s[2] + k] = false
                    }
                }
            } } }
            mask = next
        }
        var out: [[Int]] = []
        for i in 0..<s[0] { for j in 0..<s[1] { for k in 0..<s[2] where mask[(i * s[1] + j) * s[2] + k] { out.append([i, j, k]) } } }
        return out
    }

    static func dice(_ a: Volume, _ truth: Volume, value: Float, slice: Int? = nil) -> Double {
        let s = a.spatialShape
        var both = 0, na = 0, nb = 0
        for i in 0..<a.tensor.count where slice == nil || i % s[2] == slice! {
            let p = a.tensor.data[i] != 0, q = truth.tensor.data[i] == value
            if p { na += 1 }; if q { nb += 1 }; if p && q { both += 1 }
        }
        return na + nb == 0 ? 1 : 2 * Double(both) / Double(na + nb)
    }

    /// Floors are what the models score on this phantom (2026-12-05, since the answer is restored
    /// as a probability and thresholded on the phantom's grid: spleen 0.938, left kidney 0.937,
    /// liver 0.823; three foreground clicks along the longest axis, a poor way to click a liver)
    /// less 0.03, so a model that got worse by more than that fails here.
    @Test("deepgrow 3-D: three clicks grow the organ inside the reported crop", arguments: [(Float(2), 0.90), (Float(3), 0.90), (Float(1), 0.79)])
    func deepgrow3D(value: Float, floor: Double) throws {
        let model = try Self.bundle("deepgrow_3d")
        let phantom = try Self.phantom.get()
        let inside = Self.interior(phantom.label, value)
        let axis = (0..<3).max { a, b in
            (inside.map { $0[a] }.max()! - inside.map { $0[a] }.min()!) < (inside.map { $0[b] }.max()! - inside.map { $0[b] }.min()!)
        }!
        let order = inside.enumerated().sorted { ($0.element[axis], $0.offset) < ($1.element[axis], $1.offset) }.map(\.element)
        let clicks = [0.2, 0.5, 0.8].map { order[Int($0 * Double(order.count - 1))] }
        let result = try TaskRunner.run(model, image: phantom.image, clicks: Clicks(foreground: clicks))
        #expect(result.labels.geometry == phantom.image.geometry)
        let crop = try #require(result.json["crop"]?.array?.map { $0.array!.map { $0.int! } })
        let s = phantom.image.spatialShape
        let outside = result.labels.tensor.data.indices.filter { n in
            let p = [n / (s[1] * s[2]), n / s[2] % s[1], n % s[2]]
            return result.labels.tensor.data[n] != 0 && !(0..<3).allSatisfy { p[$0] >= crop[$0][0] && p[$0] < crop[$0][1] }
        }
        #expect(outside.isEmpty, "\(outside.count) voxels outside the crop \(crop)")
        let d = Self.dice(result.labels, phantom.label, value: value)
        print("deepgrow 3-D, label \(Int(value)), 3 clicks: Dice \(d)")
        #expect(d >= floor)
    }

    @Test("the reported crop holds everything the restore can set", arguments: [Resize.Mode.nearest, .linear])
    func cropHoldsRestore(mode: Resize.Mode) throws {
        // A crop full of certainty, restored to a grid 3 times finer (0.7 mm from 2 mm) and thresholded.
        let crop = SpatialCropGuidance.Record(start: [10, 4, 0], end: [30, 20, 12], originalShape: [40, 24, 12], croppedShape: [20, 16, 12])
        let shape = [120, 72, 36]
        let restored = try RestoreLabel.apply(Tensor(shape: [1, 20, 16, 12], data: [Float](repeating: 1, count: 20 * 16 * 12)),
                                              crop: crop, originalSpatialShape: shape, mode: mode)
        let box = DeepgrowTask.box(crop, original: shape, depthFirst: false)
        for n in restored.data.indices where restored.data[n] >= 0.5 {
            let p = [n / (shape[1] * shape[2]), n / shape[2] % shape[1], n % shape[2]]
            #expect((0..<3).allSatisfy { box[$0].contains(p[$0]) }, "voxel \(p) outside the reported crop \(box)")
        }
    }

    @Test("deepgrow 2-D: one click answers on its slice only")
    func deepgrow2D() throws {
        let model = try Self.bundle("deepgrow_2d")
        let phantom = try Self.phantom.get()
        let inside = Self.interior(phantom.label, 2)
        let k = inside.map { $0[2] }.sorted()[inside.count / 2]
        let click = inside.filter { $0[2] == k }[inside.filter { $0[2] == k }.count / 2]
        let result = try TaskRunner.run(model, image: phantom.image, clicks: Clicks(foreground: [click]))
        let s = phantom.image.spatialShape
        let slices = Set(result.labels.tensor.data.indices.filter { result.labels.tensor.data[$0] != 0 }.map { $0 % s[2] })
        #expect(slices == [k])
        let d = Self.dice(result.labels, phantom.label, value: 2, slice: k)
        print("deepgrow 2-D spleen, slice \(k): Dice \(d)")
        #expect(d >= 0.90)   // scores 0.935 (2026-12-05), less 0.03
    }

    @Test("DExtr3D: six extreme points give the organ; fewer are refused")
    func dextr3d() throws {
        let model = try Self.bundle("dextr3d")
        let phantom = try Self.phantom.get()
        let s = phantom.image.spatialShape
        var points: [[Int]] = []
        let voxels = phantom.label.tensor.data.indices.filter { phantom.label.tensor.data[$0] == 3 }
            .map { [$0 / (s[1] * s[2]), $0 / s[2] % s[1], $0 % s[2]] }
        for axis in 0..<3 {
            points.append(voxels.min { $0[axis] < $1[axis] }!)
            points.append(voxels.max { $0[axis] < $1[axis] }!)
        }
        #expect(throws: InferenceError.self) { try TaskRunner.run(model, image: phantom.image, clicks: Clicks(points: Array(points.prefix(5)))) }
        let result = try TaskRunner.run(model, image: phantom.image, clicks: Clicks(points: points))
        #expect(result.labels.geometry == phantom.image.geometry)
        let d = Self.dice(result.labels, phantom.label, value: 3)
        print("DExtr3D left kidney: Dice \(d)")
        #expect(d >= 0.87)   // scores 0.902 (2026-12-05), less 0.03
    }

    @Test("clicks outside the volume are refused with the volume's size", arguments: [[-1, 5, 5], [5, 5, 10_000], [1, 2]])
    func outside(click: [Int]) throws {
        let model = try Self.bundle("deepgrow_3d")
        let phantom = try Self.phantom.get()
        #expect {
            try TaskRunner.run(model, image: phantom.image, clicks: Clicks(foreground: [click]))
        } throws: { error in
            "\(error)".contains("\(click)")
        }
    }
}
