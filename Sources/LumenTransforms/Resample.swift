import LumenTensor

/// Resampling of a channel-first volume onto another voxel grid, in Double like
/// MONAI (Spacing's dtype float64), with border padding: coordinates are
/// clamped to the source volume. Runs on Lumen's compute threads.
public enum Resample {
    public enum Mode: String, Sendable { case linear, nearest }

    /// Output voxel n of `outShape` samples the source at `transform · [n, 1]`
    /// ((r+1)×(r+1), r = 2 or 3 spatial dims).
    ///
    /// The positions are computed the way MONAI's AffineTransform gets them
    /// (normalised [-1, 1] grids, torch's affine_grid, then grid_sample's
    /// unnormalisation), not by the shorter exact formula: both agree to 1e-15,
    /// but nearest-neighbour sampling at exact half-voxel positions (a 2× zoom)
    /// rounds whichever way those last bits fall, and label maps must match.
    public static func apply(_ x: Tensor, transform: [[Double]], outShape: [Int], mode: Mode) -> Tensor {
        let r = x.rank - 1
        let channels = x.shape[0]
        let inShape = Array(x.shape.dropFirst())
        let theta = normalisedTheta(transform, source: inShape, target: outShape)
        let grids = outShape.map(baseGrid)
        // Lift 2-D onto 3-D with a leading singleton axis that maps onto itself.
        let lift = 3 - r
        let s = [Int](repeating: 1, count: lift) + inShape
        let o = [Int](repeating: 1, count: lift) + outShape
        var out = Tensor(uninitialized: [channels] + outShape)
        var separable = true
        for i in 0..<r { for j in 0..<r where i != j && abs(theta[i][j]) >= 1e-12 { separable = false } }
        let inCount = s.reduce(1, *), outCount = o.reduce(1, *)
        let rows = o[0] * o[1]
        x.data.withUnsafeBufferPointer { xb in
            out.data.withUnsafeMutableBufferPointer { ob in
                let src = xb.baseAddress!, dst = ob.baseAddress!
                if separable {
                    let real = (0..<r).map { d in
                        AxisTable(positions: grids[d].map { theta[d][d] * $0 + theta[d][r] }, inSize: inShape[d])
                    }
                    let axes = [AxisTable](repeating: AxisTable(positions: [0], inSize: 1), count: lift) + real
                    ComputePool.shared.parallelRanges(rows, minimum: 16) { range in
                        for row in range {
                            separableRow(row, axes: axes, s: s, o: o, channels: channels, inCount: inCount,
                                         outCount: outCount, mode: mode, src: src, dst: dst)
                        }
                    }
                } else {
                    let g = [[Double]](repeating: [0], count: lift) + grids
                    // theta rows/columns lifted to 3-D: t[d] = (coefficients for axes 0, 1, 2, constant).
                    var t = [[Double]](repeating: [0, 0, 0, 0], count: 3)
                    for d in 0..<r {
                        for e in 0..<r { t[d + lift][e + lift] = theta[d][e] }
                        t[d + lift][3] = theta[d][r]
                    }
                    ComputePool.shared.parallelRanges(rows, minimum: 16) { range in
                        for row in range {
                            generalRow(row, t: t, g: g, lift: lift, s: s, o: o, channels: channels, inCount: inCount,
                                       outCount: outCount, mode: mode, src: src, dst: dst)
                        }
                    }
                }
            }
        }
        return out
    }

    /// MONAI's to_norm_affine (align_corners False): the mapping between [-1, 1]
    /// normalised output and input coordinates.
    static func normalisedTheta(_ xform: [[Double]], source: [Int], target: [Int]) -> [[Double]] {
        func normalise(_ shape: [Int]) -> [[Double]] {
            var m = Matrix.identity(shape.count + 1)
            for (d, n) in shape.enumerated() {
                let size = Double(n > 0 ? n : 2)
                m[d][d] = 2.0 / size
                m[d][shape.count] = 1.0 / size - 1.0
            }
            return m
        }
        return Matrix.multiply(Matrix.multiply(normalise(source), xform), Matrix.inverse(normalise(target)))
    }

    /// torch affine_grid's base coordinates along one axis (align_corners False):
    /// linspace(-1, 1, n) · (n − 1) / n, with linspace's two-ended evaluation.
    static func baseGrid(_ n: Int) -> [Double] {
        if n <= 1 { return [0] }
        let step = 2.0 / Double(n - 1)
        return (0..<n).map { i in
            let v = i < n / 2 ? -1.0 + step * Double(i) : 1.0 - step * Double(n - i - 1)
            return v * Double(n - 1) / Double(n)
        }
    }

    /// grid_sample's unnormalisation (align_corners False) and border clamp.
    @inline(__always)
    static func unnormalise(_ c: Double, _ size: Int) -> Double {
        min(max(((c + 1) * Double(size) - 1) / 2, 0), Double(size - 1))
    }

