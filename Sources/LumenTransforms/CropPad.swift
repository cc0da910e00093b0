import LumenTensor

/// One crop or pad (or both at once, as CropForeground does when its box leaves
/// the image): output index n along axis d reads input index n + offset[d];
/// positions outside the input take the pad value. Every crop and pad is this
/// one window, so one record type and one inverse serve them all.
public struct BoxRecord: Sendable, Equatable {
    public var inputShape: [Int]
    public var outputShape: [Int]
    public var offset: [Int]

    public init(inputShape: [Int], outputShape: [Int], offset: [Int]) {
        self.inputShape = inputShape; self.outputShape = outputShape; self.offset = offset
    }

    /// The inverse window: back onto the input grid, zeros where the crop cut (MONAI's inverse crop pads with 0).
    public var inverse: BoxRecord { BoxRecord(inputShape: outputShape, outputShape: inputShape, offset: offset.map { -$0 }) }

    /// Applies the window to a channel-first tensor (any channel count).
    public func apply(_ x: Tensor, value: Float = 0) -> Tensor {
        Self.window(x, offset: offset, outShape: outputShape, value: value)
    }

    /// The affine of the window's grid: voxel n of the output is voxel n + offset of the input.
    public func affine(_ a: [[Double]]) -> [[Double]] {
        Matrix.multiply(a, Matrix.axisMap(scale: offset.map { _ in 1 }, shift: offset.map(Double.init)))
    }

    static func window(_ x: Tensor, offset: [Int], outShape: [Int], value: Float) -> Tensor {
        let c = x.shape[0], r = x.rank - 1
        let lift = 3 - r
        let s = [Int](repeating: 1, count: lift) + Array(x.shape.dropFirst())
        let o = [Int](repeating: 1, count: lift) + outShape
        let off = [Int](repeating: 0, count: lift) + offset
        var out = Tensor(uninitialized: [c] + outShape)
        let inCount = s.reduce(1, *), rows = c * o[0] * o[1]
        // The k range that lands inside the input, the same for every row.
        let kLo = min(max(-off[2], 0), o[2]), kHi = max(min(s[2] - off[2], o[2]), kLo)
        x.data.withUnsafeBufferPointer { xb in
            out.data.withUnsafeMutableBufferPointer { ob in
                let src = xb.baseAddress!, dst = ob.baseAddress!
                ComputePool.shared.parallelRanges(rows, minimum: 64) { range in
                    for row in range {
                        let ch = row / (o[0] * o[1]), i = (row / o[1]) % o[0] + off[0], j = row % o[1] + off[1]
                        let d = dst + row * o[2]
                        guard i >= 0, i < s[0], j >= 0, j < s[1] else {
                            d.update(repeating: value, count: o[2])
                            continue
                        }
                        if kLo > 0 { d.update(repeating: value, count: kLo) }
                        if kHi < o[2] { (d + kHi).update(repeating: value, count: o[2] - kHi) }
                        if kHi > kLo {
                            (d + kLo).update(from: src + ch * inCount + (i * s[1] + j) * s[2] + kLo + off[2], count: kHi - kLo)
                        }
                    }
                }
            }
        }
        return out
    }
}

extension ImageData {
    func window(_ box: BoxRecord, value: Float = 0) -> ImageData {
        ImageData(tensor: box.apply(tensor, value: value), affine: box.affine(affine))
    }
}

/// Non-positive sizes mean "keep the image's size", as MONAI's fall_back_tuple.
func fallBack(_ size: [Int], _ shape: [Int]) -> [Int] {
    shape.indices.map { d in
        let v = d < size.count ? size[d] : (size.last ?? shape[d])
        return v > 0 ? v : shape[d]
    }
}

/// MONAI `SpatialPadd`: pads up to at least `spatialSize` (symmetric: the odd
/// voxel goes to the end; end: all at the end), constant `value`.
public struct SpatialPad: Sendable {
    public enum Method: String, Sendable { case symmetric, end }
    public var spatialSize: [Int]
    public var method: Method
    public var value: Float

    public init(spatialSize: [Int], method: Method = .symmetric, value: Float = 0) {
        self.spatialSize = spatialSize; self.method = method; self.value = value
    }

    public func box(for shape: [Int]) -> BoxRecord {
        let size = fallBack(spatialSize, shape)
        let low = shape.indices.map { d -> Int in
            let width = max(size[d] - shape[d], 0)
            return method == .symmetric ? width / 2 : 0
        }
        return BoxRecord(inputShape: shape, outputShape: shape.indices.map { max(size[$0], shape[$0]) }, offset: low.map { -$0 })
    }

    public func callAsFunction(_ image: ImageData) -> (ImageData, BoxRecord) {
        let b = box(for: image.spatialShape)
        return (image.window(b, value: value), b)
    }
}

/// MONAI `SpatialCropd`: by start/end (clipped to the image) or centre/size.
public struct SpatialCrop: Sendable {
    public var roiStart: [Int], roiEnd: [Int]

    public init(roiStart: [Int], roiEnd: [Int]) { self.roiStart = roiStart; self.roiEnd = roiEnd }

    /// MONAI's centre form: start = max(centre − ⌊size/2⌋, 0), end = start + size.
    public init(roiCenter: [Int], roiSize: [Int]) {
        let start = zip(roiCenter, roiSize).map { max($0 - $1 / 2, 0) }
        self.init(roiStart: start, roiEnd: zip(start, roiSize).map { max($0 + $1, $0) })
    }

