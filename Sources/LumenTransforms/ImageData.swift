import LumenTensor

/// A channel-first image `[C, I, J, K]` (or `[C, H, W]`) and its voxel-to-world
/// affine (RAS+ mm, (r+1)×(r+1)): exactly what MONAI's LoadImage +
/// EnsureChannelFirst hand to a transform, so transforms can follow MONAI's
/// arithmetic line for line.
public struct ImageData: Sendable {
    public var tensor: Tensor
    public var affine: [[Double]]

    public init(tensor: Tensor, affine: [[Double]]) {
        self.tensor = tensor
        self.affine = affine
    }

    /// An image without a known geometry gets the identity affine, as MONAI assumes.
    public init(tensor: Tensor) {
        self.init(tensor: tensor, affine: Matrix.identity(max(tensor.rank - 1, 0) + 1))
    }

    public var spatialShape: [Int] { Array(tensor.shape.dropFirst()) }
    public var channels: Int { tensor.shape[0] }
    public var spatialRank: Int { tensor.rank - 1 }

    /// Transforms accept 2-D and 3-D channel-first images with a matching affine;
    /// anything else is a caller mistake worth a readable message.
    func validate(_ transform: String, ranks: Set<Int> = [2, 3]) throws {
        guard ranks.contains(spatialRank), tensor.shape.allSatisfy({ $0 > 0 }) else {
            throw TransformError.badInput(transform: transform,
                detail: "needs a channel-first image with \(ranks.sorted().map(String.init).joined(separator: " or ")) spatial dims, got shape \(tensor.shape)")
        }
        guard affine.count == spatialRank + 1, affine.allSatisfy({ $0.count == spatialRank + 1 }) else {
            throw TransformError.badInput(transform: transform,
                detail: "the affine must be \(spatialRank + 1)×\(spatialRank + 1) for shape \(tensor.shape)")
        }
    }
}

/// Small dense matrices in Double, enough for affines of any rank.
public enum Matrix {
    public static func identity(_ n: Int) -> [[Double]] {
        (0..<n).map { i in (0..<n).map { $0 == i ? 1.0 : 0.0 } }
    }

    public static func multiply(_ a: [[Double]], _ b: [[Double]]) -> [[Double]] {
        let n = a.count, m = b[0].count, k = b.count
        return (0..<n).map { i in (0..<m).map { j in (0..<k).map { a[i][$0] * b[$0][j] }.reduce(0, +) } }
    }

    public static func apply(_ a: [[Double]], _ v: [Double]) -> [Double] {
        (0..<a.count).map { i in zip(a[i], v).map(*).reduce(0, +) }
    }

    /// Inverse by Gauss–Jordan with partial pivoting (affines are small and well conditioned).
    public static func inverse(_ m: [[Double]]) -> [[Double]] {
        let n = m.count
        var a = m.enumerated().map { i, row in row + (0..<n).map { $0 == i ? 1.0 : 0.0 } }
        for c in 0..<n {
            let pivot = (c..<n).max { abs(a[$0][c]) < abs(a[$1][c]) }!
            a.swapAt(c, pivot)
            let p = a[c][c]
            a[c] = a[c].map { $0 / p }
            for r in 0..<n where r != c {
                let f = a[r][c]
                if f != 0 { a[r] = zip(a[r], a[c]).map { $0 - f * $1 } }
            }
        }
        return a.map { Array($0[n...]) }
    }

    public static func transpose(_ a: [[Double]]) -> [[Double]] {
        (0..<a[0].count).map { j in a.map { $0[j] } }
    }

    /// Upper-triangular U with UᵀU = s (s symmetric positive definite), numpy's cholesky(s).T.
    static func choleskyUpper(_ s: [[Double]]) -> [[Double]] {
        let n = s.count
        var l = [[Double]](repeating: [Double](repeating: 0, count: n), count: n)
        for i in 0..<n {
            for j in 0...i {
                var sum = s[i][j]
                for k in 0..<j { sum -= l[i][k] * l[j][k] }
                l[i][j] = i == j ? sum.squareRoot() : sum / l[j][j]
            }
        }
        return transpose(l)
    }

    /// The r×r linear part of an (r+1)×(r+1) affine.
    static func linear(_ a: [[Double]]) -> [[Double]] {
        let r = a.count - 1
        return (0..<r).map { Array(a[$0][0..<r]) }
    }

    /// Voxel sizes: the column norms of the linear part.
    public static func spacing(_ a: [[Double]]) -> [Double] {
        let r = a.count - 1
        return (0..<r).map { c in (0..<r).map { a[$0][c] * a[$0][c] }.reduce(0, +).squareRoot() }
    }

    /// MONAI `to_affine_nd`: the rank-r affine made of the first r axes of `a`
    /// (how a 4×4 affine is read when an array has only two spatial dims).
    public static func affineND(_ a: [[Double]], rank r: Int) -> [[Double]] {
        var out = identity(r + 1)
        let s = a.count - 1, d = min(r, s)
        for i in 0..<d {
            for j in 0..<d { out[i][j] = a[i][j] }
            out[i][r] = a[i][s]
        }
        return out
    }

    /// An affine mapping new voxel index n to old index n·scale + shift per axis.
    static func axisMap(scale: [Double], shift: [Double]) -> [[Double]] {
        var t = identity(scale.count + 1)
        for d in scale.indices {
            t[d][d] = scale[d]
            t[d][scale.count] = shift[d]
        }
        return t
    }
}
