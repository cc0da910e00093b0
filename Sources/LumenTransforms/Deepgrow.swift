import LumenTensor

/// Deepgrow clicks in the current array's voxel indices: positive (foreground)
/// and negative (background) points, and for 2-D deepgrow the slice they sit on.
public struct Guidance: Sendable, Equatable {
    public var positive: [[Int]]
    public var negative: [[Int]]
    public var slice: Int?

    public init(positive: [[Int]], negative: [[Int]], slice: Int? = nil) {
        self.positive = positive; self.negative = negative; self.slice = slice
    }

    func map(_ f: ([Int]) -> [Int]) -> Guidance {
        Guidance(positive: positive.map(f), negative: negative.map(f), slice: slice)
    }
}

/// MONAI deepgrow `AddGuidanceFromPointsd`. Clicks arrive in the file's voxel
/// order (H, W, D); with `depthFirst` the array is (D, H, W) by now, so each click
/// is rolled to (D, H, W). Then scaled by current shape / original shape (Spacing
/// changed H and W) and truncated toward zero, as numpy's astype(int) does.
public struct AddGuidanceFromPoints: Sendable {
    public var spatialDims: Int
    public var depthFirst: Bool
    public var axis: Int

    public init(spatialDims: Int = 3, depthFirst: Bool = true, axis: Int = 0) {
        self.spatialDims = spatialDims; self.depthFirst = depthFirst; self.axis = axis
    }

    /// `originalShape`: the file's spatial shape (H, W, D); `currentShape`: the array's shape now, without channel.
    /// `slice`: for 2-D, the slice to use (default: the lowest slice with a click).
    public func callAsFunction(foreground: [[Int]], background: [[Int]], originalShape: [Int], currentShape: [Int],
                               slice: Int? = nil) throws -> Guidance {
        let name = "AddGuidanceFromPointsd"
        guard spatialDims == 2 || spatialDims == 3 else {
            throw TransformError.badArgument(transform: name, argument: "spatial_dims", detail: "must be 2 or 3, got \(spatialDims)")
        }
        if depthFirst && axis != 0 {
            throw TransformError.badArgument(transform: name, argument: "axis", detail: "must be 0 when depth_first (the depth axis comes first)")
        }
        guard originalShape.count == currentShape.count, originalShape.allSatisfy({ $0 > 0 }) else {
            throw TransformError.badInput(transform: name, detail: "original shape \(originalShape) and current shape \(currentShape) must have the same length")
        }
        let roll: ([Int]) -> [Int] = { p in depthFirst && !p.isEmpty ? [p[p.count - 1]] + p.dropLast() : p }
        let original = roll(originalShape)
        let factor = zip(currentShape, original).map { Double($0) / Double($1) }
        let pos = foreground.map(roll), neg = background.map(roll)
        for p in pos + neg where p.count != factor.count {
            throw TransformError.badInput(transform: name, detail: "click \(p) needs \(factor.count) coordinates")
        }
        let scale: ([Int]) -> [Int] = { p in zip(p, factor).map { Int((Double($0) * $1).rounded(.towardZero)) } }
        if spatialDims == 3 { return Guidance(positive: pos.map(scale), negative: neg.map(scale)) }
        guard axis >= 0 && axis < factor.count else {
            throw TransformError.badArgument(transform: name, argument: "axis", detail: "must name one of \(factor.count) axes")
        }
        let slices = Set((pos + neg).map { $0[axis] }).sorted()
        guard let chosen = slice ?? slices.first else {
            throw TransformError.badInput(transform: name, detail: "2-D deepgrow needs at least one click")
        }
        guard slices.contains(chosen) else {
            throw TransformError.badInput(transform: name, detail: "no click lies on slice \(chosen); clicked slices: \(slices)")
        }
        // As MONAI: keep the clicks on that slice and drop their first coordinate.
        let onSlice: ([[Int]]) -> [[Int]] = { $0.filter { $0[axis] == chosen }.map { Array(scale($0).dropFirst()) } }
        return Guidance(positive: onSlice(pos), negative: onSlice(neg), slice: chosen)
    }
}

/// MONAI deepgrow `SpatialCropGuidanced`: crop around all clicks (± margin).
/// When that box is smaller than `spatialSize` in every dim, a `spatialSize`
/// window centred on the box is cut instead; in 3-D its depth centre is forced
/// to spatialSize[0]/2, where a 2-element size is completed, exactly as MONAI
/// does, from the array's *second* spatial dim.
public struct SpatialCropGuidance: Sendable {
    public var spatialSize: [Int]
    public var margin: Int

    public init(spatialSize: [Int], margin: Int = 20) { self.spatialSize = spatialSize; self.margin = margin }

    /// What RestoreLabel needs: the box as MONAI records it (its end may pass the image), the spatial shape before and after.
    public struct Record: Sendable, Equatable {
        public var start: [Int], end: [Int]
        public var originalShape: [Int], croppedShape: [Int]

        public var box: BoxRecord { BoxRecord(inputShape: originalShape, outputShape: croppedShape, offset: start) }
    }