    public func box(for shape: [Int]) -> BoxRecord {
        let start = shape.indices.map { d in min(max(d < roiStart.count ? roiStart[d] : 0, 0), shape[d]) }
        let end = shape.indices.map { d in min(max(d < roiEnd.count ? roiEnd[d] : shape[d], start[d]), shape[d]) }
        return BoxRecord(inputShape: shape, outputShape: zip(start, end).map { $1 - $0 }, offset: start)
    }

    public func callAsFunction(_ image: ImageData) throws -> (ImageData, BoxRecord) {
        let b = box(for: image.spatialShape)
        guard b.outputShape.allSatisfy({ $0 > 0 }) else {
            throw TransformError.badInput(transform: "SpatialCropd",
                detail: "the box [\(roiStart), \(roiEnd)) does not overlap the image \(image.spatialShape)")
        }
        return (image.window(b), b)
    }
}

/// MONAI `CenterSpatialCropd`: the centred `roiSize` window (centre = ⌊shape/2⌋).
public struct CenterSpatialCrop: Sendable {
    public var roiSize: [Int]

    public init(roiSize: [Int]) { self.roiSize = roiSize }

    public func box(for shape: [Int]) -> BoxRecord {
        let size = fallBack(roiSize, shape)
        return SpatialCrop(roiCenter: shape.map { $0 / 2 }, roiSize: size).box(for: shape)
    }

    public func callAsFunction(_ image: ImageData) -> (ImageData, BoxRecord) {
        let b = box(for: image.spatialShape)
        return (image.window(b), b)
    }
}

/// MONAI `CropForegroundd` (select_fn x > 0 over the chosen channels): the
/// foreground's bounding box plus `margin`; without `allowSmaller` the box may
/// leave the image and the outside is padded with `value`.
public struct CropForeground: Sendable {
    public var margin: [Int]
    public var allowSmaller: Bool
    public var kDivisible: [Int]
    public var channelIndices: [Int]?
    public var threshold: Float
    public var value: Float

    public init(margin: [Int] = [0], allowSmaller: Bool = false, kDivisible: [Int] = [1], channelIndices: [Int]? = nil,
                threshold: Float = 0, value: Float = 0) {
        self.margin = margin; self.allowSmaller = allowSmaller; self.kDivisible = kDivisible
        self.channelIndices = channelIndices; self.threshold = threshold; self.value = value
    }

    /// [first, last] of voxels above `threshold` per axis, or nil when there are none.
    static func foregroundExtent(_ x: Tensor, channels: [Int], threshold: Float) -> [(Int, Int)]? {
        let r = x.rank - 1
        let s = [Int](repeating: 1, count: 3 - r) + Array(x.shape.dropFirst())
        let n = s.reduce(1, *)
        var lo = [Int.max, Int.max, Int.max], hi = [-1, -1, -1]
        x.data.withUnsafeBufferPointer { p in
            for ch in channels {
                let base = p.baseAddress! + ch * n
                for i in 0..<s[0] { for j in 0..<s[1] {
                    let row = base + (i * s[1] + j) * s[2]
                    var first = -1, last = -1
                    for k in 0..<s[2] where row[k] > threshold { if first < 0 { first = k }; last = k }
                    if first >= 0 {
                        lo[0] = min(lo[0], i); hi[0] = max(hi[0], i); lo[1] = min(lo[1], j); hi[1] = max(hi[1], j)
                        lo[2] = min(lo[2], first); hi[2] = max(hi[2], last)
                    }
                } }
            }
        }
        if hi[0] < 0 { return nil }
        return (3 - r..<3).map { (lo[$0], hi[$0]) }
    }

    public func box(for x: Tensor) throws -> BoxRecord {
        let shape = Array(x.shape.dropFirst())
        let channels = channelIndices ?? Array(0..<x.shape[0])
        guard channels.allSatisfy({ $0 >= 0 && $0 < x.shape[0] }) else {
            throw TransformError.badArgument(transform: "CropForegroundd", argument: "channel_indices",
                                             detail: "\(channels) is out of range for \(x.shape[0]) channel(s)")
        }
        guard let extent = Self.foregroundExtent(x, channels: channels, threshold: threshold) else {
            throw TransformError.badInput(transform: "CropForegroundd", detail: "the image has no foreground (no voxel > \(threshold)) to crop to")
        }
        var start: [Int] = [], end: [Int] = []
        for d in shape.indices {
            let m = d < margin.count ? margin[d] : (margin.last ?? 0)
            var a = extent[d].0 - m, b = extent[d].1 + m + 1
            if allowSmaller { a = max(a, 0); b = min(b, shape[d]) }
            // k_divisible grows the box around its centre.
            let k = d < kDivisible.count ? kDivisible[d] : (kDivisible.last ?? 1)
            let size = b - a, grown = k > 0 ? (size + k - 1) / k * k : size
            a -= (grown - size) / 2
            b = a + grown
            start.append(a); end.append(b)
        }
        return BoxRecord(inputShape: shape, outputShape: zip(start, end).map { $1 - $0 }, offset: start)
    }

    public func callAsFunction(_ image: ImageData) throws -> (ImageData, BoxRecord) {
        let b = try box(for: image.tensor)
        return (image.window(b, value: value), b)
    }
}
