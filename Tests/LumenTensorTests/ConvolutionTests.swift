import Testing
import LumenTensor

@Suite("Convolution")
struct ConvolutionTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var input: [Int], cout: Int, kernel: [Int], stride: [Int], padding: [Int]
        var bias = true, affine = false, activation = Activation.identity
        var testDescription: String {
            "x\(input) k\(kernel) s\(stride) p\(padding) → \(cout)\(bias ? " +b" : "")\(affine ? " affine" : "") \(activation)"
        }
    }

    static let cases: [Case] = [
        // 3-D, kernel 3
        Case(input: [1, 3, 7, 6, 5], cout: 4, kernel: [3, 3, 3], stride: [1, 1, 1], padding: [1, 1, 1], activation: .relu),
        Case(input: [2, 2, 9, 8, 7], cout: 3, kernel: [3, 3, 3], stride: [2, 2, 2], padding: [1, 1, 1], bias: false),
        Case(input: [1, 2, 5, 6, 7], cout: 3, kernel: [3, 3, 3], stride: [1, 1, 1], padding: [0, 0, 0], bias: false, affine: true),
        Case(input: [1, 1, 9, 9, 9], cout: 16, kernel: [3, 3, 3], stride: [2, 2, 2], padding: [1, 1, 1], activation: .prelu(0.25)),
        Case(input: [1, 1, 13, 11, 10], cout: 5, kernel: [3, 3, 3], stride: [1, 1, 1], padding: [1, 1, 1], affine: true, activation: .leakyReLU(0.1)),
        // anisotropic
        Case(input: [1, 4, 8, 8, 6], cout: 5, kernel: [3, 3, 1], stride: [2, 2, 1], padding: [1, 1, 0], activation: .prelu(0.25)),
        Case(input: [1, 3, 7, 9, 5], cout: 4, kernel: [3, 3, 1], stride: [1, 1, 1], padding: [1, 1, 0], affine: true),
        Case(input: [1, 2, 7, 6, 5], cout: 3, kernel: [1, 3, 3], stride: [1, 2, 2], padding: [0, 1, 1], activation: .sigmoid),
        // kernel 2 and 1
        Case(input: [1, 3, 6, 7, 5], cout: 2, kernel: [2, 2, 2], stride: [2, 2, 2], padding: [0, 0, 0], activation: .relu),
        Case(input: [1, 3, 5, 5, 5], cout: 2, kernel: [1, 1, 1], stride: [1, 1, 1], padding: [0, 0, 0], activation: .sigmoid),
        Case(input: [1, 2, 6, 7, 8], cout: 3, kernel: [1, 1, 1], stride: [2, 2, 2], padding: [0, 0, 0], bias: false, activation: .leakyReLU(0.01)),
        Case(input: [2, 24, 3, 3, 5], cout: 40, kernel: [1, 1, 1], stride: [1, 1, 1], padding: [0, 0, 0], affine: true, activation: .relu),
        // Winograd-sized channel counts (odd and even extents, batch 2)
        Case(input: [1, 16, 6, 5, 7], cout: 16, kernel: [3, 3, 3], stride: [1, 1, 1], padding: [1, 1, 1], affine: true, activation: .prelu(0.2)),
        Case(input: [2, 17, 5, 4, 3], cout: 20, kernel: [3, 3, 3], stride: [1, 1, 1], padding: [1, 1, 1], bias: false),
        Case(input: [1, 32, 1, 2, 1], cout: 16, kernel: [3, 3, 3], stride: [1, 1, 1], padding: [1, 1, 1], activation: .relu),
        // Few channels: Winograd F(4,3) from 2→8 / 8→4 up, im2col when the extent is too small for it
        Case(input: [1, 4, 9, 10, 11], cout: 8, kernel: [3, 3, 3], stride: [1, 1, 1], padding: [1, 1, 1], affine: true, activation: .prelu(0.25)),
        Case(input: [1, 2, 8, 8, 8], cout: 8, kernel: [3, 3, 3], stride: [1, 1, 1], padding: [1, 1, 1], activation: .relu),
        Case(input: [1, 32, 8, 7, 9], cout: 2, kernel: [3, 3, 3], stride: [1, 1, 1], padding: [1, 1, 1]),
        Case(input: [1, 8, 6, 6, 6], cout: 4, kernel: [3, 3, 3], stride: [1, 1, 1], padding: [1, 1, 1], bias: false, activation: .sigmoid),
        // ≤ 4 output channels, stride 1: the direct kernel, down to rows of width 1 and 2
        Case(input: [1, 2, 3, 4, 1], cout: 2, kernel: [3, 3, 3], stride: [1, 1, 1], padding: [1, 1, 1], activation: .relu),
        Case(input: [2, 5, 3, 2, 2], cout: 3, kernel: [3, 3, 3], stride: [1, 1, 1], padding: [1, 1, 1], affine: true),
        Case(input: [1, 2, 4, 5, 9], cout: 1, kernel: [3, 3, 3], stride: [1, 1, 1], padding: [1, 1, 1], activation: .sigmoid),
        Case(input: [1, 3, 6, 5, 8], cout: 2, kernel: [2, 2, 2], stride: [1, 1, 1], padding: [0, 0, 0], bias: false),
        // 2-D
        Case(input: [1, 3, 11, 9], cout: 4, kernel: [3, 3], stride: [1, 1], padding: [1, 1], activation: .leakyReLU(0.1)),
        Case(input: [1, 2, 11, 9], cout: 3, kernel: [3, 3], stride: [2, 2], padding: [1, 1]),
        Case(input: [1, 5, 7, 6], cout: 3, kernel: [2, 2], stride: [2, 2], padding: [0, 0], bias: false, affine: true),
        Case(input: [2, 6, 5, 7], cout: 3, kernel: [1, 1], stride: [1, 1], padding: [0, 0], activation: .sigmoid),
        Case(input: [1, 4, 8, 7], cout: 2, kernel: [3, 1], stride: [2, 1], padding: [1, 0], activation: .prelu(0.1)),
        // 2-D Winograd F(4×4, 3×3), and an image smaller than one tile (im2col)
        Case(input: [1, 4, 11, 9], cout: 8, kernel: [3, 3], stride: [1, 1], padding: [1, 1], activation: .relu),
        Case(input: [2, 16, 13, 10], cout: 12, kernel: [3, 3], stride: [1, 1], padding: [1, 1], affine: true, activation: .prelu(0.25)),
        Case(input: [1, 6, 17, 18], cout: 3, kernel: [3, 3], stride: [1, 1], padding: [1, 1], bias: false, activation: .sigmoid),
        Case(input: [1, 8, 3, 5], cout: 4, kernel: [3, 3], stride: [1, 1], padding: [1, 1]),
    ]

    static func operands(_ c: Case, transposed: Bool = false) -> (Tensor, Tensor, [Float]?, Epilogue) {
        let cin = c.input[1]
        let x = Reference.random(c.input, seed: 1)
        let w = Reference.random((transposed ? [cin, c.cout] : [c.cout, cin]) + c.kernel, seed: 2, scale: 0.5)
        let bias = c.bias ? Reference.vector(c.cout, seed: 3, scale: 0.3) : nil
        let e = Epilogue(scale: c.affine ? Reference.vector(c.cout, seed: 4, scale: 0.5, offset: 1) : nil,
                         shift: c.affine ? Reference.vector(c.cout, seed: 5, scale: 0.2) : nil,
                         activation: c.activation)
        return (x, w, bias, e)
    }

    static func tolerance(_ p: PreparedConvolution) -> Float { p.method == .winograd ? 1e-4 : 1e-5 }

    @Test("matches the direct formula", arguments: cases)
    func conv(c: Case) {
        let (x, w, bias, e) = Self.operands(c)
        let g = ConvGeometry(kernel: c.kernel, stride: c.stride, padding: c.padding)
        let expected = Reference.conv(x, w, bias, kernel: c.kernel, stride: c.stride, padding: c.padding, epilogue: e)
        let prepared = PreparedConvolution(weight: w, bias: bias, geometry: g, epilogue: e)
        let y = Kernels.conv(x, weight: w, bias: bias, geometry: g, epilogue: e)
        #expect(y.shape == expected.shape)
        #expect(relativeError(y, expected) < Self.tolerance(prepared))
        // Deterministic: the same call gives the same bits.
        #expect(prepared(x) == y)
    }

    @Test("3×3×3 stride 1 with ≥ 16 channels takes the Winograd path")
    func winogradChosen() {
        let w = Reference.random([16, 16, 3, 3, 3], seed: 1)
        let g = ConvGeometry(kernel: [3, 3, 3], stride: [1, 1, 1], padding: [1, 1, 1])
        #expect(PreparedConvolution(weight: w, bias: nil, geometry: g).method == .winograd)
        let prepared = PreparedConvolution(weight: w, bias: nil, geometry: g)
        #expect(prepared.winogradTile(for: [48, 48, 48]) == 4)
        #expect(prepared.winogradTile(for: [1, 2, 1]) == 2)
        let wide = PreparedConvolution(weight: Tensor(zeros: [256, 256, 3, 3, 3]), bias: nil, geometry: g)
        #expect(wide.winogradTile(for: [48, 48, 48]) == 2)   // F(4,3)'s rounding is kept to ≤ 128 channels
        let eight = PreparedConvolution(weight: Reference.random([8, 8, 3, 3, 3], seed: 1), bias: nil, geometry: g)
        #expect(eight.winogradTile(for: [64, 64, 64]) == 4)
        #expect(eight.winogradTile(for: [6, 6, 6]) == 0)   // F(2,3) needs 16 channels; im2col instead
        let thin = Reference.random([16, 1, 3, 3, 3], seed: 1)
        #expect(PreparedConvolution(weight: thin, bias: nil, geometry: g).method != .winograd)
    }

    @Test("Winograd stays within 1e-4 on realistic magnitudes, across chunk splits")
    func winogradMagnitudes() {
        // Post-norm activations of a few units and He-scaled weights, as in a trained network.
        let x = Reference.random([1, 32, 9, 10, 11], seed: 7, scale: 3)
        let w = Reference.random([24, 32, 3, 3, 3], seed: 8, scale: 0.08)
        let bias = Reference.vector(24, seed: 9, scale: 0.1)
        let g = ConvGeometry(kernel: [3, 3, 3], stride: [1, 1, 1], padding: [1, 1, 1])
        let expected = Reference.conv(x, w, bias, kernel: g.kernel, stride: g.stride, padding: g.padding)
        for tiles in [nil, 6, 37] as [Int?] {
            let y = Winograd.forward(x, transformed: Winograd.transformWeights(w), cout: 24, bias: bias, tilesPerChunk: tiles)
            #expect(relativeError(y, expected) < 1e-4, "F(2,3), tiles per chunk \(String(describing: tiles))")
            let y43 = WinogradF43.forward(x, transformed: WinogradF43.transformWeights(w), cout: 24, bias: bias, tilesPerChunk: tiles)
            #expect(relativeError(y43, expected) < 1e-4, "F(4,3), tiles per chunk \(String(describing: tiles))")
        }
        // 2-D: each z slice of the same data as an image.
        var slices = [Float]()
        for z in 0..<9 { for c in 0..<32 {
            let start: Int = (c * 9 + z) * 110
            slices += x.data[start..<(start + 110)]
        } }
        let images = Tensor(shape: [9, 32, 10, 11], data: slices)
        var taps = [Float]()
        for i in 0..<(24 * 32) {
            let start: Int = i * 27 + 9
            taps += w.data[start..<(start + 9)]
        }
        let w2 = Tensor(shape: [24, 32, 3, 3], data: taps)
        let expected2 = Reference.conv(images, w2, bias, kernel: [3, 3], stride: [1, 1], padding: [1, 1])
        for tiles in [nil, 3, 7] as [Int?] {
            let y2 = WinogradPlanar.forward(images, transformed: WinogradPlanar.transformWeights(w2), cout: 24, bias: bias, tilesPerChunk: tiles)
            #expect(relativeError(y2, expected2) < 1e-4, "F(4×4, 3×3), tiles per chunk \(String(describing: tiles))")
        }
    }

    @Test("writes into a caller-owned buffer and reuses its storage")
    func intoBuffer() {
        let c = Self.cases[0]
        let (x, w, bias, e) = Self.operands(c)
        let g = ConvGeometry(kernel: c.kernel, stride: c.stride, padding: c.padding)
        let expected = Reference.conv(x, w, bias, kernel: c.kernel, stride: c.stride, padding: c.padding, epilogue: e)
        var out = Tensor(shape: [expected.count], data: [Float](repeating: .nan, count: expected.count))
        Kernels.conv(x, weight: w, bias: bias, geometry: g, epilogue: e, into: &out)
        #expect(out.shape == expected.shape)
        #expect(relativeError(out, expected) < 1e-5)
    }

    @Test("a pair on one input equals the two convolutions run alone",
          arguments: [([1, 4, 9, 8, 7], 3, 2), ([1, 16, 6, 6, 6], 3, 1), ([1, 2, 7, 5, 6], 1, 1), ([2, 3, 9, 7], 3, 2)])
    func pair(input: [Int], kernel: Int, stride: Int) {
        let dims = input.count - 2
        let g = ConvGeometry(kernel: [Int](repeating: kernel, count: dims), stride: [Int](repeating: stride, count: dims),
                             padding: [Int](repeating: kernel / 2, count: dims))
        let x = Reference.random(input, seed: 41)
        let wa = Reference.random([16, input[1]] + g.kernel, seed: 42, scale: 0.3)
        let wb = Reference.random([8, input[1]] + g.kernel, seed: 43, scale: 0.3)
        let ea = Epilogue(scale: Reference.vector(16, seed: 44, offset: 1), shift: Reference.vector(16, seed: 45), activation: .prelu(0.25))
        let a = PreparedConvolution(weight: wa, bias: Reference.vector(16, seed: 46), geometry: g, epilogue: ea)
        let b = PreparedConvolution(weight: wb, bias: Reference.vector(8, seed: 47), geometry: g)
        let (ya, yb) = PreparedConvolution.pair(a, b, on: x)
        let ra = Reference.conv(x, wa, Reference.vector(16, seed: 46), kernel: g.kernel, stride: g.stride, padding: g.padding, epilogue: ea)
        let rb = Reference.conv(x, wb, Reference.vector(8, seed: 47), kernel: g.kernel, stride: g.stride, padding: g.padding)
        #expect(relativeError(ya, ra) < Self.tolerance(a))
        #expect(relativeError(yb, rb) < Self.tolerance(b))
    }

    @Test("multiply-add counts")
    func counts() {
        let g = ConvGeometry(kernel: [3, 3, 3], stride: [2, 2, 2], padding: [1, 1, 1])
        #expect(Kernels.multiplyAdds(conv: [1, 1, 96, 96, 96], weight: [16, 1, 3, 3, 3], geometry: g) == 48 * 48 * 48 * 16 * 27)
        #expect(Kernels.flops(conv: [1, 1, 96, 96, 96], weight: [16, 1, 3, 3, 3], geometry: g) == 2 * 48 * 48 * 48 * 16 * 27)
        let t = ConvGeometry(kernel: [2, 2, 2], stride: [2, 2, 2], padding: [0, 0, 0])
        #expect(Kernels.multiplyAdds(conv: [1, 64, 6, 6, 6], weight: [64, 32, 2, 2, 2], geometry: t, transposed: true) == 216 * 64 * 32 * 8)
    }
}

