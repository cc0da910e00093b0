import Testing
import LumenTensor

@Suite("Pooling and resampling")
struct ResamplingTests {
    struct PoolCase: Sendable, CustomTestStringConvertible {
        var shape: [Int], kernel: Int, stride: Int
        var testDescription: String { "\(shape) k\(kernel) s\(stride)" }
    }

    static let poolCases: [PoolCase] = [
        PoolCase(shape: [1, 2, 6, 8, 4], kernel: 2, stride: 2),
        PoolCase(shape: [2, 3, 7, 5, 9], kernel: 2, stride: 2),
        PoolCase(shape: [1, 2, 7, 7, 6], kernel: 3, stride: 2),
        PoolCase(shape: [1, 1, 5, 4, 4], kernel: 3, stride: 1),
        PoolCase(shape: [1, 3, 9, 7], kernel: 2, stride: 2),
        PoolCase(shape: [2, 2, 8, 11], kernel: 3, stride: 3),
    ]

    @Test("max pooling floors and matches the formula", arguments: poolCases)
    func maxPool(c: PoolCase) {
        let x = Reference.random(c.shape, seed: 21)
        let y = Kernels.maxPool(x, kernel: c.kernel, stride: c.stride)
        let expected = Reference.maxPool(x, kernel: c.kernel, stride: c.stride)
        #expect(y == expected)
    }

    static let upCases: [([Int], Int)] = [
        ([1, 2, 3, 4, 5], 2), ([2, 1, 1, 2, 3], 2), ([1, 2, 3, 2, 2], 3),
        ([1, 3, 5, 4], 2), ([1, 1, 2, 3], 3), ([1, 2, 7, 1], 2),
    ]

    @Test("(bi/tri)linear up-sampling, align_corners=False", arguments: upCases)
    func linear(shape: [Int], scale: Int) {
        let x = Reference.random(shape, seed: 22)
        let y = Kernels.upsampleLinear(x, scale: scale)
        #expect(relativeError(y, Reference.upsampleLinear(x, scale: scale)) < 1e-5)
    }

    @Test("linear up-sampling agrees with torch on a hand-checked row")
    func linearKnown() {
        // torch.nn.functional.interpolate([[[[0., 4.]]]], scale_factor=2, mode="bilinear") = [0, 1, 3, 4] per row.
        let up = Kernels.upsampleLinear(Tensor(shape: [1, 1, 1, 2], data: [0, 4]))
        #expect(up.shape == [1, 1, 2, 4])
        #expect(up.data == [0, 1, 3, 4, 0, 1, 3, 4])
    }

    @Test("nearest up-sampling", arguments: upCases)
    func nearest(shape: [Int], scale: Int) {
        let x = Reference.random(shape, seed: 23)
        #expect(Kernels.upsampleNearest(x, scale: scale) == Reference.upsampleNearest(x, scale: scale))
    }

    @Test("replicate padding at the high end")
    func pad() {
        let x = Tensor(shape: [1, 1, 2, 3], data: [1, 2, 3, 4, 5, 6])
        #expect(Kernels.padHighReplicate(x, to: [3, 4]).data == [1, 2, 3, 3, 4, 5, 6, 6, 4, 5, 6, 6])
        #expect(Kernels.padHighReplicate(x, to: [2, 3]) == x)
        let v = Reference.random([2, 2, 2, 3, 2], seed: 24)
        let p = Kernels.padHighReplicate(v, to: [3, 3, 3])
        #expect(p.shape == [2, 2, 3, 3, 3])
        for pl in 0..<4 { for z in 0..<3 { for y in 0..<3 { for x in 0..<3 {
            let src = ((pl * 2 + min(z, 1)) * 3 + y) * 2 + min(x, 1)
            #expect(p.data[((pl * 3 + z) * 3 + y) * 3 + x] == v.data[src])
        } } } }
    }

    @Test("concatenation along channels keeps each sample's blocks in order")
    func concat() {
        let a = Reference.random([2, 2, 3, 2], seed: 25), b = Reference.random([2, 1, 3, 2], seed: 26)
        let c = Kernels.concatChannels(a, b)
        #expect(c.shape == [2, 3, 3, 2])
        #expect(Array(c.data[0..<12]) == Array(a.data[0..<12]))
        #expect(Array(c.data[12..<18]) == Array(b.data[0..<6]))
        #expect(Array(c.data[18..<30]) == Array(a.data[12..<24]))
        #expect(Array(c.data[30..<36]) == Array(b.data[6..<12]))
    }
}
