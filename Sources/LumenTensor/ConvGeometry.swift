/// Kernel, stride and padding of a 2-D or 3-D (transposed) convolution, one
/// entry per spatial dimension in D, H, W order.
public struct ConvGeometry: Sendable, Equatable {
    public var kernel: [Int]
    public var stride: [Int]
    public var padding: [Int]
    public var outputPadding: [Int]

    public init(kernel: [Int], stride: [Int], padding: [Int], outputPadding: [Int]? = nil) {
        self.kernel = kernel
        self.stride = stride
        self.padding = padding
        self.outputPadding = outputPadding ?? [Int](repeating: 0, count: kernel.count)
    }

    public func convOutput(_ input: [Int]) -> [Int] {
        (0..<input.count).map { (input[$0] + 2 * padding[$0] - kernel[$0]) / stride[$0] + 1 }
    }

    public func transposedOutput(_ input: [Int]) -> [Int] {
        (0..<input.count).map { (input[$0] - 1) * stride[$0] - 2 * padding[$0] + kernel[$0] + outputPadding[$0] }
    }

    /// The 3-D form, with a unit depth prepended for 2-D convolutions.
    var as3D: (k: [Int], s: [Int], p: [Int], op: [Int]) {
        if kernel.count == 3 { return (kernel, stride, padding, outputPadding) }
        return ([1] + kernel, [1] + stride, [0] + padding, [0] + outputPadding)
    }
}

extension Tensor {
    /// (N, C, D, H, W) with D = 1 for NCHW tensors.
    var dims5: (n: Int, c: Int, d: Int, h: Int, w: Int) {
        if shape.count == 5 { return (shape[0], shape[1], shape[2], shape[3], shape[4]) }
        return (shape[0], shape[1], 1, shape[2], shape[3])
    }

    public var spatialShape: [Int] { Array(shape.dropFirst(2)) }
    public var spatialCount: Int { shape.dropFirst(2).reduce(1, *) }
}
