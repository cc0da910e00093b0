import Foundation
import LumenTensor

/// Gaussian blobs at click points, as MONAI's GaussianFilter (erf kernel,
/// truncated at 4σ, not normalised, zero padding) would blur an impulse image.
/// The filter is linear and separable, so the blurred impulses are summed
/// directly: 17³ products per click instead of a full-volume convolution.
enum PointBlur {
    /// MONAI gaussian_1d(σ, approx "erf") in float32: ½(erf(t(x+½)) − erf(t(x−½))), t = 0.70710678/σ.
    static func kernel(sigma: Double) -> [Float] {
        let tail = Int(max(sigma * 4, 0.5) + 0.5)
        let t = Float(0.70710678) / Float(abs(sigma))
        return (-tail...tail).map { x in max(0.5 * (erff(t * (Float(x) + 0.5)) - erff(t * (Float(x) - 0.5))), 0) }
    }

    /// Blurred impulses at `points` (voxel indices, already inside `shape`; duplicates count once).
    static func render(points: [[Int]], shape: [Int], sigma: Double) -> [Float] {
        let lift = 3 - shape.count
        let s = [Int](repeating: 1, count: lift) + shape
        var out = [Float](repeating: 0, count: s.reduce(1, *))
        let k = kernel(sigma: sigma), tail = k.count / 2
        let unit: [Float] = [1]
        for p in Set(points) {
            let q = [Int](repeating: 0, count: lift) + p
            // Lifted axes have no blur: their kernel is the single tap 1.
            let kernels = (0..<3).map { $0 < lift ? unit : k }
            let tails = (0..<3).map { $0 < lift ? 0 : tail }
            for a in -tails[0]...tails[0] where q[0] + a >= 0 && q[0] + a < s[0] {
                let ka = kernels[0][a + tails[0]]
                for b in -tails[1]...tails[1] where q[1] + b >= 0 && q[1] + b < s[1] {
                    let kab = ka * kernels[1][b + tails[1]]
                    let row = ((q[0] + a) * s[1] + q[1] + b) * s[2]
                    for c in -tails[2]...tails[2] where q[2] + c >= 0 && q[2] + c < s[2] {
                        out[row + q[2] + c] += kab * kernels[2][c + tails[2]]
                    }
                }
            }
        }
        return out
    }

    /// (s − min)/(max − min) · (hi − lo) + lo, in float32 as numpy/torch compute it.
    static func rescale(_ x: inout [Float], lo: Float? = nil, hi: Float? = nil) {
        guard let a = x.min(), let b = x.max() else { return }
        let width = b - a
        for i in x.indices {
            var v = (x[i] - a) / width
            if let lo, let hi { v = v * (hi - lo) + lo }
            x[i] = v
        }
    }
}

/// MONAI deepgrow `AddGuidanceSignald`: the image's first `numberIntensityChannels`
/// channels, then one channel per click list (positive, negative) holding the
/// min–max normalised gaussian blobs at its clicks. A list without clicks gives
/// an all-zero channel (MONAI skips the blur and the normalisation then).
public struct AddGuidanceSignal: Sendable {
    public var sigma: Double
    public var numberIntensityChannels: Int

    public init(sigma: Double = 2, numberIntensityChannels: Int = 1) {
        self.sigma = sigma; self.numberIntensityChannels = numberIntensityChannels
    }

