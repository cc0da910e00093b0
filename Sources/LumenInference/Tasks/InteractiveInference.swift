import LumenTensor
import LumenTransforms

/// The network call and post-processing shared by the click-driven tasks.
enum InteractiveInference {
    /// One window over the whole (already small) network input, padded up to
    /// what the network's strides need and cropped back.
    static func forward(_ bundle: ModelBundle, _ input: Tensor) throws -> Tensor {
        let network = bundle.network
        guard input.shape[0] == network.inChannels else {
            throw InferenceError.badInput("\(bundle.name) expects \(network.inChannels) input channels, the pipeline made \(input.shape[0])")
        }
        let spatial = Array(input.shape.dropFirst())
        let roi = zip(spatial, network.sizeMultiple).map { ($0 + $1 - 1) / $1 * $1 }
        let x = Tensor(shape: [1] + input.shape, data: input.data)
        let y = try SlidingWindowInferer(roiSize: roi, overlap: 0, mode: .constant)(x) { try network.forward($0) }
        return Tensor(shape: Array(y.shape.dropFirst()), data: y.data)
    }
}
