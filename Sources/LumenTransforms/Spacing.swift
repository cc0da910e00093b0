import LumenTensor

/// MONAI `Spacingd`: resample to voxel size `pixdim` (mm), keeping the axes'
/// directions and the minimal corner's world position. Invertible.
public struct Spacing: Sendable {
    public var pixdim: [Double]
    public var mode: Resample.Mode

    public init(pixdim: [Double], mode: Resample.Mode = .linear) {
        self.pixdim = pixdim
        self.mode = mode
    }

    public struct Record: Sendable {
        public var inputShape: [Int]
        public var inputAffine: [[Double]]
        public var outputAffine: [[Double]]
        public var unchanged: Bool
        /// The forward interpolation, which Invertd reuses unless told to use nearest.
        public var mode: Resample.Mode = .linear
    }

    /// The output grid (affine and shape) for an input grid, as MONAI's
    /// zoom_affine + compute_shape_offset compute it.
    ///
    /// An upload's header decides the input affine, so the output size is
    /// computed in floating point and refused before anything is allocated when
    /// it is not a whole number of voxels within `maxVoxels`.
    public func grid(affine a: [[Double]], shape: [Int], maxVoxels: Int = Int.max) throws -> ([[Double]], [Int]) {
        let r = shape.count
        let rzs = Matrix.linear(a)
        let d0 = Matrix.spacing(a)
        let wanted = pixdim.isEmpty ? d0 : (0..<r).map { $0 < pixdim.count ? pixdim[$0] : pixdim.last! }
        var d = (0..<r).map { k in abs(d0[k] - wanted[k]) <= 1e-3 ? d0[k] : wanted[k] }
        for k in 0..<r where d[k] <= 0 { d[k] = d0[k] }   // MONAI falls back to the input spacing
        let zs = Matrix.choleskyUpper(Matrix.multiply(Matrix.transpose(rzs), rzs))
        let rotation = Matrix.multiply(rzs, Matrix.inverse(zs))
        var scale = [[Double]](repeating: [Double](repeating: 0, count: r), count: r)
        for i in 0..<r { scale[i][i] = (zs[i][i] > 0 ? 1.0 : zs[i][i] < 0 ? -1.0 : 0) * abs(d[i]) }
        let linear = Matrix.multiply(rotation, scale)
        var b = Matrix.identity(r + 1)
        for i in 0..<r { for j in 0..<r { b[i][j] = linear[i][j] } }
        // Corners of the input grid, in output voxel units (MONAI's all_dist) and in world mm.
        let toOut = Matrix.multiply(Matrix.inverse(b), a)
        var corners: [[Double]] = [[]]
        for dim in 0..<r { corners = corners.flatMap { c in [0.0, Double(shape[dim] - 1)].map { c + [$0] } } }
        corners = corners.map { $0 + [1] }
        let mapped = corners.map { Matrix.apply(toOut, $0) }
        let sizes = (0..<r).map { dim -> Double in
            let values = mapped.map { $0[dim] }
            return ((values.max()! - values.min()!) + 1).rounded(.toNearestOrEven)
        }
        let outShape = try Self.checkedShape(sizes, input: shape, maxVoxels: maxVoxels)
        // The corner that is smallest in every output direction keeps its world position.
        var offset: [Double]?
        for c in mapped.indices {
            let smallest = (0..<r).allSatisfy { dim in mapped.allSatisfy { $0[dim] - mapped[c][dim] >= -1e-8 } }
            if smallest {
                offset = Array(Matrix.apply(a, corners[c]).prefix(r))
                break
            }
        }
        if offset == nil {
            let inCenter = Matrix.apply(a, shape.map { Double($0) / 2 } + [1])
            let outHalf = Matrix.apply(b, outShape.map { Double($0) / 2 } + [0])
            offset = (0..<r).map { inCenter[$0] - outHalf[$0] }
        }
        for i in 0..<r { b[i][r] = offset![i] }
        return (b, outShape)
    }

    /// Expects a 2-D or 3-D channel-first image with a matching affine (`Transform.apply` checks that first).
    public func callAsFunction(_ image: ImageData, maxVoxels: Int = Int.max) throws -> (ImageData, Record) {
        let r = image.spatialRank
        let (b, outShape) = try grid(affine: image.affine, shape: image.spatialShape, maxVoxels: max(maxVoxels / max(image.channels, 1), 1))
        let transform = Matrix.multiply(Matrix.inverse(image.affine), b)
        let near = { (m: [[Double]], n: [[Double]]) in (0...r).allSatisfy { i in (0...r).allSatisfy { j in abs(m[i][j] - n[i][j]) <= 1e-3 } } }
        let same = outShape == image.spatialShape && (near(b, image.affine) || near(transform, Matrix.identity(r + 1)))
        let record = Record(inputShape: image.spatialShape, inputAffine: image.affine, outputAffine: same ? image.affine : b, unchanged: same,
                            mode: mode)
        if same { return (image, record) }
        return (ImageData(tensor: Resample.apply(image.tensor, transform: transform, outShape: outShape, mode: mode), affine: b), record)
    }

    /// Puts an output-grid tensor (a prediction, any channel count) back onto the input grid.
    public static func invert(_ tensor: Tensor, _ record: Record, mode: Resample.Mode) -> Tensor {
        if record.unchanged { return tensor }
        let transform = Matrix.multiply(Matrix.inverse(record.outputAffine), record.inputAffine)
        return Resample.apply(tensor, transform: transform, outShape: record.inputShape, mode: mode)
    }

    /// Whole, positive sizes whose product fits `maxVoxels`; anything else is
    /// an input whose spacing makes the working grid impossible to hold.
    static func checkedShape(_ sizes: [Double], input: [Int], maxVoxels: Int) throws -> [Int] {
        var total = 1.0
        for s in sizes { total *= s }
        guard sizes.allSatisfy({ $0.isFinite && $0 >= 1 }), total <= Double(maxVoxels),
              case let shape = sizes.compactMap({ Int(exactly: $0) }), shape.count == sizes.count else {
            let shown = sizes.map { $0.isFinite && abs($0) < 1e15 ? String(Int($0)) : String($0) }.joined(separator: " × ")
            throw TransformError.badInput(transform: "Spacingd",
                detail: "resampling the \(input.map(String.init).joined(separator: " × ")) input to the model's spacing gives a \(shown) grid, over the limit of \(maxVoxels) voxels; check the image's voxel size (pixdim / sform) or crop it")
        }
        return shape
    }
}
