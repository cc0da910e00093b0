import Testing
import LumenTensor

@Suite("Element-wise")
struct ElementwiseTests {
    static let activations: [Activation] = [.identity, .relu, .leakyReLU(0.01), .leakyReLU(0.1), .prelu(0.25), .sigmoid]

    @Test("activations follow their formulas", arguments: activations)
    func activate(a: Activation) {
        let x = Reference.random([1, 3, 40, 50], seed: 31, scale: 6)
        let expected = Tensor(shape: x.shape, data: x.data.map { Float(Reference.act(Double($0), a)) })
        #expect(relativeError(Kernels.activate(x, a), expected) < 1e-6)
        var y = x
        Kernels.activate(&y, a)
        #expect(relativeError(y, expected) < 1e-6)
    }

    @Test("sigmoid saturates without NaN")
    func sigmoid() {
        let y = Kernels.sigmoid(Tensor(shape: [1, 1, 4], data: [-200, -1, 0, 200]))
        #expect(y.data[0] == 0 && y.data[2] == 0.5 && y.data[3] == 1)
        #expect(abs(y.data[1] - 0.26894142) < 1e-7)
    }

    @Test("add, out of place and in place, with an activation", arguments: [Activation.identity, .relu, .prelu(0.3)])
    func add(a: Activation) {
        let x = Reference.random([2, 3, 5, 7, 9], seed: 32), y = Reference.random([2, 3, 5, 7, 9], seed: 33)
        let expected = Tensor(shape: x.shape, data: zip(x.data, y.data).map { Float(Reference.act(Double($0 + $1), a)) })
        #expect(relativeError(Kernels.add(x, y, activation: a), expected) < 1e-6)
        var z = x
        Kernels.add(into: &z, y, activation: a)
        #expect(relativeError(z, expected) < 1e-6)
    }

    @Test("softmax over channels", arguments: [[1, 3, 4, 5, 6], [2, 105, 3, 2, 2], [1, 2, 33, 35]])
    func softmax(shape: [Int]) {
        let x = Reference.random(shape, seed: 34, scale: 20)
        let y = Kernels.softmaxChannels(x)
        #expect(relativeError(y, Reference.softmaxChannels(x)) < 1e-6)
    }
}
