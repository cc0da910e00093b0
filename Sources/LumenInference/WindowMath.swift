import LumenTensor

/// MONAI's sliding-window arithmetic (1.1 and later), as small pure functions
/// so each rule can be checked on its own against MONAI's numbers.
public enum WindowMath {
    /// Non-positive or missing ROI entries take the image size.
    public static func roi(_ requested: [Int], image: [Int]) -> [Int] {
        image.indices.map { d in d < requested.count && requested[d] > 0 ? requested[d] : image[d] }
    }

    /// Padding (low, high) per dim where the image is smaller than the ROI.
    public static func padding(image: [Int], roi: [Int]) -> [(Int, Int)] {
        zip(image, roi).map { s, r in
            let diff = max(r - s, 0)
            return (diff / 2, diff - diff / 2)
        }
    }

    /// Window starts along one dim; the last window is shifted back to end at the border.
    public static func starts(size: Int, roi: Int, overlap: Double) -> [Int] {
        let interval = roi == size ? roi : max(Int(Double(roi) * (1 - overlap)), 1)
        var out: [Int] = []
        var i = 0
        while true {
            let start = i * interval
            out.append(start - max(start + roi - size, 0))
            if start + roi >= size { break }
            i += 1
        }
        return out
    }

    /// Every window, last dim fastest, as MONAI orders them.
    public static func windows(size: [Int], roi: [Int], overlap: Double) -> [[Int]] {
        var result: [[Int]] = [[]]
        for d in size.indices {
            let s = starts(size: size[d], roi: roi[d], overlap: overlap)
            result = result.flatMap { prefix in s.map { prefix + [$0] } }
        }
        return result
    }

    public enum BlendMode: String, Sendable { case constant, gaussian }

    /// The per-window weight map, float32 like MONAI's: a separable, unnormalised
    /// gaussian (σ = sigmaScale·roi), clamped below at max(min, 1e-3).
    public static func importanceMap(roi: [Int], mode: BlendMode, sigmaScale: Double = 0.125) -> [Float] {
        let count = roi.reduce(1, *)
        guard mode == .gaussian else { return [Float](repeating: 1, count: count) }
        let axes: [[Float]] = roi.map { r in
            let sigma = Float(sigmaScale * Double(r))
            return (0..<r).map { i in
                let x = Float(i) - Float(r - 1) / 2
                return expf(x * x / (-2 * sigma * sigma))
            }
        }
        var map = [Float](repeating: 1, count: count)
        var stride = count
        for (d, axis) in axes.enumerated() {
            stride /= roi[d]
            for i in 0..<count { map[i] *= axis[(i / stride) % roi[d]] }
        }
        let floor = max(map.min() ?? 0, 1e-3)
        return map.map { max($0, floor) }
    }
}

#if canImport(Glibc)
import Glibc
#endif
