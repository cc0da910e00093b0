import LumenTensor

/// MONAI `Orientationd`: reorders and flips axes (no interpolation) so array
/// axis k runs along world axis k in the requested direction, and updates the
/// affine so every voxel keeps its world position. Invertible.
public struct Orientation: Sendable {
    public var axcodes: String

    public init(axcodes: String = "RAS") { self.axcodes = axcodes }

    /// What was done, for the inverse: output axis k came from input axis `permutation[k]`, flipped where `flips`.
    public struct Record: Sendable, Equatable {
        public var permutation: [Int]
        public var flips: [Bool]      // per input axis
        public var inputShape: [Int]
        public var inputAffine: [[Double]]
    }

    public enum Failure: Error, CustomStringConvertible {
        case badCodes(String)
        public var description: String {
            switch self { case .badCodes(let c): return "axcodes \"\(c)\" must name each of L/R, A/P, S/I once" }
        }
    }

    /// For each array axis: (world axis, +1/-1), greedy on the largest component.
    static func axes(of affine: [[Double]]) -> [(Int, Double)] {
        var m = Matrix.linear(affine)
        for c in 0..<3 {
            let norm = (0..<3).map { m[$0][c] * m[$0][c] }.reduce(0, +).squareRoot()
            if norm > 0 { for r in 0..<3 { m[r][c] /= norm } }
        }
        var result = [(Int, Double)](repeating: (0, 1), count: 3)
        var used = Set<Int>()
        // Assign the most certain axes first, as nibabel does.
        let order = (0..<3).sorted { a, b in
            (0..<3).map { abs(m[$0][a]) }.max()! > (0..<3).map { abs(m[$0][b]) }.max()!
        }
        for c in order {
            let r = (0..<3).filter { !used.contains($0) }.max { abs(m[$0][c]) < abs(m[$1][c]) }!
            used.insert(r)
            result[c] = (r, m[r][c] >= 0 ? 1 : -1)
        }
        return result
    }

    static func target(_ codes: String) throws -> [(Int, Double)] {
        let letters = Array(codes.uppercased())
        guard letters.count == 3 else { throw Failure.badCodes(codes) }
        let map: [Character: (Int, Double)] = ["R": (0, 1), "L": (0, -1), "A": (1, 1), "P": (1, -1), "S": (2, 1), "I": (2, -1)]
        let t = try letters.map { guard let v = map[$0] else { throw Failure.badCodes(codes) }; return v }
        guard Set(t.map(\.0)).count == 3 else { throw Failure.badCodes(codes) }
        return t
    }

    public func callAsFunction(_ image: ImageData) throws -> (ImageData, Record) {
        let current = Self.axes(of: image.affine)
        let wanted = try Self.target(axcodes)
        let shape = image.spatialShape
        // Flip input axes whose direction disagrees with the wanted direction of their world axis.
        var flips = [Bool](repeating: false, count: 3)
        for a in 0..<3 {
            let (world, sign) = current[a]
            let wantedSign = wanted.first { $0.0 == world }!.1
            flips[a] = sign != wantedSign
        }
        // Output axis k is the input axis running along wanted[k]'s world axis.
        let permutation = wanted.map { w in current.firstIndex { $0.0 == w.0 }! }
        let record = Record(permutation: permutation, flips: flips, inputShape: shape, inputAffine: image.affine)
        let tensor = Self.reorder(image.tensor, permutation: permutation, flips: flips)
        // New voxel index → old index: old[p[k]] = flip ? n-1-new[k] : new[k].
        var t = [[Double]](repeating: [0, 0, 0, 0], count: 4)
        t[3][3] = 1
        for k in 0..<3 {
            let a = permutation[k]
            t[a][k] = flips[a] ? -1 : 1
            t[a][3] = flips[a] ? Double(shape[a] - 1) : 0
        }
        return (ImageData(tensor: tensor, affine: Matrix.multiply(image.affine, t)), record)
    }

    /// Undoes a record on an output-grid tensor (e.g. a prediction).
    public static func invert(_ tensor: Tensor, _ record: Record) -> Tensor {
        var inverse = [Int](repeating: 0, count: 3)
        for k in 0..<3 { inverse[record.permutation[k]] = k }
        let permuted = reorder(tensor, permutation: inverse, flips: [false, false, false])
        return reorder(permuted, permutation: [0, 1, 2], flips: record.flips)
    }

    /// out[c, n0, n1, n2] = in[c, …] with out axis k = in axis permutation[k], in axes flipped first.
    static func reorder(_ x: Tensor, permutation: [Int], flips: [Bool]) -> Tensor {
        let c = x.shape[0], inShape = Array(x.shape.dropFirst())
        let outShape = permutation.map { inShape[$0] }
        let inStrides = [inShape[1] * inShape[2], inShape[2], 1]
        var out = Tensor(uninitialized: [c] + outShape)
        let count = inShape.reduce(1, *)
        // Source offset = start + i·step0 + j·step1 + k·step2 (a flipped axis walks backwards).
        var start = 0
        var step = [0, 0, 0]
        for d in 0..<3 {
            let a = permutation[d]
            step[d] = flips[a] ? -inStrides[a] : inStrides[a]
            if flips[a] { start += (inShape[a] - 1) * inStrides[a] }
        }
        let (s0, s1, s2) = (step[0], step[1], step[2])
        x.data.withUnsafeBufferPointer { xb in
        out.data.withUnsafeMutableBufferPointer { ob in
            for ch in 0..<c {
                let src = xb.baseAddress! + ch * count + start, dst = ob.baseAddress! + ch * count
                var o = 0
                for i in 0..<outShape[0] { for j in 0..<outShape[1] {
                    var q = i * s0 + j * s1
                    for _ in 0..<outShape[2] { dst[o] = src[q]; q += s2; o += 1 }
                } }
            }
        }}
        return out
    }
}
