import LumenTensor

/// MONAI `Orientationd`: reorders and flips axes (no interpolation) so array
/// axis k runs along world axis k in the requested direction, and updates the
/// affine so every voxel keeps its world position. Invertible.
public struct Orientation: Sendable {
    public var axcodes: String

    public init(axcodes: String = "RAS") { self.axcodes = axcodes }

    /// What was done, for the inverse: output axis k came from input axis `permutation[k]`,
    /// input axes were flipped first where `flips`.
    public struct Record: Sendable, Equatable {
        public var permutation: [Int]
        public var flips: [Bool]      // per input axis
        public var inputShape: [Int]
        public var inputAffine: [[Double]]
    }

    /// For each array axis: (world axis, +1/-1), as nibabel's io_orientation
    /// decides it: on the nearest orthogonal matrix (polar factor of the
    /// column-normalised affine), input axes in order, each world axis used once.
    static func axes(of affine: [[Double]]) -> [(Int, Double)] {
        let r = affine.count - 1
        var m = Matrix.linear(affine)
        let zooms = Matrix.spacing(affine)
        for c in 0..<r where zooms[c] > 0 { for row in 0..<r { m[row][c] /= zooms[c] } }
        var q = m
        for _ in 0..<100 {
            let inverseT = Matrix.transpose(Matrix.inverse(q))
            let next = (0..<r).map { i in (0..<r).map { j in 0.5 * (q[i][j] + inverseT[i][j]) } }
            let change = zip(next.joined(), q.joined()).map { abs($0 - $1) }.max() ?? 0
            q = next
            if change < 1e-15 { break }
        }
        var result = [(Int, Double)](repeating: (0, 1), count: r)
        for c in 0..<r {
            let row = (0..<r).max { abs(q[$0][c]) < abs(q[$1][c]) }!
            result[c] = (row, q[row][c] < 0 ? -1 : 1)
            for j in 0..<r { q[row][j] = 0 }
        }
        return result
    }

    static func target(_ codes: String, rank: Int) throws -> [(Int, Double)] {
        let letters = Array(codes.uppercased())
        let map: [Character: (Int, Double)] = ["R": (0, 1), "L": (0, -1), "A": (1, 1), "P": (1, -1), "S": (2, 1), "I": (2, -1)]
        let bad = TransformError.badArgument(transform: "Orientationd", argument: "axcodes",
            detail: "\"\(codes)\" must name one of L/R, A/P, S/I per spatial dim (\(rank) letters, e.g. \(rank == 2 ? "RA" : "RAS"))")
        guard letters.count == rank else { throw bad }
        let t = try letters.map { guard let v = map[$0], v.0 < rank else { throw bad }; return v }
        guard Set(t.map(\.0)).count == rank else { throw bad }
        return t
    }

    public func callAsFunction(_ image: ImageData) throws -> (ImageData, Record) {
        try image.validate("Orientationd")
        let r = image.spatialRank
        let current = Self.axes(of: image.affine)
        let wanted = try Self.target(axcodes, rank: r)
        guard Set(current.map(\.0)) == Set(wanted.map(\.0)) else {
            throw TransformError.badInput(transform: "Orientationd",
                detail: "the image's axes run along world axes \(current.map(\.0)), which \"\(axcodes)\" cannot be reached from")
        }
        let shape = image.spatialShape
        // Flip input axes whose direction disagrees with the wanted direction of their world axis.
        let flips = (0..<r).map { a in current[a].1 != wanted.first { $0.0 == current[a].0 }!.1 }
        // Output axis k is the input axis running along wanted[k]'s world axis.
        let permutation = wanted.map { w in current.firstIndex { $0.0 == w.0 }! }
        let record = Record(permutation: permutation, flips: flips, inputShape: shape, inputAffine: image.affine)
        let tensor = Self.reorder(image.tensor, permutation: permutation, flips: flips)
        // New voxel index → old index: old[p[k]] = flip ? n-1-new[k] : new[k].
        var t = [[Double]](repeating: [Double](repeating: 0, count: r + 1), count: r + 1)
        t[r][r] = 1
        for k in 0..<r {
            let a = permutation[k]
            t[a][k] = flips[a] ? -1 : 1
            t[a][r] = flips[a] ? Double(shape[a] - 1) : 0
        }
        return (ImageData(tensor: tensor, affine: Matrix.multiply(image.affine, t)), record)
    }

    /// Undoes a record on an output-grid tensor (e.g. a prediction with any channel count).
    public static func invert(_ tensor: Tensor, _ record: Record) -> Tensor {
        var inverse = [Int](repeating: 0, count: record.permutation.count)
        for k in record.permutation.indices { inverse[record.permutation[k]] = k }
        // reorder flips its *input* axes; flipping after the permutation back means
        // flipping output axis a, i.e. input axis inverse[a] of the permuted tensor.
        var flips = [Bool](repeating: false, count: inverse.count)
        for a in inverse.indices where record.flips[a] { flips[inverse[a]] = true }
        return reorder(tensor, permutation: inverse, flips: flips)
    }

    /// out[c, n…] = in[c, …] with out axis k = in axis permutation[k], in axes flipped first.
    static func reorder(_ x: Tensor, permutation: [Int], flips: [Bool]) -> Tensor {
        let c = x.shape[0], inShape = Array(x.shape.dropFirst())
        let r = inShape.count
        if permutation == Array(0..<r) && !flips.contains(true) { return x }
        // Lift 2-D to 3-D with a leading singleton axis so one loop serves both.
        let pad = 3 - r
        let s = [Int](repeating: 1, count: pad) + inShape
        let p = (0..<pad).map { $0 } + permutation.map { $0 + pad }
        let f = [Bool](repeating: false, count: pad) + flips
        let inStrides = [s[1] * s[2], s[2], 1]
        let outShape = p.map { s[$0] }
        // Per output axis: input stride (negative when flipped) and the offset of index 0.
        let step = (0..<3).map { f[p[$0]] ? -inStrides[p[$0]] : inStrides[p[$0]] }
        let origin = (0..<3).map { f[p[$0]] ? (s[p[$0]] - 1) * inStrides[p[$0]] : 0 }.reduce(0, +)
        let count = s.reduce(1, *)
        var out = Tensor(uninitialized: [c] + permutation.map { inShape[$0] })
        let rows = c * outShape[0] * outShape[1]
        x.data.withUnsafeBufferPointer { xb in
            out.data.withUnsafeMutableBufferPointer { ob in
                let src = xb.baseAddress!, dst = ob.baseAddress!
                ComputePool.shared.parallelRanges(rows, minimum: 64) { range in
                    for row in range {
                        let ch = row / (outShape[0] * outShape[1])
                        let i = (row / outShape[1]) % outShape[0], j = row % outShape[1]
                        var offset = ch * count + origin + i * step[0] + j * step[1]
                        let o = dst + row * outShape[2]
                        for k in 0..<outShape[2] {
                            o[k] = src[offset]
                            offset += step[2]
                        }
                    }
                }
            }
        }
        return out
    }
}
