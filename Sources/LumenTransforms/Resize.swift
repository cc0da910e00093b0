import Foundation
import LumenTensor

/// MONAI `Resized` (torch `interpolate`, float32): nearest, (bi/tri)linear with
/// align_corners False or True, and area (adaptive average pooling). The affine
/// is scaled so voxels keep their world extent, as MONAI's scale_affine does.
public struct Resize: Sendable {
    public enum Mode: String, Sendable, CaseIterable { case nearest, linear, area }

    public var spatialSize: [Int]
    public var mode: Mode
    public var alignCorners: Bool

    public init(spatialSize: [Int], mode: Mode = .area, alignCorners: Bool = false) {
        self.spatialSize = spatialSize; self.mode = mode; self.alignCorners = alignCorners
    }

    public struct Record: Sendable, Equatable {
        public var inputShape: [Int]
        public var outputShape: [Int]
        public var mode: Mode
        public var alignCorners: Bool
    }

    public func callAsFunction(_ image: ImageData) -> (ImageData, Record) {
        let shape = image.spatialShape
        let size = fallBack(spatialSize, shape)
        let record = Record(inputShape: shape, outputShape: size, mode: mode, alignCorners: alignCorners)
        if size == shape { return (image, record) }
        let r = shape.count
        var scale: [Double] = []
        for (o, n) in zip(shape, size) {
            if alignCorners {
                scale.append(n == 1 ? 0 : Double(o - 1) / Double(n - 1))
            } else {
                scale.append(Double(o) / Double(max(n, 1)))
            }
        }
        let shift = alignCorners ? scale.map { _ in 0.0 } : scale.map { ($0 - 1) / 2 }
        var affine = image.affine
        if affine.count == r + 1 { affine = Matrix.multiply(affine, Matrix.axisMap(scale: scale, shift: shift)) }
        return (ImageData(tensor: Self.resize(image.tensor, to: size, mode: mode, alignCorners: alignCorners), affine: affine), record)
    }

    /// Back to the input grid with the same mode, as Invertd replays a Resize.
    public static func invert(_ tensor: Tensor, _ record: Record, mode: Mode? = nil) -> Tensor {
        resize(tensor, to: record.inputShape, mode: mode ?? record.mode, alignCorners: record.alignCorners)
    }

