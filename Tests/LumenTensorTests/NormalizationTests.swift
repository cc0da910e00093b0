import Testing
import LumenTensor

@Suite("Normalisation")
struct NormalizationTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var shape: [Int], groups: Int, affine: Bool, activation: Activation
        var testDescription: String { "\(shape) groups \(groups)\(affine ? " affine" : "") \(activation)" }
    }

    static let cases: [Case] = [
        Case(shape: [1, 4, 3, 5, 7], groups: 4, affine: false, activation: .identity),
        Case(shape: [2, 3, 5, 4, 3], groups: 3, affine: true, activation: .leakyReLU(0.1)),
        Case(shape: [1, 8, 4, 4, 5], groups: 2, affine: true, activation: .relu),
        Case(shape: [2, 6, 3, 3, 3], groups: 1, affine: true, activation: .prelu(0.25)),
        Case(shape: [1, 16, 7, 5], groups: 8, affine: true, activation: .sigmoid),
        Case(shape: [1, 3, 9, 11], groups: 3, affine: false, activation: .relu),
        // Long enough for the vector blocks and their scalar tails.
        Case(shape: [1, 2, 17, 19, 23], groups: 2, affine: true, activation: .identity),
        Case(shape: [2, 4, 9, 10, 11], groups: 2, affine: false, activation: .leakyReLU(0.01)),
    ]

    @Test("group and instance norm match the formula", arguments: cases)
    func norm(c: Case) {
        // An offset mean of 5 checks that the variance does not cancel away.
        let x = Reference.random(c.shape, seed: 11, scale: 2, offset: 5)
        let ch = c.shape[1]
        let w = c.affine ? Reference.vector(ch, seed: 12, offset: 1) : nil
        let b = c.affine ? Reference.vector(ch, seed: 13) : nil
        let expected = Reference.groupNorm(x, groups: c.groups, weight: w, bias: b, activation: c.activation)
        let y = c.groups == ch
            ? Kernels.instanceNorm(x, weight: w, bias: b, activation: c.activation)
            : Kernels.groupNorm(x, groups: c.groups, weight: w, bias: b, activation: c.activation)
        #expect(relativeError(y, expected) < 1e-5)
        var inPlace = x
        if c.groups == ch {
            Kernels.instanceNorm(&inPlace, weight: w, bias: b, activation: c.activation)
        } else {
            Kernels.groupNorm(&inPlace, groups: c.groups, weight: w, bias: b, activation: c.activation)
        }
        #expect(inPlace == y)
        if c.groups == ch {
            let viaGroups = Kernels.groupNorm(x, groups: ch, weight: w, bias: b, activation: c.activation)
            #expect(relativeError(viaGroups, expected) < 1e-5)
        }
    }

    @Test("eps is honoured on a constant channel")
    func eps() {
        let x = Tensor(shape: [1, 1, 2, 2], data: [3, 3, 3, 3])
        let y = Kernels.instanceNorm(x, weight: [2], bias: [0.5], eps: 0.25)
        #expect(y.data == [0.5, 0.5, 0.5, 0.5])
        let spread = Tensor(shape: [1, 1, 2], data: [1, 3])
        // mean 2, var 1: (±1)/√(1 + 3) = ±0.5
        #expect(Kernels.instanceNorm(spread, weight: nil, bias: nil, eps: 3).data == [-0.5, 0.5])
    }

    @Test("channel affine (eval BatchNorm)", arguments: [Activation.identity, .relu, .prelu(0.2), .sigmoid])
    func affine(a: Activation) {
        let x = Reference.random([2, 3, 4, 3, 5], seed: 14, scale: 3)
        let scale = Reference.vector(3, seed: 15, offset: 1), shift = Reference.vector(3, seed: 16)
        var expected = x
        for i in 0..<x.count {
            let c = (i / 60) % 3
            expected.data[i] = Float(Reference.act(Double(x.data[i]) * Double(scale[c]) + Double(shift[c]), a))
        }
        #expect(relativeError(Kernels.channelAffine(x, scale: scale, shift: shift, activation: a), expected) < 1e-5)
        var inPlace = x
        Kernels.channelAffine(&inPlace, scale: scale, shift: shift, activation: a)
        #expect(relativeError(inPlace, expected) < 1e-5)
    }
}