@Suite("Transposed convolution")
struct TransposedConvolutionTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var input: [Int], cout: Int, kernel: [Int], stride: [Int], padding: [Int], outputPadding: [Int]
        var bias = true, affine = false, activation = Activation.identity
        var testDescription: String {
            "x\(input) k\(kernel) s\(stride) p\(padding) op\(outputPadding) → \(cout)\(bias ? " +b" : "")\(affine ? " affine" : "") \(activation)"
        }
    }

    static let cases: [Case] = [
        Case(input: [1, 3, 4, 5, 3], cout: 2, kernel: [3, 3, 3], stride: [2, 2, 2], padding: [1, 1, 1], outputPadding: [1, 1, 1], activation: .prelu(0.25)),
        Case(input: [2, 4, 3, 4, 5], cout: 3, kernel: [2, 2, 2], stride: [2, 2, 2], padding: [0, 0, 0], outputPadding: [0, 0, 0]),
        Case(input: [1, 2, 4, 4, 3], cout: 3, kernel: [2, 2, 1], stride: [2, 2, 1], padding: [0, 0, 0], outputPadding: [0, 0, 0], bias: false, activation: .relu),
        Case(input: [1, 3, 5, 4, 3], cout: 2, kernel: [3, 3, 3], stride: [1, 1, 1], padding: [1, 1, 1], outputPadding: [0, 0, 0], affine: true),
        Case(input: [1, 2, 3, 4, 5], cout: 2, kernel: [3, 3, 1], stride: [2, 2, 1], padding: [1, 1, 0], outputPadding: [1, 1, 0], activation: .leakyReLU(0.01)),
        Case(input: [1, 16, 3, 3, 3], cout: 8, kernel: [2, 2, 2], stride: [2, 2, 2], padding: [0, 0, 0], outputPadding: [0, 0, 0], affine: true, activation: .prelu(0.25)),
        Case(input: [1, 3, 3, 3, 2], cout: 2, kernel: [3, 3, 3], stride: [2, 2, 2], padding: [0, 0, 0], outputPadding: [0, 0, 0], bias: false),
        Case(input: [1, 2, 3, 3, 3], cout: 3, kernel: [4, 4, 4], stride: [2, 2, 2], padding: [1, 1, 1], outputPadding: [0, 0, 0], activation: .sigmoid),
        Case(input: [1, 3, 5, 6], cout: 2, kernel: [3, 3], stride: [2, 2], padding: [1, 1], outputPadding: [1, 1]),
        Case(input: [1, 5, 4, 3], cout: 4, kernel: [2, 2], stride: [2, 2], padding: [0, 0], outputPadding: [0, 0], activation: .sigmoid),
        Case(input: [2, 3, 4, 5], cout: 2, kernel: [1, 1], stride: [1, 1], padding: [0, 0], outputPadding: [0, 0], affine: true, activation: .relu),
        // Large enough to split into several slabs (even/odd phases, tiled stores).
        Case(input: [1, 2, 16, 20, 20], cout: 8, kernel: [3, 3, 3], stride: [2, 2, 2], padding: [1, 1, 1], outputPadding: [1, 1, 1], activation: .prelu(0.25)),
        Case(input: [1, 2, 12, 16, 16], cout: 8, kernel: [3, 3, 3], stride: [1, 1, 1], padding: [1, 1, 1], outputPadding: [0, 0, 0], affine: true),
        Case(input: [1, 4, 12, 20, 24], cout: 16, kernel: [2, 2, 2], stride: [2, 2, 2], padding: [0, 0, 0], outputPadding: [0, 0, 0], activation: .relu),
        Case(input: [1, 2, 200, 40], cout: 4, kernel: [3, 3], stride: [2, 2], padding: [1, 1], outputPadding: [1, 1], activation: .leakyReLU(0.1)),
    ]

    @Test("matches the direct formula", arguments: cases)
    func transposed(c: Case) {
        let conv = ConvolutionTests.Case(input: c.input, cout: c.cout, kernel: c.kernel, stride: c.stride, padding: c.padding,
                                         bias: c.bias, affine: c.affine, activation: c.activation)
        let (x, w, bias, e) = ConvolutionTests.operands(conv, transposed: true)
        let g = ConvGeometry(kernel: c.kernel, stride: c.stride, padding: c.padding, outputPadding: c.outputPadding)
        let expected = Reference.convTranspose(x, w, bias, kernel: c.kernel, stride: c.stride, padding: c.padding,
                                               outputPadding: c.outputPadding, epilogue: e)
        let y = Kernels.convTranspose(x, weight: w, bias: bias, geometry: g, epilogue: e)
        #expect(y.shape == expected.shape)
        #expect(relativeError(y, expected) < 1e-5)
        #expect(Kernels.convTranspose(x, weight: w, bias: bias, geometry: g, epilogue: e) == y)
    }
}
