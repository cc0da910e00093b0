import LumenTensor

/// Resampling of a channel-first volume onto another voxel grid, in Double like
/// MONAI (dtype float64), with border padding: coordinates are clamped to the
/// source volume. Runs on Lumen's compute threads.
public enum Resample {
    public enum Mode: String, Sendable { case linear, nearest }

    /// Output voxel j of `outShape` samples the source at `transform · [j, 1]`.
    public static func apply(_ x: Tensor, transform m: [[Double]], outShape: [Int], mode: Mode,
                             pool: ComputePool = .shared) -> Tensor {
        let c = x.shape[0], s = Array(x.shape.dropFirst())
        let outCount = outShape.reduce(1, *), inCount = s.reduce(1, *)
        var out = Tensor(uninitialized: [c] + outShape)
        var diagonal = true
        for r in 0..<3 { for col in 0..<3 where r != col && abs(m[r][col]) >= 1e-12 { diagonal = false } }
        // Per-axis sample positions when the mapping is separable (the usual case after Orientation).
        var axisCoords: [[Double]] = []
        if diagonal {
            for d in 0..<3 {
                let scale = m[d][d], shift = m[d][3], top = Double(s[d] - 1)
                axisCoords.append((0..<outShape[d]).map { (n: Int) -> Double in min(max(scale * Double(n) + shift, 0), top) })
            }
        }
        x.data.withUnsafeBufferPointer { xb in
        out.data.withUnsafeMutableBufferPointer { ob in
            let src = xb.baseAddress!, dst = ob.baseAddress!
            let s0 = s[0], s1 = s[1], s2 = s[2], o1 = outShape[1], o2 = outShape[2]
            pool.parallelFor(outShape[0]) { i in
                for j in 0..<o1 { for k in 0..<o2 {
                    // Source coordinates, clamped to the volume (border padding); scalars, no per-voxel arrays.
                    var p0: Double, p1: Double, p2: Double
                    if diagonal {
                        p0 = axisCoords[0][i]; p1 = axisCoords[1][j]; p2 = axisCoords[2][k]
                    } else {
                        let di = Double(i), dj = Double(j), dk = Double(k)
                        p0 = min(max(m[0][0] * di + m[0][1] * dj + m[0][2] * dk + m[0][3], 0), Double(s0 - 1))
                        p1 = min(max(m[1][0] * di + m[1][1] * dj + m[1][2] * dk + m[1][3], 0), Double(s1 - 1))
                        p2 = min(max(m[2][0] * di + m[2][1] * dj + m[2][2] * dk + m[2][3], 0), Double(s2 - 1))
                    }
                    let o = (i * o1 + j) * o2 + k
                    switch mode {
                    case .nearest:
                        let index = (Int(p0.rounded(.toNearestOrEven)) * s1 + Int(p1.rounded(.toNearestOrEven))) * s2
                            + Int(p2.rounded(.toNearestOrEven))
                        for ch in 0..<c { dst[ch * outCount + o] = src[ch * inCount + index] }
                    case .linear:
                        let a0 = Int(p0), b0 = Int(p1), c0 = Int(p2)
                        let a1 = min(a0 + 1, s0 - 1), b1 = min(b0 + 1, s1 - 1), c1 = min(c0 + 1, s2 - 1)
                        let fa = p0 - Double(a0), fb = p1 - Double(b0), fc = p2 - Double(c0)
                        let r00 = (a0 * s1 + b0) * s2, r01 = (a0 * s1 + b1) * s2, r10 = (a1 * s1 + b0) * s2, r11 = (a1 * s1 + b1) * s2
                        for ch in 0..<c {
                            let base = src + ch * inCount
                            let v00 = Double(base[r00 + c0]) * (1 - fc) + Double(base[r00 + c1]) * fc
                            let v01 = Double(base[r01 + c0]) * (1 - fc) + Double(base[r01 + c1]) * fc
                            let v10 = Double(base[r10 + c0]) * (1 - fc) + Double(base[r10 + c1]) * fc
                            let v11 = Double(base[r11 + c0]) * (1 - fc) + Double(base[r11 + c1]) * fc
                            let v0 = v00 * (1 - fb) + v01 * fb, v1 = v10 * (1 - fb) + v11 * fb
                            dst[ch * outCount + o] = Float(v0 * (1 - fa) + v1 * fa)
                        }
                    }
                } }
            }
        }}
        return out
    }
}

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
    }

    /// The output grid (affine and shape) for an input grid, as MONAI computes it.
    public func grid(affine a: [[Double]], shape: [Int]) -> ([[Double]], [Int]) {
        let rzs = Matrix.linear(a)
        let d0 = (0..<3).map { c in (0..<3).map { rzs[$0][c] * rzs[$0][c] }.reduce(0, +).squareRoot() }
        var d = (0..<3).map { $0 < pixdim.count ? pixdim[$0] : (pixdim.last ?? 1) }
        for k in 0..<3 where abs(d0[k] - d[k]) <= 1e-3 { d[k] = d0[k] }
        let zs = Matrix.choleskyUpper(Matrix.multiply(Matrix.transpose(rzs), rzs))
        let rotation = Matrix.multiply(rzs, Matrix.inverse(zs))
        var scale = [[Double]](repeating: [0, 0, 0], count: 3)
        for r in 0..<3 { scale[r][r] = (zs[r][r] >= 0 ? 1.0 : -1.0) * abs(d[r]) }
        let linear = Matrix.multiply(rotation, scale)
        var b: [[Double]] = [[0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 1]]
        for r in 0..<3 { for c in 0..<3 { b[r][c] = linear[r][c] } }
        // Corners of the input grid in output voxel coordinates.
        let toOut = Matrix.multiply(Matrix.inverse(b), a)
        var corners: [[Double]] = []
        for i in [0.0, Double(shape[0] - 1)] { for j in [0.0, Double(shape[1] - 1)] { for k in [0.0, Double(shape[2] - 1)] {
            corners.append([i, j, k, 1])
        } } }
        let mapped = corners.map { Matrix.apply(toOut, $0) }
        let outShape = (0..<3).map { dim -> Int in
            let values = mapped.map { $0[dim] }
            return Int(((values.max()! - values.min()!) + 1).rounded(.toNearestOrEven))
        }
        // Offset: the corner that is smallest in every output direction keeps its world position.
        var offset: [Double]?
        for c in mapped.indices {
            var smallest = true
            for dim in 0..<3 {
                for other in mapped where other[dim] - mapped[c][dim] < -1e-6 * max(1, abs(other[dim])) { smallest = false }
            }
            if smallest {
                offset = Array(Matrix.apply(a, corners[c]).prefix(3))
                break
            }
        }
        if offset == nil {
            let inCenter = Matrix.apply(a, shape.map { Double($0) / 2 } + [1])
            let outHalf = Matrix.apply(b, outShape.map { Double($0) / 2 } + [0])
            offset = (0..<3).map { inCenter[$0] - outHalf[$0] }
        }
        for r in 0..<3 { b[r][3] = offset![r] }
        return (b, outShape)
    }

    public func callAsFunction(_ image: ImageData) -> (ImageData, Record) {
        let (b, outShape) = grid(affine: image.affine, shape: image.spatialShape)
        let same = outShape == image.spatialShape
            && (0..<3).allSatisfy { r in (0..<4).allSatisfy { c in abs(b[r][c] - image.affine[r][c]) <= 1e-3 } }
        let record = Record(inputShape: image.spatialShape, inputAffine: image.affine, outputAffine: same ? image.affine : b, unchanged: same)
        if same { return (image, record) }
        let transform = Matrix.multiply(Matrix.inverse(image.affine), b)
        return (ImageData(tensor: Resample.apply(image.tensor, transform: transform, outShape: outShape, mode: mode), affine: b), record)
    }

    /// Puts an output-grid tensor (a prediction) back onto the input grid.
    public static func invert(_ tensor: Tensor, _ record: Record, mode: Resample.Mode) -> Tensor {
        if record.unchanged { return tensor }
        let transform = Matrix.multiply(Matrix.inverse(record.outputAffine), record.inputAffine)
        return Resample.apply(tensor, transform: transform, outShape: record.inputShape, mode: mode)
    }
}

/// MONAI `ScaleIntensityRanged`.
public struct ScaleIntensityRange: Sendable {
    public var aMin: Float, aMax: Float, bMin: Float, bMax: Float, clip: Bool

    public init(aMin: Float, aMax: Float, bMin: Float, bMax: Float, clip: Bool = false) {
        self.aMin = aMin; self.aMax = aMax; self.bMin = bMin; self.bMax = bMax; self.clip = clip
    }

    public func callAsFunction(_ image: ImageData) -> ImageData {
        var out = image
        if aMax == aMin {
            out.tensor.data = image.tensor.data.map { $0 - aMin + bMin }
            return out
        }
        let lo = min(bMin, bMax), hi = max(bMin, bMax)
        out.tensor.data = image.tensor.data.map { v in
            let y = (v - aMin) / (aMax - aMin) * (bMax - bMin) + bMin
            return clip ? min(max(y, lo), hi) : y
        }
        return out
    }
}