    public func callAsFunction(_ image: ImageData, guidance: Guidance) throws -> (ImageData, Guidance, Record) {
        let name = "SpatialCropGuidanced"
        try image.validate(name)
        let shape = image.spatialShape, r = shape.count
        guard margin >= 0 else { throw TransformError.badArgument(transform: name, argument: "margin", detail: "must not be negative") }
        let points = guidance.positive + guidance.negative
        guard !points.isEmpty else { throw TransformError.badInput(transform: name, detail: "needs at least one click") }
        guard points.allSatisfy({ $0.count >= r }) else {
            throw TransformError.badInput(transform: name, detail: "clicks need \(r) coordinates for an image of shape \(shape)")
        }
        var boxStart: [Int] = [], boxEnd: [Int] = []
        for d in 0..<r {
            boxStart.append(max(points.map { $0[d] - margin }.min()!, 0))
            boxEnd.append(min(shape[d], points.map { $0[d] + margin + 1 }.max()!))
        }
        var size = Array(spatialSize.suffix(r))
        if size.count < r { size = Array(shape[1..<min(1 + r - size.count, r)]) + size }
        guard size.count == r else {
            throw TransformError.badArgument(transform: name, argument: "spatial_size", detail: "\(spatialSize) cannot be completed for shape \(shape)")
        }
        let boxSize = zip(boxStart, boxEnd).map { $1 - $0 }
        var start: [Int], end: [Int]
        if zip(boxSize, size).allSatisfy({ $0 < $1 }) {
            var center = zip(boxStart, boxEnd).map { ($0 + $1) / 2 }
            if r == 3 { center[0] = size[0] / 2 }
            start = zip(center, size).map { max($0 - $1 / 2, 0) }
            end = zip(start, size).map { max($0 + $1, $0) }
        } else {
            start = boxStart
            end = zip(boxStart, boxEnd).map { max($1, $0) }
        }
        let cropped = (0..<r).map { min(end[$0], shape[$0]) - min(start[$0], shape[$0]) }
        guard cropped.allSatisfy({ $0 > 0 }) else {
            throw TransformError.badInput(transform: name, detail: "the crop [\(start), \(end)) misses the image \(shape)")
        }
        let record = Record(start: start, end: end, originalShape: shape, croppedShape: cropped)
        let moved = guidance.map { p in zip(p, start).map { $0 - $1 } + p.dropFirst(r) }
        return (image.window(record.box), moved, record)
    }
}

/// MONAI deepgrow `ResizeGuidanced`: clicks follow a resize of the cropped image
/// (scaled by new/cropped shape, truncated).
public enum ResizeGuidance {
    public static func apply(_ guidance: Guidance, croppedShape: [Int], currentShape: [Int]) -> Guidance {
        let factor = zip(currentShape, croppedShape).map { Double($0) / Double($1) }
        return guidance.map { p in zip(p, factor).map { Int((Double($0) * $1).rounded(.towardZero)) } }
    }
}

/// MONAI deepgrow `RestoreLabeld`: a prediction on the network's grid back to
/// the array before cropping, then to the file's (rolled) spatial shape, both by
/// resizes in the config's mode (MONAI's default nearest; no affine involved).
public enum RestoreLabel {
    /// - `label`: `[C, spatial…]` on the resized crop.
    /// - `originalSpatialShape`: the file's shape, rolled like the array (e.g. (D, H, W)).
    /// - `slice`: for 2-D deepgrow, the slice the label belongs to; the result is then the
    ///   whole (D, H, W) volume with only that slice filled.
    public static func apply(_ label: Tensor, crop: SpatialCropGuidance.Record, originalSpatialShape: [Int],
                             slice: Int? = nil, mode: Resize.Mode = .nearest) throws -> Tensor {
        let r = label.rank - 1
        guard r == crop.croppedShape.count else {
            throw TransformError.badInput(transform: "RestoreLabeld", detail: "label shape \(label.shape) does not match the crop \(crop.croppedShape)")
        }
        var t = Resize.resize(label, to: crop.croppedShape, mode: mode)
        t = crop.box.inverse.apply(t)
        let target = Array(originalSpatialShape.suffix(r))
        // Zeros outside the pasted crop: only its neighbourhood is resized.
        let pasted = (0..<r).map { a in
            min(max(crop.start[a], 0), crop.originalShape[a])..<min(max(crop.start[a] + crop.croppedShape[a], 0), crop.originalShape[a])
        }
        t = Resize.resize(t, to: target, mode: mode, support: pasted)
        guard let slice else { return t }
        guard originalSpatialShape.count == r + 1, slice >= 0, slice < originalSpatialShape[0] else {
            throw TransformError.badInput(transform: "RestoreLabeld", detail: "slice \(slice) is outside the volume \(originalSpatialShape)")
        }
        let c = t.shape[0], n = t.count / max(c, 1)
        var volume = Tensor(zeros: [c] + originalSpatialShape)
        for ch in 0..<c {
            let base = ch * originalSpatialShape[0] * n + slice * n
            volume.data.replaceSubrange(base..<(base + n), with: t.data[(ch * n)..<((ch + 1) * n)])
        }
        return volume
    }
}