    public func callAsFunction(_ image: Tensor, guidance: Guidance) throws -> Tensor {
        let shape = Array(image.shape.dropFirst())
        guard shape.count == 2 || shape.count == 3 else {
            throw TransformError.badInput(transform: "AddGuidanceSignald", detail: "needs a channel-first 2-D or 3-D image, got shape \(image.shape)")
        }
        guard numberIntensityChannels >= 0, numberIntensityChannels <= image.shape[0] else {
            throw TransformError.badArgument(transform: "AddGuidanceSignald", argument: "number_intensity_ch",
                                             detail: "is \(numberIntensityChannels) but the image has \(image.shape[0]) channel(s)")
        }
        let n = shape.reduce(1, *)
        var data = Array(image.data[0..<(numberIntensityChannels * n)])
        for list in [guidance.positive, guidance.negative] {
            // As MONAI: skip clicks with a negative coordinate, clamp the rest into the image (last r coordinates).
            let points: [[Int]] = list.compactMap { p in
                guard !p.contains(where: { $0 < 0 }), p.count >= shape.count else { return nil }
                let tail = Array(p.suffix(shape.count))
                return shape.indices.map { min(max(tail[$0], 0), shape[$0] - 1) }
            }
            if points.isEmpty {
                data += [Float](repeating: 0, count: n)
                continue
            }
            var signal = PointBlur.render(points: points, shape: shape, sigma: sigma)
            PointBlur.rescale(&signal)
            data += signal
        }
        return Tensor(shape: [numberIntensityChannels + 2] + shape, data: data)
    }
}

/// The DExtr3D extreme-points channel (MONAI `extreme_points_to_image`): gaussian
/// blobs (σ in voxels) at the user's extreme points, rescaled to [rescaleMin, rescaleMax].
public struct ExtremePointsHeatmap: Sendable {
    public var sigma: Double
    public var rescaleMin: Float, rescaleMax: Float

    public init(sigma: Double = 3, rescaleMin: Float = -1, rescaleMax: Float = 1) {
        self.sigma = sigma; self.rescaleMin = rescaleMin; self.rescaleMax = rescaleMax
    }

    /// One channel `[1, spatial…]` for points given as voxel indices of `spatialShape`.
    public func callAsFunction(points: [[Int]], spatialShape: [Int]) throws -> Tensor {
        guard !points.isEmpty else {
            throw TransformError.badInput(transform: "AddExtremePointsChanneld", detail: "needs at least one extreme point")
        }
        for p in points where p.count != spatialShape.count || zip(p, spatialShape).contains(where: { $0 < 0 || $0 >= $1 }) {
            throw TransformError.badInput(transform: "AddExtremePointsChanneld", detail: "point \(p) lies outside the image \(spatialShape)")
        }
        var signal = PointBlur.render(points: points, shape: spatialShape, sigma: sigma)
        PointBlur.rescale(&signal, lo: rescaleMin, hi: rescaleMax)
        return Tensor(shape: [1] + spatialShape, data: signal)
    }
}

/// The DExtr3D crop: the extreme points' bounding box grown by `marginMM` on each
/// side (converted to voxels with the image's spacing, rounded up) and clipped
/// to the image, so the network sees the object with a fixed physical context.
public struct CropByPoints: Sendable {
    public var marginMM: Double

    public init(marginMM: Double = 20) { self.marginMM = marginMM }

    public func box(points: [[Int]], image: ImageData) throws -> BoxRecord {
        let shape = image.spatialShape
        guard !points.isEmpty, points.allSatisfy({ $0.count == shape.count }) else {
            throw TransformError.badInput(transform: "CropByPoints", detail: "needs points with \(shape.count) coordinates each")
        }
        let spacing = Matrix.spacing(image.affine)
        var start: [Int] = [], end: [Int] = []
        for d in shape.indices {
            let m = Int((marginMM / max(spacing[d], 1e-6)).rounded(.up))
            start.append(max((points.map { $0[d] }.min() ?? 0) - m, 0))
            end.append(min((points.map { $0[d] }.max() ?? 0) + m + 1, shape[d]))
        }
        guard zip(start, end).allSatisfy({ $0 < $1 }) else {
            throw TransformError.badInput(transform: "CropByPoints", detail: "points \(points) lie outside the image \(shape)")
        }
        return BoxRecord(inputShape: shape, outputShape: zip(start, end).map { $1 - $0 }, offset: start)
    }

    public func callAsFunction(_ image: ImageData, points: [[Int]]) throws -> (ImageData, BoxRecord) {
        let b = try box(points: points, image: image)
        return (image.window(b), b)
    }
}
