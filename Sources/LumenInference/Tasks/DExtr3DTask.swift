import Foundation
import LumenIO
import LumenTensor
import LumenTransforms

/// DExtr3D ("boundary points" in Slicer): the user's extreme points fix a box,
/// grown by a margin in millimetres so the network sees the object's edges
/// with the same physical context whatever the scan's spacing. The crop is
/// resized to the network's grid, a heatmap of the points is added as a
/// channel, and the mask is resized back and pasted into a full-size volume.
public enum DExtr3DTask {
    public static let minimumPoints = 6

    public static func run(_ bundle: ModelBundle, image volume: Volume, points: [[Int]]) throws -> TaskResult {
        guard case .dextr3d(let spec) = bundle.interactive else {
            throw InferenceError.badInput("\(bundle.name) is not a DExtr3D (annotation) model")
        }
        let shape = volume.spatialShape
        guard volume.channels == 1, shape.count == 3 else {
            throw InferenceError.badInput("\(bundle.name) needs a single-channel 3-D volume, got shape \(volume.tensor.shape)")
        }
        guard points.count >= minimumPoints else {
            throw InferenceError.badInput("\(bundle.name) needs at least \(minimumPoints) extreme points (the object's ends along each axis), got \(points.count)")
        }
        try ClickCheck.inside(points, shape: shape, what: "point")
        var timings = StageTimings()
        let image = ImageData(tensor: volume.tensor, affine: volume.geometry.affine)
        var gridAffine = image.affine   // the network grid's, set below
        let (box, input): (BoxRecord, Tensor) = try timings.measure("pre") {
            let (cropped, box) = try CropByPoints(marginMM: spec.marginMM)(image, points: points)
            var state = TransformState(image: spec.resize(cropped).0)
            for step in spec.intensity { try step.apply(&state) }
            gridAffine = state.image.affine
            let grid = state.image.spatialShape
            let scaled = points.map { p in
                (0..<3).map { Int(Double(p[$0] - box.offset[$0]) * Double(grid[$0]) / Double(box.outputShape[$0])) }
            }
            let heat = try spec.heatmap(points: scaled, spatialShape: grid)
            return (box, Tensor(shape: [state.image.channels + 1] + grid, data: state.image.tensor.data + heat.data))
        }
        let prediction = try timings.measure("infer") { try InteractiveInference.forward(bundle, input) }
        let restored: Tensor = try timings.measure("invert") {
            // Probabilities are resized (linearly) before thresholding: smoother edges than resizing the mask.
            let (activations, discrete) = PostProcessing.split(spec.post)
            let probability = try PostProcessing.run(activations, prediction, affine: gridAffine)
            let back = Resize.resize(probability, to: box.outputShape, mode: discrete.isEmpty ? .nearest : .linear)
            // Back on the crop's own grid: the volume's voxel sizes.
            return box.inverse.apply(try PostProcessing.run(discrete, back, affine: image.affine))
        }
        let labels = try volume.replacing(tensor: restored)
        var json = ResultSummary.extremePointsAndBox(labels)
        json["crop"] = ResultSummary.json(zip(box.offset, box.outputShape).map { [$0, $0 + $1] })
        return TaskResult(labels: labels, json: json, timings: timings)
    }
}
