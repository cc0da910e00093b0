import Testing
@testable import LumenTensor

/// Straight-from-the-formula references (networks.md §1) for the fast kernels.
enum Reference {
    static func conv(_ x: Tensor, _ w: Tensor, _ bias: [Float]?, _ g: ConvGeometry) -> Tensor {
        let (n, cin, d, h, wd) = x.dims5
        let (k, s, p, _) = g.as3D
        let cout = w.shape[0]
        let o = g.convOutput(x.spatialShape)
        let (od, oh, ow) = o.count == 3 ? (o[0], o[1], o[2]) : (1, o[0], o[1])
        var y = Tensor(zeros: [n, cout] + o)
        for b in 0..<n { for co in 0..<cout { for z in 0..<od { for yy in 0..<oh { for xx in 0..<ow {
            var acc = Double(bias?[co] ?? 0)
            for ci in 0..<cin { for a in 0..<k[0] { for bb in 0..<k[1] { for c in 0..<k[2] {
                let iz = z * s[0] + a - p[0], iy = yy * s[1] + bb - p[1], ix = xx * s[2] + c - p[2]
                guard iz >= 0, iz < d, iy >= 0, iy < h, ix >= 0, ix < wd else { continue }
                acc += Double(x.data[(((b * cin + ci) * d + iz) * h + iy) * wd + ix])
                    * Double(w.data[(((co * cin + ci) * k[0] + a) * k[1] + bb) * k[2] + c])
            } } } }
            y.data[(((b * cout + co) * od + z) * oh + yy) * ow + xx] = Float(acc)
        } } } } }
        return y
    }

    static func convTranspose(_ x: Tensor, _ w: Tensor, _ bias: [Float]?, _ g: ConvGeometry) -> Tensor {
        let (n, cin, d, h, wd) = x.dims5
        let (k, s, p, _) = g.as3D
        let cout = w.shape[1]
        let o = g.transposedOutput(x.spatialShape)
        let (od, oh, ow) = o.count == 3 ? (o[0], o[1], o[2]) : (1, o[0], o[1])
        var acc = [Double](repeating: 0, count: n * cout * od * oh * ow)
        for b in 0..<n { for ci in 0..<cin { for z in 0..<d { for yy in 0..<h { for xx in 0..<wd {
            let v = Double(x.data[(((b * cin + ci) * d + z) * h + yy) * wd + xx])
            for co in 0..<cout { for a in 0..<k[0] { for bb in 0..<k[1] { for c in 0..<k[2] {
                let oz = z * s[0] + a - p[0], oy = yy * s[1] + bb - p[1], ox = xx * s[2] + c - p[2]
                guard oz >= 0, oz < od, oy >= 0, oy < oh, ox >= 0, ox < ow else { continue }
                acc[(((b * cout + co) * od + oz) * oh + oy) * ow + ox] += v * Double(w.data[(((ci * cout + co) * k[0] + a) * k[1] + bb) * k[2] + c])
            } } } }
        } } } } }
        var y = Tensor(shape: [n, cout] + o, data: acc.map(Float.init))
        if let bias { for i in 0..<y.count { y.data[i] += bias[(i / (od * oh * ow)) % cout] } }
        return y
    }

    static func random(_ shape: [Int], seed: Int) -> Tensor {
        var state = UInt64(seed) &* 0x9E37_79B9_7F4A_7C15 | 1
        return Tensor(shape: shape, data: (0..<shape.reduce(1, *)).map { _ in
            state ^= state << 13; state ^= state >> 7; state ^= state << 17
            return Float(state % 20_001) / 10_000 - 1
        })
    }
}

func maxRelativeError(_ a: Tensor, _ b: Tensor) -> Float {
    let scale = max(1, b.data.map(abs).max() ?? 0)
    return (zip(a.data, b.data).map { abs($0 - $1) }.max() ?? .infinity) / scale
}

