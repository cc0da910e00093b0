import LumenTensor

/// A channel-first image `[C, I, J, K]` and its voxel-to-world affine (RAS+ mm):
/// exactly what MONAI's LoadImage + EnsureChannelFirst hand to a transform.
public struct ImageData: Sendable {
    public var tensor: Tensor
    public var affine: [[Double]]

    public init(tensor: Tensor, affine: [[Double]]) {
        self.tensor = tensor
        self.affine = affine
    }

    public var spatialShape: [Int] { Array(tensor.shape.dropFirst()) }
    public var channels: Int { tensor.shape[0] }
}

/// Small 3×3 / 4×4 helpers in Double, enough for affines.
enum Matrix {
    static func multiply(_ a: [[Double]], _ b: [[Double]]) -> [[Double]] {
        let n = a.count, m = b[0].count, k = b.count
        return (0..<n).map { i in (0..<m).map { j in (0..<k).map { a[i][$0] * b[$0][j] }.reduce(0, +) } }
    }

    static func apply(_ a: [[Double]], _ v: [Double]) -> [Double] {
        (0..<a.count).map { i in zip(a[i], v).map(*).reduce(0, +) }
    }

    /// Inverse by Gauss–Jordan with partial pivoting.
    static func inverse(_ m: [[Double]]) -> [[Double]] {
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

    static func transpose(_ a: [[Double]]) -> [[Double]] {
        (0..<a[0].count).map { j in a.map { $0[j] } }
    }

    /// Upper-triangular U with UᵀU = s (s symmetric positive definite, 3×3).
    static func choleskyUpper(_ s: [[Double]]) -> [[Double]] {
        var l = [[Double]](repeating: [0, 0, 0], count: 3)
        for i in 0..<3 {
            for j in 0...i {
                var sum = s[i][j]
                for k in 0..<j { sum -= l[i][k] * l[j][k] }
                l[i][j] = i == j ? sum.squareRoot() : sum / l[j][j]
            }
        }
        return transpose(l)
    }

    static func linear(_ a: [[Double]]) -> [[Double]] { (0..<3).map { Array(a[$0][0..<3]) } }
}
