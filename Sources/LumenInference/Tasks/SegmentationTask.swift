import Foundation
import LumenIO
import LumenNN
import LumenTensor
import LumenTransforms

/// Milliseconds per stage, in order; every reply and log line carries them.
public struct StageTimings: Sendable, CustomStringConvertible {
    public private(set) var stages: [(name: String, ms: Double)] = []

    public init() {}

    public mutating func measure<T>(_ name: String, _ body: () throws -> T) rethrows -> T {
        let start = DispatchTime.now().uptimeNanoseconds
        defer { stages.append((name, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)) }
        return try body()
    }

    public var totalMs: Double { stages.map(\.ms).reduce(0, +) }
    public var description: String {
        (stages.map { String(format: "%@ %.0f ms", $0.name, $0.ms) } + [String(format: "total %.0f ms", totalMs)]).joined(separator: ", ")
    }
}

/// Segmentation as pre → infer → post → invert: the result is a label map on
/// the input's own grid (same dimensions and affine), whatever the model's
/// working orientation and spacing.
public enum SegmentationTask {
    public static func run(_ bundle: ModelBundle, on volume: Volume,
                           maxVoxels: Int = Volume.defaultMaxVoxels) throws -> (labels: Volume, timings: StageTimings) {
        var timings = StageTimings()
        let prepared: TransformState = try timings.measure("pre") {
            var state = TransformState(image: ImageData(tensor: volume.tensor, affine: volume.geometry.affine))
            // The working grid may be as large as an accepted input; the memory
            // bound (docs/security.md) counts the network's channels on top.
            state.maxVoxels = maxVoxels
            for step in bundle.pre {
                do { try step.apply(&state) } catch let error as TransformError {
                    throw InferenceError.badInput("\(bundle.name): \(error)")
                }
            }
            return state
        }
        let records = prepared.records
        let image = prepared.image
        let network = bundle.network
        guard image.channels == network.inChannels else {
            throw InferenceError.badInput("\(bundle.name) expects \(network.inChannels)-channel images, got \(image.channels) channel(s)")
        }
        let logits: Tensor = try timings.measure("infer") {
            let x = Tensor(shape: [1] + image.tensor.shape, data: image.tensor.data)
            let spatial = image.spatialShape
            let roi: [Int]
            if bundle.inferer.slidingWindow && !bundle.inferer.roi.isEmpty {
                roi = bundle.inferer.roi
            } else {
                // Whole volume: one window, padded up to what the network's strides need.
                roi = zip(spatial, network.sizeMultiple).map { ($0 + $1 - 1) / $1 * $1 }
            }
            let inferer = SlidingWindowInferer(roiSize: roi, overlap: bundle.inferer.overlap,
                                               mode: bundle.inferer.gaussian ? .gaussian : .constant)
            return try inferer(x) { try network.forward($0) }
        }
        var discrete = false
        let prediction: Tensor = try timings.measure("post") {
            var t = Tensor(shape: Array(logits.shape.dropFirst()), data: logits.data)
            for step in bundle.post {
                switch step {
                case .softmax: t = Ops.softmaxChannels(Tensor(shape: [1] + t.shape, data: t.data)).reshaped(t.shape)
                case .sigmoid: t = Ops.sigmoid(t)
                case .argmax: t = argmax(t); discrete = true
                case .threshold(let v): t.data = t.data.map { $0 >= v ? 1 : 0 }; discrete = true
                case .labels(let transform):
                    // The model grid's affine, so sizes in mm (RemoveSmallObjectsd by_measure) are the image's.
                    var state = TransformState(image: ImageData(tensor: t, affine: image.affine))
                    try transform.apply(&state)
                    t = state.image.tensor
                }
            }
            return t
        }
        let restored: Tensor = timings.measure("invert") {
            SpatialRecord.invert(prediction, records: records, nearest: discrete)
        }
        return (try volume.replacing(tensor: restored), timings)
    }

    /// Channel index of the largest value, as a one-channel float map (MONAI AsDiscrete(argmax)).
    static func argmax(_ t: Tensor) -> Tensor {
        let c = t.shape[0], n = t.count / c
        var out = Tensor(zeros: [1] + Array(t.shape.dropFirst()))
        for i in 0..<n {
            var best = t.data[i], index = 0
            for ch in 1..<max(c, 1) where t.data[ch * n + i] > best { best = t.data[ch * n + i]; index = ch }
            out.data[i] = Float(index)
        }
        return out
    }
}

extension Tensor {
    func reshaped(_ shape: [Int]) -> Tensor { Tensor(shape: shape, data: data) }
}