@Suite("Kernels")
struct KernelTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var input: [Int], cout: Int, kernel: [Int], stride: [Int], padding: [Int], bias: Bool
        var testDescription: String { "x\(input) k\(kernel) s\(stride) p\(padding) → \(cout)" }
    }

    static let convCases = [
        Case(input: [1, 3, 7, 6, 5], cout: 4, kernel: [3, 3, 3], stride: [1, 1, 1], padding: [1, 1, 1], bias: true),
        Case(input: [2, 2, 9, 8, 7], cout: 3, kernel: [3, 3, 3], stride: [2, 2, 2], padding: [1, 1, 1], bias: false),
        Case(input: [1, 4, 8, 8, 6], cout: 5, kernel: [3, 3, 1], stride: [2, 2, 1], padding: [1, 1, 0], bias: true),
        Case(input: [1, 3, 5, 5, 5], cout: 2, kernel: [1, 1, 1], stride: [1, 1, 1], padding: [0, 0, 0], bias: true),
        Case(input: [1, 2, 6, 7, 8], cout: 3, kernel: [1, 1, 1], stride: [2, 2, 2], padding: [0, 0, 0], bias: false),
        Case(input: [1, 3, 11, 9], cout: 4, kernel: [3, 3], stride: [1, 1], padding: [1, 1], bias: true),
        Case(input: [1, 2, 11, 9], cout: 3, kernel: [3, 3], stride: [2, 2], padding: [1, 1], bias: true),
    ]

    @Test("convolution matches the direct formula", arguments: convCases)
    func conv(c: Case) {
        let x = Reference.random(c.input, seed: 1)
        let w = Reference.random([c.cout, c.input[1]] + c.kernel, seed: 2)
        let bias = c.bias ? (0..<c.cout).map { Float($0) * 0.1 - 0.2 } : nil
        let g = ConvGeometry(kernel: c.kernel, stride: c.stride, padding: c.padding)
        let y = Convolution.forward(x, weight: w, bias: bias, geometry: g)
        #expect(maxRelativeError(y, Reference.conv(x, w, bias, g)) < 1e-5)
    }

    static let transposedCases = [
        Case(input: [1, 3, 4, 5, 3], cout: 2, kernel: [3, 3, 3], stride: [2, 2, 2], padding: [1, 1, 1], bias: true),
        Case(input: [2, 4, 3, 4, 5], cout: 3, kernel: [2, 2, 2], stride: [2, 2, 2], padding: [0, 0, 0], bias: true),
        Case(input: [1, 2, 4, 4, 3], cout: 3, kernel: [2, 2, 1], stride: [2, 2, 1], padding: [0, 0, 0], bias: false),
        Case(input: [1, 3, 5, 6], cout: 2, kernel: [3, 3], stride: [2, 2], padding: [1, 1], bias: true),
    ]

    @Test("transposed convolution matches the direct formula", arguments: transposedCases)
    func transposed(c: Case) {
        let x = Reference.random(c.input, seed: 3)
        let w = Reference.random([c.input[1], c.cout] + c.kernel, seed: 4)
        let bias = c.bias ? (0..<c.cout).map { Float($0) * 0.1 - 0.2 } : nil
        let g = ConvGeometry(kernel: c.kernel, stride: c.stride, padding: c.padding,
                             outputPadding: c.kernel == [3, 3, 3] || c.kernel == [3, 3] ? c.stride.map { $0 - 1 } : nil)
        let y = TransposedConvolution.forward(x, weight: w, bias: bias, geometry: g)
        #expect(maxRelativeError(y, Reference.convTranspose(x, w, bias, g)) < 1e-5)
    }

    @Test("Winograd F(2,3) matches the direct formula", arguments: [[1, 8, 7, 6, 5], [1, 33, 4, 9, 6], [2, 16, 8, 8, 8]], [nil, 3])
    func winograd(input: [Int], tilesPerChunk: Int?) {
        let x = Reference.random(input, seed: 5)
        let w = Reference.random([12, input[1], 3, 3, 3], seed: 6)
        let bias = (0..<12).map { Float($0) * 0.05 }
        let g = ConvGeometry(kernel: [3, 3, 3], stride: [1, 1, 1], padding: [1, 1, 1])
        let y = Winograd.forward(x, transformed: Winograd.transformWeights(w), cout: 12, bias: bias, activation: .leakyReLU(0.1),
                                 tilesPerChunk: tilesPerChunk)
        let reference = Ops.activate(Reference.conv(x, w, bias, g), .leakyReLU(0.1))
        #expect(maxRelativeError(y, reference) < 1e-5)
    }

    @Test("fused activations", arguments: [Activation.relu, .leakyReLU(0.2), .prelu(0.3), .sigmoid])
    func activations(a: Activation) {
        let x = Reference.random([1, 2, 5, 4, 3], seed: 7)
        let w = Reference.random([3, 2, 3, 3, 3], seed: 8)
        let g = ConvGeometry(kernel: [3, 3, 3], stride: [1, 1, 1], padding: [1, 1, 1])
        let fused = Convolution.forward(x, weight: w, bias: [0.1, -0.1, 0], geometry: g, activation: a)
        #expect(maxRelativeError(fused, Ops.activate(Reference.conv(x, w, [0.1, -0.1, 0], g), a)) < 1e-5)
    }

    @Test("pooling, upsampling and padding")
    func smallOps() {
        let x = Tensor(shape: [1, 1, 2, 3], data: [1, 2, 3, 4, 5, 6])
        #expect(Ops.maxPool2(x).data == [5])
        let up = Ops.upsampleLinear2(Tensor(shape: [1, 1, 1, 2], data: [0, 4]))
        #expect(up.shape == [1, 1, 2, 4])
        #expect(up.data == [0, 1, 3, 4, 0, 1, 3, 4])   // torch: align_corners=False, clamped
        #expect(Ops.padHighReplicate(x, to: [3, 4]).data == [1, 2, 3, 3, 4, 5, 6, 6, 4, 5, 6, 6])
        #expect(Ops.concatChannels(x, x).shape == [1, 2, 2, 3])
    }

    @Test("group norm normalises each group")
    func groupNorm() {
        let x = Reference.random([1, 4, 3, 3, 3], seed: 9)
        let y = Normalization.groupNorm(x, groups: 2, weight: nil, bias: nil)
        for g in 0..<2 {
            let part = y.data[(g * 54)..<((g + 1) * 54)].map(Double.init)
            let mean = part.reduce(0, +) / 54
            let variance = part.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / 54
            #expect(abs(mean) < 1e-5 && abs(variance - 1) < 1e-3)
        }
    }

    @Test("the pool runs every item exactly once, also nested")
    func pool() {
        let pool = ComputePool(threads: 2)
        let counts = UnsafeMutablePointer<Int>.allocate(capacity: 1000)
        counts.initialize(repeating: 0, count: 1000)
        defer { counts.deallocate() }
        pool.parallelFor(100) { i in
            pool.parallelFor(10) { j in counts[i * 10 + j] += 1 }
        }
        #expect((0..<1000).allSatisfy { counts[$0] == 1 })
    }
}