    /// Per-axis sample positions of a separable (axis-aligned) mapping: computed
    /// once per axis instead of once per voxel, which is what keeps a 512² × 200
    /// resample in the tens of milliseconds.
    struct AxisTable {
        var lo: [Int] = [], hi: [Int] = [], frac: [Double] = [], nearest: [Int] = []

        /// `positions`: normalised source coordinates per output index.
        init(positions: [Double], inSize: Int) {
            for c in positions {
                let p = inSize == 1 ? 0 : unnormalise(c, inSize)
                let l = Int(p)
                lo.append(l)
                hi.append(min(l + 1, inSize - 1))
                frac.append(p - Double(l))
                nearest.append(Int(p.rounded(.toNearestOrEven)))
            }
        }
    }

    private static func separableRow(_ row: Int, axes: [AxisTable], s: [Int], o: [Int], channels: Int, inCount: Int,
                                     outCount: Int, mode: Mode, src: UnsafePointer<Float>, dst: UnsafeMutablePointer<Float>) {
        let i = row / o[1], j = row % o[1]
        let kt = axes[2]
        switch mode {
        case .nearest:
            let base = (axes[0].nearest[i] * s[1] + axes[1].nearest[j]) * s[2]
            for ch in 0..<channels {
                let a = src + ch * inCount + base, out = dst + ch * outCount + row * o[2]
                for k in 0..<o[2] { out[k] = a[kt.nearest[k]] }
            }
        case .linear:
            let fi = axes[0].frac[i], fj = axes[1].frac[j]
            let r00 = (axes[0].lo[i] * s[1] + axes[1].lo[j]) * s[2], r01 = (axes[0].lo[i] * s[1] + axes[1].hi[j]) * s[2]
            let r10 = (axes[0].hi[i] * s[1] + axes[1].lo[j]) * s[2], r11 = (axes[0].hi[i] * s[1] + axes[1].hi[j]) * s[2]
            let w00 = (1 - fi) * (1 - fj), w01 = (1 - fi) * fj, w10 = fi * (1 - fj), w11 = fi * fj
            for ch in 0..<channels {
                let a = src + ch * inCount, out = dst + ch * outCount + row * o[2]
                for k in 0..<o[2] {
                    let k0 = kt.lo[k], k1 = kt.hi[k], fk = kt.frac[k]
                    func lerp(_ r: Int) -> Double { Double(a[r + k0]) * (1 - fk) + Double(a[r + k1]) * fk }
                    out[k] = Float(w00 * lerp(r00) + w01 * lerp(r01) + w10 * lerp(r10) + w11 * lerp(r11))
                }
            }
        }
    }

    private static func generalRow(_ row: Int, t: [[Double]], g: [[Double]], lift: Int, s: [Int], o: [Int], channels: Int,
                                   inCount: Int, outCount: Int, mode: Mode, src: UnsafePointer<Float>,
                                   dst: UnsafeMutablePointer<Float>) {
        let i = row / o[1], j = row % o[1]
        let gi = g[0][i], gj = g[1][j]
        for k in 0..<o[2] {
            let gk = g[2][k]
            // torch sums x·θ + y·θ + z·θ + θ with x the last axis; keep that order.
            func position(_ d: Int) -> Double {
                if d < lift { return 0 }
                var c = t[d][2] * gk
                if lift < 2 { c += t[d][1] * gj }
                if lift < 1 { c += t[d][0] * gi }
                return unnormalise(c + t[d][3], s[d])
            }
            let p = (position(0), position(1), position(2))
            let index = row * o[2] + k
            switch mode {
            case .nearest:
                let q = (Int(p.0.rounded(.toNearestOrEven)) * s[1] + Int(p.1.rounded(.toNearestOrEven))) * s[2]
                    + Int(p.2.rounded(.toNearestOrEven))
                for ch in 0..<channels { dst[ch * outCount + index] = src[ch * inCount + q] }
            case .linear:
                let l0 = Int(p.0), l1 = Int(p.1), l2 = Int(p.2)
                let h0 = min(l0 + 1, s[0] - 1), h1 = min(l1 + 1, s[1] - 1), h2 = min(l2 + 1, s[2] - 1)
                let f0 = p.0 - Double(l0), f1 = p.1 - Double(l1), f2 = p.2 - Double(l2)
                let r00 = (l0 * s[1] + l1) * s[2], r01 = (l0 * s[1] + h1) * s[2]
                let r10 = (h0 * s[1] + l1) * s[2], r11 = (h0 * s[1] + h1) * s[2]
                let w00 = (1 - f0) * (1 - f1), w01 = (1 - f0) * f1, w10 = f0 * (1 - f1), w11 = f0 * f1
                for ch in 0..<channels {
                    let a = src + ch * inCount
                    func lerp(_ r: Int) -> Double { Double(a[r + l2]) * (1 - f2) + Double(a[r + h2]) * f2 }
                    dst[ch * outCount + index] = Float(w00 * lerp(r00) + w01 * lerp(r01) + w10 * lerp(r10) + w11 * lerp(r11))
                }
            }
        }
    }
}
