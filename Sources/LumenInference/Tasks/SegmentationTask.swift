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
        let spatial = image.spatialShape
        let roi: [Int]
        if bundle.inferer.slidingWindow && !bundle.inferer.roi.isEmpty {
            roi = bundle.inferer.roi
        } else {
            // Whole volume: one window, padded up to what the network's strides need.
            roi = zip(spatial, network.sizeMultiple).map { ($0 + $1 - 1) / $1 * $1 }
        }
        try checkMemory(bundle, grid: spatial, roi: roi, maxVoxels: maxVoxels)
        let logits: Tensor = try timings.measure("infer") {
            let x = Tensor(shape: [1] + image.tensor.shape, data: image.tensor.data)
            let inferer = SlidingWindowInferer(roiSize: roi, overlap: bundle.inferer.overlap,
                                               mode: bundle.inferer.gaussian ? .gaussian : .constant)
            return try inferer(x) { try network.forward($0) }
        }
        let prediction: Tensor = try timings.measure("post") {
            try PostProcessing.run(bundle.post, Tensor(shape: Array(logits.shape.dropFirst()), data: logits.data),
                                   affine: image.affine)
        }
        let discrete = PostProcessing.isDiscrete(bundle.post)
        let restored: Tensor = timings.measure("invert") {
            SpatialRecord.invert(prediction, records: records, nearest: discrete)
        }
        return (try volume.replacing(tensor: restored), timings)
    }

    /// Refuses, before anything is allocated, a working grid whose buffers would
    /// outgrow the request bound of docs/security.md. The sliding window pads
    /// every axis up to the window, so a grid 12 × 11 × 40000 (a 10 m slice
    /// thickness resampled to 2.5 mm) costs 96 × 96 × 40000 voxels per channel.
    static func checkMemory(_ bundle: ModelBundle, grid: [Int], roi: [Int], maxVoxels: Int) throws {
        var padded = 1
        for (g, r) in zip(grid, roi) {
            let (product, overflow) = padded.multipliedReportingOverflow(by: max(g, r))
            padded = overflow ? .max : product
        }
        guard padded <= maxVoxels else {
            throw InferenceError.badInput("\(bundle.name): the working grid \(grid.map(String.init).joined(separator: " × ")) padded to the model's \(roi.map(String.init).joined(separator: " × ")) window holds \(padded) voxels, over the server's max_voxels of \(maxVoxels); check the image's voxel size (pixdim / sform) or crop it")
        }
        // One window's activations: bounded by the window for sliding-window
        // models, by the whole grid for the others, so those are held to the same
        // 16 maps of max_voxels that docs/security.md budgets.
        let activations = try bundle.network.peakBytes(inputShape: [1, bundle.network.inChannels] + roi)
        let sliding = bundle.inferer.slidingWindow && !bundle.inferer.roi.isEmpty
        guard sliding || activations <= 16 * 4 * maxVoxels else {
            throw InferenceError.badInput("\(bundle.name): a whole-volume pass over \(roi.map(String.init).joined(separator: " × ")) needs \(activations >> 20) MiB of activations, over the request bound for max_voxels \(maxVoxels); crop the image or give the model a sliding window (inference.roi)")
        }
    }
}

extension Tensor {
    func reshaped(_ shape: [Int]) -> Tensor { Tensor(shape: shape, data: data) }
}