    /// Channel-first tensor `[C, spatial…]` (1 to 3 spatial dims) to `size`.
    ///
    /// `support`, when given, is the input's region outside which every channel is zero (a crop
    /// pasted back into a volume): outputs that sample only outside it are left at zero without
    /// being computed, which keeps a deepgrow restore to a 512 × 512 × 200 scan at the cost of its
    /// crop. The result is the same as without it. Area resizes ignore it.
    public static func resize(_ x: Tensor, to size: [Int], mode: Mode, alignCorners: Bool = false,
                              support: [Range<Int>]? = nil) -> Tensor {
        let shape = Array(x.shape.dropFirst())
        if shape == size { return x }
        let lift = 3 - shape.count
        let s = [Int](repeating: 1, count: lift) + shape, o = [Int](repeating: 1, count: lift) + size
        let inside = support.map { [Range<Int>](repeating: 0..<1, count: lift) + $0 }
        let c = x.shape[0]
        var out = Tensor(uninitialized: [c] + size)
        let inCount = s.reduce(1, *)
        /// The outputs whose samples can fall inside the support: contiguous, because the tables are monotone.
        func window(_ axis: Int, _ samples: (Int) -> [Int]) -> Range<Int> {
            guard let inside, mode != .area else { return 0..<o[axis] }
            let hits = (0..<o[axis]).filter { n in samples(n).contains { inside[axis].contains($0) } }
            guard let first = hits.first, let last = hits.last else { return 0..<0 }
            return first..<(last + 1)
        }
        let rows = c * o[0] * o[1]
        /// Zeroes the parts of output row (i, j) outside the window, in the same pass that fills the
        /// rest; false when the whole row lies outside.
        func zeroOutside(_ d: UnsafeMutablePointer<Float>, _ w: [Range<Int>], _ i: Int, _ j: Int) -> Bool {
            guard w[0].contains(i), w[1].contains(j), !w[2].isEmpty else {
                d.update(repeating: 0, count: o[2])
                return false
            }
            if w[2].lowerBound > 0 { d.update(repeating: 0, count: w[2].lowerBound) }
            if w[2].upperBound < o[2] { (d + w[2].upperBound).update(repeating: 0, count: o[2] - w[2].upperBound) }
            return true
        }
        x.data.withUnsafeBufferPointer { xb in
            out.data.withUnsafeMutableBufferPointer { ob in
                let src = xb.baseAddress!, dst = ob.baseAddress!
                switch mode {
                case .nearest:
                    let t = (0..<3).map { nearestTable(inSize: s[$0], outSize: o[$0]) }
                    let w = (0..<3).map { a in window(a) { [t[a][$0]] } }
                    ComputePool.shared.parallelRanges(rows, minimum: 64) { range in
                        for row in range {
                            let ch = row / (o[0] * o[1]), i = (row / o[1]) % o[0], j = row % o[1], d = dst + row * o[2]
                            guard zeroOutside(d, w, i, j) else { continue }
                            let a = src + ch * inCount + (t[0][i] * s[1] + t[1][j]) * s[2]
                            for k in w[2] { d[k] = a[t[2][k]] }
                        }
                    }
                case .linear:
                    let t = (0..<3).map { LinearTable(inSize: s[$0], outSize: o[$0], alignCorners: alignCorners) }
                    let w = (0..<3).map { a in window(a) { [t[a].lo[$0], t[a].hi[$0]] } }
                    ComputePool.shared.parallelRanges(rows, minimum: 64) { range in
                        for row in range {
                            let ch = row / (o[0] * o[1]), i = (row / o[1]) % o[0], j = row % o[1], d = dst + row * o[2]
                            guard zeroOutside(d, w, i, j) else { continue }
                            let a = src + ch * inCount
                            let i0 = t[0].lo[i] * s[1], i1 = t[0].hi[i] * s[1], j0 = t[1].lo[j], j1 = t[1].hi[j]
                            let wi0 = t[0].w0[i], wi1 = t[0].w1[i], wj0 = t[1].w0[j], wj1 = t[1].w1[j]
                            let r00 = a + (i0 + j0) * s[2], r01 = a + (i0 + j1) * s[2]
                            let r10 = a + (i1 + j0) * s[2], r11 = a + (i1 + j1) * s[2]
                            for k in w[2] {
                                let k0 = t[2].lo[k], k1 = t[2].hi[k], wk0 = t[2].w0[k], wk1 = t[2].w1[k]
                                let top = wj0 * (wk0 * r00[k0] + wk1 * r00[k1]) + wj1 * (wk0 * r01[k0] + wk1 * r01[k1])
                                let bottom = wj0 * (wk0 * r10[k0] + wk1 * r10[k1]) + wj1 * (wk0 * r11[k0] + wk1 * r11[k1])
                                d[k] = wi0 * top + wi1 * bottom
                            }
                        }
                    }
                case .area:
                    let t = (0..<3).map { areaTable(inSize: s[$0], outSize: o[$0]) }
                    ComputePool.shared.parallelRanges(rows, minimum: 16) { range in
                        for row in range {
                            let ch = row / (o[0] * o[1]), i = (row / o[1]) % o[0], j = row % o[1]
                            let a = src + ch * inCount, d = dst + row * o[2]
                            let (ia, ib) = t[0][i], (ja, jb) = t[1][j]
                            for k in 0..<o[2] {
                                let (ka, kb) = t[2][k]
                                var sum: Float = 0
                                for ii in ia..<ib { for jj in ja..<jb {
                                    let p = a + (ii * s[1] + jj) * s[2]
                                    for kk in ka..<kb { sum += p[kk] }
                                } }
                                d[k] = sum / Float((ib - ia) * (jb - ja) * (kb - ka))
                            }
                        }
                    }
                }
            }
        }
        return out
    }

    /// torch's nearest: src = ⌊dst · (in/out as float32)⌋, with its exact-size shortcuts.
    static func nearestTable(inSize: Int, outSize: Int) -> [Int] {
        if inSize == outSize { return Array(0..<outSize) }
        if outSize == 2 * inSize { return (0..<outSize).map { $0 >> 1 } }
        let scale = Float(inSize) / Float(outSize)
        return (0..<outSize).map { min(Int(floorf(Float($0) * scale)), inSize - 1) }
    }

    /// torch's adaptive average pooling cells: [⌊i·in/out⌋, ⌈(i+1)·in/out⌉).
    static func areaTable(inSize: Int, outSize: Int) -> [(Int, Int)] {
        (0..<outSize).map { i in (i * inSize / outSize, ((i + 1) * inSize + outSize - 1) / outSize) }
    }

    /// torch's linear source index and weights, computed in float32 as torch does.
    struct LinearTable {
        var lo: [Int] = [], hi: [Int] = [], w0: [Float] = [], w1: [Float] = []

        init(inSize: Int, outSize: Int, alignCorners: Bool) {
            let scale: Float = alignCorners ? (outSize > 1 ? Float(inSize - 1) / Float(outSize - 1) : 0)
                                            : Float(inSize) / Float(outSize)
            for n in 0..<outSize {
                var p = alignCorners ? scale * Float(n) : scale * (Float(n) + 0.5) - 0.5
                if p < 0 { p = 0 }
                let l = min(Int(p), inSize - 1)
                let lambda = min(max(p - Float(l), 0), 1)
                lo.append(l)
                hi.append(l < inSize - 1 ? l + 1 : l)
                w0.append(1 - lambda)
                w1.append(lambda)
            }
        }
    }
}
