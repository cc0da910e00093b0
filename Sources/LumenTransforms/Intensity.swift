import LumenTensor

/// MONAI `ScaleIntensityRanged`: a linear window (e.g. CT Hounsfield units to [0, 1]).
/// Python computes the differences of the bounds in double before torch casts them to
/// float32; Lumen does the same so the factors are bit-identical.
public struct ScaleIntensityRange: Sendable {
    public var aMin: Double, aMax: Double, bMin: Double?, bMax: Double?, clip: Bool

    public init(aMin: Double, aMax: Double, bMin: Double?, bMax: Double?, clip: Bool = false) {
        self.aMin = aMin; self.aMax = aMax; self.bMin = bMin; self.bMax = bMax; self.clip = clip
    }

    public init(aMin: Float, aMax: Float, bMin: Float, bMax: Float, clip: Bool = false) {
        self.init(aMin: Double(aMin), aMax: Double(aMax), bMin: Double(bMin), bMax: Double(bMax), clip: clip)
    }

    public func callAsFunction(_ image: ImageData) -> ImageData {
        var out = image
        let a0 = Float(aMin)
        if aMax - aMin == 0 {
            let shift = Float(bMin ?? 0)
            out.tensor.data = image.tensor.data.map { $0 - a0 + shift }
            return out
        }
        let range = Float(aMax - aMin)
        let bLow = bMin.map(Float.init), bHigh = bMax.map(Float.init)
        let bRange = bMin.flatMap { lo in bMax.map { Float($0 - lo) } }
        out.tensor.data = image.tensor.data.map { v in
            var y = (v - a0) / range
            if let bRange, let bLow { y = y * bRange + bLow }
            if clip, let bLow, let bHigh { y = min(max(y, bLow), bHigh) }
            return y
        }
        return out
    }
}

/// MONAI `NormalizeIntensityd`: (x − subtrahend) / divisor, by default the mean
/// and population std of the selected voxels (only non-zero ones with `nonzero`,
/// which leaves the background at exactly zero), per channel with `channelWise`.
public struct NormalizeIntensity: Sendable {
    public var subtrahend: [Double]?
    public var divisor: [Double]?
    public var nonzero: Bool
    public var channelWise: Bool

    public init(subtrahend: [Double]? = nil, divisor: [Double]? = nil, nonzero: Bool = false, channelWise: Bool = false) {
        self.subtrahend = subtrahend; self.divisor = divisor; self.nonzero = nonzero; self.channelWise = channelWise
    }

    public func callAsFunction(_ image: ImageData) throws -> ImageData {
        var out = image
        let c = image.channels, n = image.tensor.count / max(c, 1)
        for list in [subtrahend, divisor].compactMap({ $0 }) where list.count != 1 && !(channelWise && list.count == c) {
            throw TransformError.badArgument(transform: "NormalizeIntensityd", argument: "subtrahend/divisor",
                detail: "has \(list.count) values; give one, or one per channel (\(c)) with channel_wise")
        }
        let groups: [Range<Int>] = channelWise ? (0..<c).map { ($0 * n)..<(($0 + 1) * n) } : [0..<image.tensor.count]
        out.tensor.data.withUnsafeMutableBufferPointer { data in
            for (g, range) in groups.enumerated() {
                var count = 0, sum = 0.0
                for i in range where !nonzero || data[i] != 0 { count += 1; sum += Double(data[i]) }
                if count == 0 { continue }
                let mean = sum / Double(count)
                let sub = subtrahend.map { $0.count == 1 ? $0[0] : $0[g] } ?? mean
                var div: Double
                if let divisor {
                    div = divisor.count == 1 ? divisor[0] : divisor[g]
                } else {
                    var squares = 0.0
                    for i in range where !nonzero || data[i] != 0 { let d = Double(data[i]) - mean; squares += d * d }
                    div = (squares / Double(count)).squareRoot()
                }
                if div == 0 { div = 1 }
                let s = Float(sub), d = Float(div)
                for i in range where !nonzero || data[i] != 0 { data[i] = (data[i] - s) / d }
            }
        }
        return out
    }
}

/// MONAI `ScaleIntensityd(minv, maxv)`: min–max rescale of the whole image (or
/// each channel with `channelWise`); a constant image becomes x·minv.
public struct ScaleIntensity: Sendable {
    public var minv: Double, maxv: Double, channelWise: Bool

    public init(minv: Double = 0, maxv: Double = 1, channelWise: Bool = false) {
        self.minv = minv; self.maxv = maxv; self.channelWise = channelWise
    }

    public func callAsFunction(_ image: ImageData) -> ImageData {
        var out = image
        let c = image.channels, n = image.tensor.count / max(c, 1)
        let groups: [Range<Int>] = channelWise ? (0..<c).map { ($0 * n)..<(($0 + 1) * n) } : [0..<image.tensor.count]
        let lo = Float(minv), span = Float(maxv - minv)
        out.tensor.data.withUnsafeMutableBufferPointer { data in
            for range in groups where !range.isEmpty {
                var a = data[range.lowerBound], b = a
                for i in range { a = min(a, data[i]); b = max(b, data[i]) }
                if a == b {
                    for i in range { data[i] *= lo }
                    continue
                }
                let width = b - a
                for i in range { data[i] = (data[i] - a) / width * span + lo }
            }
        }
        return out
    }
}
