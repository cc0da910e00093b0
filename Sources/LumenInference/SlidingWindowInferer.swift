import LumenTensor

public enum InferenceError: Error, Equatable, CustomStringConvertible {
    case badInput(String)
    case badPrediction(String)

    public var description: String {
        switch self {
        case .badInput(let s), .badPrediction(let s): return s
        }
    }
}

/// MONAI `SlidingWindowInferer` semantics: pad up to the ROI, cover the volume
/// with overlapping windows, blend predictions with a constant or gaussian
/// weight map, divide by the summed weights and crop the padding off.
public struct SlidingWindowInferer: Sendable {
    public enum Padding: String, Sendable { case constant, replicate }

    public var roiSize: [Int]
    public var overlap: Double
    public var mode: WindowMath.BlendMode
    public var sigmaScale: Double
    public var padding: Padding
    public var cval: Float

    public init(roiSize: [Int], overlap: Double = 0.25, mode: WindowMath.BlendMode = .constant, sigmaScale: Double = 0.125,
                padding: Padding = .constant, cval: Float = 0) {
        self.roiSize = roiSize
        self.overlap = overlap
        self.mode = mode
        self.sigmaScale = sigmaScale
        self.padding = padding
        self.cval = cval
    }

    public func callAsFunction(_ x: Tensor, predict: (Tensor) throws -> Tensor) throws -> Tensor {
        guard x.rank >= 4, overlap >= 0, overlap < 1 else {
            throw InferenceError.badInput("sliding window needs an N×C×spatial input and 0 ≤ overlap < 1, got \(x.shape), overlap \(overlap)")
        }
        let spatial = x.spatialShape
        let roi = WindowMath.roi(roiSize, image: spatial)
        let pads = WindowMath.padding(image: spatial, roi: roi)
        let size = zip(spatial, pads).map { $0 + $1.0 + $1.1 }
        let windows = WindowMath.windows(size: size, roi: roi, overlap: overlap)
        let weights = WindowMath.importanceMap(roi: roi, mode: mode, sigmaScale: sigmaScale)
        let n = x.shape[0], c = x.shape[1]
        var outputs: [Tensor] = []
        for b in 0..<n {
            let item = Tensor(shape: [1, c] + spatial, data: Array(x.data[(b * x.count / n)..<((b + 1) * x.count / n)]))
            let padded = Self.pad(item, pads: pads, replicate: padding == .replicate, cval: cval)
            var sum: [Float] = []
            var count = [Float](repeating: 0, count: size.reduce(1, *))
            var channels = 0
            for start in windows {
                let patch = Self.crop(padded, start: start, size: roi)
                let y = try predict(patch)
                if channels == 0 {
                    channels = y.shape.count > 1 ? y.shape[1] : 0
                    sum = [Float](repeating: 0, count: channels * count.count)
                }
                guard y.shape == [1, channels] + roi else {
                    throw InferenceError.badPrediction("the network returned \(y.shape) for a window of \([1, c] + roi); expected [1, \(channels)] + \(roi)")
                }
                Self.accumulate(y.data, weights: weights, start: start, roi: roi, size: size, channels: channels,
                                into: &sum, count: &count)
            }
            let volume = size.reduce(1, *)
            for ch in 0..<channels { for i in 0..<volume { sum[ch * volume + i] /= count[i] } }
            let blended = Tensor(shape: [1, channels] + size, data: sum)
            outputs.append(Self.crop(blended, start: pads.map(\.0), size: spatial))
        }
        if outputs.count == 1 { return outputs[0] }
        return Tensor(shape: [n] + Array(outputs[0].shape.dropFirst()), data: outputs.flatMap(\.data))
    }

    /// Row-major index helpers over any number of spatial dims.
    static func strides(_ shape: [Int]) -> [Int] {
        var s = [Int](repeating: 1, count: shape.count)
        for d in stride(from: shape.count - 2, through: 0, by: -1) { s[d] = s[d + 1] * shape[d + 1] }
        return s
    }

    static func crop(_ x: Tensor, start: [Int], size: [Int]) -> Tensor {
        let spatial = x.spatialShape, channels = x.shape[1]
        let inStrides = strides(spatial), outCount = size.reduce(1, *), outStrides = strides(size)
        var out = [Float](repeating: 0, count: channels * outCount)
        let last = size.count - 1
        for ch in 0..<channels {
            let base = ch * spatial.reduce(1, *)
            var i = 0
            while i < outCount {
                var offset = base
                for d in 0..<size.count { offset += ((i / outStrides[d]) % size[d] + start[d]) * inStrides[d] }
                for k in 0..<size[last] { out[ch * outCount + i + k] = x.data[offset + k] }
                i += size[last]
            }
        }
        return Tensor(shape: [1, channels] + size, data: out)
    }

    static func pad(_ x: Tensor, pads: [(Int, Int)], replicate: Bool, cval: Float) -> Tensor {
        if pads.allSatisfy({ $0 == (0, 0) }) { return x }
        let spatial = x.spatialShape, channels = x.shape[1]
        let size = zip(spatial, pads).map { $0 + $1.0 + $1.1 }
        let inStrides = strides(spatial), outStrides = strides(size), outCount = size.reduce(1, *)
        var out = [Float](repeating: cval, count: channels * outCount)
        for ch in 0..<channels {
            for i in 0..<outCount {
                var offset = ch * spatial.reduce(1, *)
                var inside = true
                for d in 0..<size.count {
                    var p = (i / outStrides[d]) % size[d] - pads[d].0
                    if p < 0 || p >= spatial[d] {
                        if !replicate { inside = false; break }
                        p = min(max(p, 0), spatial[d] - 1)
                    }
                    offset += p * inStrides[d]
                }
                if inside { out[ch * outCount + i] = x.data[offset] }
            }
        }
        return Tensor(shape: [1, channels] + size, data: out)
    }

    static func accumulate(_ y: [Float], weights: [Float], start: [Int], roi: [Int], size: [Int], channels: Int,
                           into sum: inout [Float], count: inout [Float]) {
        let roiCount = roi.reduce(1, *), volume = size.reduce(1, *)
        let roiStrides = strides(roi), sizeStrides = strides(size)
        for i in 0..<roiCount {
            var offset = 0
            for d in 0..<roi.count { offset += ((i / roiStrides[d]) % roi[d] + start[d]) * sizeStrides[d] }
            let w = weights[i]
            count[offset] += w
            for ch in 0..<channels { sum[ch * volume + offset] += y[ch * roiCount + i] * w }
        }
    }
}
