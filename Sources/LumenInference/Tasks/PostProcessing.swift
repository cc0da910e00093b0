import LumenTensor
import LumenTransforms

/// The one post-processing path of every task: the bundle's post steps, run through the transform
/// registry on the prediction with the model grid's affine, so that sizes in millimetres
/// (`RemoveSmallObjectsd` with `by_measure`) are the image's, not voxel counts.
enum PostProcessing {
    /// Runs `steps` on a `[C, spatial…]` prediction whose voxel-to-world affine is `affine`.
    static func run(_ steps: [PostStep], _ prediction: Tensor, affine: [[Double]]) throws -> Tensor {
        guard !steps.isEmpty else { return prediction }
        var state = TransformState(image: ImageData(tensor: prediction, affine: affine))
        for step in steps { try step.apply(&state) }
        return state.image.tensor
    }

    /// Whether the steps end in a label map (inverted with nearest neighbour) rather than in
    /// probabilities (inverted linearly).
    static func isDiscrete(_ steps: [PostStep]) -> Bool {
        steps.contains { if case .asDiscrete = $0 { true } else { false } }
    }

    /// The steps before the first discretisation (activations), and the rest: DExtr3D resizes
    /// probabilities between the two, for smoother edges than a resized mask.
    static func split(_ steps: [PostStep]) -> (activations: [PostStep], discrete: [PostStep]) {
        let cut = steps.firstIndex { if case .asDiscrete = $0 { true } else { false } } ?? steps.count
        return (Array(steps[..<cut]), Array(steps[cut...]))
    }
}
