import Foundation
import LumenIO
import LumenTensor
import LumenTransforms

/// Deepgrow as Clara ran it: the clicks choose a crop, the crop is resized to the
/// network's grid with a click-signal channel per click kind, and the mask is
/// put back where the crop came from. 2-D models answer on the current click's
/// slice only (Slicer unions the whole reply into the segment); 3-D replies
/// carry `crop`, the IJK box actually inferred, so edits elsewhere survive.
public enum DeepgrowTask {
    public static func run(_ bundle: ModelBundle, image volume: Volume, clicks: Clicks,
                           maxVoxels: Int = Volume.defaultMaxVoxels) throws -> TaskResult {
        guard case .deepgrow(let spec) = bundle.interactive else {
            throw InferenceError.badInput("\(bundle.name) is not a deepgrow model")
        }
        let shape = volume.spatialShape
        guard volume.channels == 1, shape.count == 3 else {
            throw InferenceError.badInput("\(bundle.name) needs a single-channel 3-D volume, got shape \(volume.tensor.shape)")
        }
        try ClickCheck.inside(clicks.foreground, shape: shape, what: "foreground click")
        try ClickCheck.inside(clicks.background, shape: shape, what: "background click")
        guard !clicks.foreground.isEmpty else {
            throw InferenceError.badInput("\(bundle.name) needs at least one foreground click")
        }
        var timings = StageTimings()
        var slice: Int?
        var foreground = clicks.foreground, background = clicks.background
        if spec.spatialDims == 2 {
            let current = clicks.currentPoint ?? clicks.foreground.last!
            try ClickCheck.inside([current], shape: shape, what: "current_point")
            slice = current[2]
            // As Slicer does: only the clicks on the current slice take part.
            foreground = foreground.filter { $0[2] == current[2] }
            background = background.filter { $0[2] == current[2] }
            if foreground.isEmpty && background.isEmpty { foreground = [current] }
        }
        guard spec.spatialDims == 3 || spec.depthFirst else {
            throw InferenceError.badInput("\(bundle.name): 2-D deepgrow needs Clara's depth-first layout (AsChannelFirstd)")
        }
        let state: TransformState = try timings.measure("pre") {
            var image: ImageData
            let current: [Int]
            if spec.spatialDims == 2 && spec.depthFirst {
                // Spacing treats the depth axis as channels, each resampled alone, so spacing just
                // the clicked slice gives that slice exactly, without touching the rest of the volume.
                var plane = ImageData(tensor: DepthAxis.slice(volume.tensor, k: slice!),
                                      affine: Matrix.affineND(volume.geometry.affine, rank: 2))
                if let spacing = spec.spacing { plane = try spacing(plane, maxVoxels: maxVoxels).0 }
                current = [shape[2]] + plane.spatialShape
                image = plane
            } else if spec.depthFirst {
                image = ImageData(tensor: DepthAxis.first(volume.tensor), affine: Matrix.affineND(volume.geometry.affine, rank: 2))
                if let spacing = spec.spacing { image = try spacing(image, maxVoxels: maxVoxels).0 }
                current = image.tensor.shape
            } else {
                image = ImageData(tensor: volume.tensor, affine: volume.geometry.affine)
                if let spacing = spec.spacing { image = try spacing(image, maxVoxels: maxVoxels).0 }
                current = image.spatialShape
            }
            let guidance = try AddGuidanceFromPoints(spatialDims: spec.spatialDims, depthFirst: spec.depthFirst)(
                foreground: foreground, background: background, originalShape: shape, currentShape: current, slice: slice)
            if spec.spatialDims == 3 && spec.depthFirst {
                // The depth axis rode through Spacingd as channels; as a spatial axis again it gets
                // its voxel size back (orientation aside: sizes are what the later steps and the
                // post-processing's millimetre measures use).
                let sizes = [Matrix.spacing(volume.geometry.affine)[2]] + Matrix.spacing(image.affine)
                var affine = Matrix.identity(4)
                for a in 0..<3 { affine[a][a] = sizes[a] }
                image = ImageData(tensor: Tensor(shape: [1] + image.tensor.shape, data: image.tensor.data), affine: affine)
            }
            var state = TransformState(image: image)
            state.guidance = guidance
            for step in spec.steps { try step.apply(&state) }
            return state
        }
        let prediction = try timings.measure("infer") { try InteractiveInference.forward(bundle, state.image.tensor) }
        let answer = try timings.measure("post") { try PostProcessing.run(spec.post, prediction, affine: state.image.affine) }
        guard let crop = state.guidanceCrop else { throw InferenceError.badPrediction("\(bundle.name): no crop was recorded") }
        let restored: Tensor = try timings.measure("invert") {
            let back: Tensor
            if spec.spatialDims == 2 {
                // Only the clicked slice is restored; the rest of the reply stays zero, as Slicer requires.
                let plane = try RestoreLabel.apply(answer, crop: crop, originalSpatialShape: [shape[0], shape[1]], mode: spec.restore)
                back = DepthAxis.place(plane, k: slice!, depth: shape[2])
            } else {
                let layout = spec.depthFirst ? [shape[2], shape[0], shape[1]] : shape
                let t = try RestoreLabel.apply(answer, crop: crop, originalSpatialShape: layout, mode: spec.restore)
                back = spec.depthFirst ? DepthAxis.last(t) : t
            }
            return try PostProcessing.run(spec.afterRestore, back, affine: volume.geometry.affine)
        }
        let labels = try volume.replacing(tensor: restored)
        var json = ResultSummary.extremePointsAndBox(labels)
        if spec.spatialDims == 3 {
            json["crop"] = ResultSummary.json(box(crop, original: shape, depthFirst: spec.depthFirst)
                                              .map { [$0.lowerBound, $0.upperBound] })
        } else {
            json["slice"] = .number(Double(slice!))
        }
        return TaskResult(labels: labels, json: json, timings: timings)
    }

    /// The crop in the file's IJK, end exclusive, widened by a voxel for the resizes on the way
    /// back. A linear restore needs no more: past the crop's edge it blends toward the pasted
    /// zeros, so it stays under 0.5 there.
    static func box(_ crop: SpatialCropGuidance.Record, original shape: [Int], depthFirst: Bool) -> [Range<Int>] {
        let current = crop.originalShape
        let order = depthFirst ? [1, 2, 0] : [0, 1, 2]   // file axis → working axis
        return (0..<3).map { a in
            let w = order[a]
            let factor = Double(shape[a]) / Double(current[w])
            let lo = Int((Double(max(crop.start[w], 0)) * factor).rounded(.down)) - 1
            let hi = Int((Double(min(crop.end[w], current[w])) * factor).rounded(.up)) + 1
            return max(lo, 0)..<min(hi, shape[a])
        }
    }
}
