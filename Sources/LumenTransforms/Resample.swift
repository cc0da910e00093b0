import LumenTensor

/// Resampling of a channel-first volume onto another voxel grid, in Double like
/// MONAI (Spacing's dtype float64), with border padding: coordinates are
/// clamped to the source volume. Runs on Lumen's compute threads.
public enum Resample {
    public enum Mode: String, Sendable { case linear, nearest }

    /// Output voxel n of `outShape` samples the source at `transform · [n, 1]`
    /// ((r+1)×(r+1), r = 2 or 3 spatial dims).
    public static func apply(_ x: Tensor, transform: [[Double]], outShape: [Int], mode: Mode) -> Tensor {
        let r = x.rank - 1
        let channels = x.shape[0]
        // Lift 2-D onto 3-D with a leading singleton axis that maps onto itself.
        let s = (r == 2 ? [1] : []) + Array(x.shape.dropFirst())
        let o = (r == 2 ? [1] : []) + outShape
        var m = Matrix.identity(4)
        let lift = 3 - r
        for i in 0..<r {
            for j in 0..<r { m[i + lift][j + lift] = transform[i][j] }
            m[i + lift][3] = transform[i][r]
        }
        var out = Tensor(uninitialized: [channels] + outShape)
        var separable = true
        for i in 0..<3 { for j in 0..<3 where i != j && abs(m[i][j]) >= 1e-12 { separable = false } }
        let inCount = s.reduce(1, *), outCount = o.reduce(1, *)
        let rows = o[0] * o[1]
        x.data.withUnsafeBufferPointer { xb in
            out.data.withUnsafeMutableBufferPointer { ob in
                let src = xb.baseAddress!, dst = ob.baseAddress!
                if separable {
                    let axes = (0..<3).map { AxisTable(scale: m[$0][$0], shift: m[$0][3], outSize: o[$0], inSize: s[$0]) }
                    ComputePool.shared.parallelRanges(rows, minimum: 16) { range in
                        for row in range {
                            separableRow(row, axes: axes, s: s, o: o, channels: channels, inCount: inCount,
                                         outCount: outCount, mode: mode, src: src, dst: dst)
                        }
                    }
                } else {
                    ComputePool.shared.parallelRanges(rows, minimum: 16) { range in
                        for row in range {
                            generalRow(row, m: m, s: s, o: o, channels: channels, inCount: inCount,
                                       outCount: outCount, mode: mode, src: src, dst: dst)
                        }
                    }
                }
            }
        }
        return out
    }

    /// Per-axis sample positions of a separable (axis-aligned) mapping: computed
    /// once per axis instead of once per voxel, which is what keeps a 512² × 200
    /// resample in the tens of milliseconds.
    struct AxisTable {
        var lo: [Int], hi: [Int], frac: [Double], nearest: [Int]

        init(scale: Double, shift: Double, outSize: Int, inSize: Int) {
            lo = []; hi = []; frac = []; nearest = []
            let top = Double(inSize - 1)
            for n in 0..<outSize {
                let p = min(max(scale * Double(n) + shift, 0), top)
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

    private static func generalRow(_ row: Int, m: [[Double]], s: [Int], o: [Int], channels: Int, inCount: Int,
                                   outCount: Int, mode: Mode, src: UnsafePointer<Float>, dst: UnsafeMutablePointer<Float>) {
        let i = Double(row / o[1]), j = Double(row % o[1])
        let b0 = m[0][0] * i + m[0][1] * j + m[0][3], b1 = m[1][0] * i + m[1][1] * j + m[1][3]
        let b2 = m[2][0] * i + m[2][1] * j + m[2][3]
        let t0 = Double(s[0] - 1), t1 = Double(s[1] - 1), t2 = Double(s[2] - 1)
        for k in 0..<o[2] {
            let kd = Double(k)
            let p0 = min(max(b0 + m[0][2] * kd, 0), t0), p1 = min(max(b1 + m[1][2] * kd, 0), t1)
            let p2 = min(max(b2 + m[2][2] * kd, 0), t2)
            let index = row * o[2] + k
            switch mode {
            case .nearest:
                let q = (Int(p0.rounded(.toNearestOrEven)) * s[1] + Int(p1.rounded(.toNearestOrEven))) * s[2]
                    + Int(p2.rounded(.toNearestOrEven))
                for ch in 0..<channels { dst[ch * outCount + index] = src[ch * inCount + q] }
            case .linear:
                let l0 = Int(p0), l1 = Int(p1), l2 = Int(p2)
                let h0 = min(l0 + 1, s[0] - 1), h1 = min(l1 + 1, s[1] - 1), h2 = min(l2 + 1, s[2] - 1)
                let f0 = p0 - Double(l0), f1 = p1 - Double(l1), f2 = p2 - Double(l2)
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
