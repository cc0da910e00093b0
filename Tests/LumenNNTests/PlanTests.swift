import Foundation
import LumenTensor
import Testing
@testable import LumenNN

func network(_ json: String) throws -> Network {
    try Network(spec: NetworkSpec(json: JSONValue(parsing: Data(json.utf8))))
}

/// Any state dict of the right shapes, for tests about structure rather than values.
func filled(_ net: Network) -> [String: Tensor] {
    var out: [String: Tensor] = [:]
    for (i, (key, shape)) in net.expectedKeys.enumerated() {
        let count = shape.reduce(1, *)
        let base: Float = key.hasSuffix("running_var") ? 1 : 0.01
        out[key] = Tensor(shape: shape, data: (0..<count).map { base + Float(($0 * 7 + i) % 13) * 0.001 })
    }
    return out
}

@Suite("execution plan")
struct PlanTests {
    static let spleen = #"{"name": "UNet", "args": {"spatial_dims": 3, "in_channels": 1, "out_channels": 2, "channels": [16, 32, 64, 128, 256], "strides": [2, 2, 2, 2], "num_res_units": 2, "norm": "batch"}}"#
    static let deepgrow = #"{"name": "BasicUNet", "args": {"spatial_dims": 3, "in_channels": 3, "out_channels": 1, "features": [32, 64, 128, 256, 512, 32]}}"#
    static let wholeBody = #"{"name": "SegResNet", "args": {"spatial_dims": 3, "init_filters": 32, "in_channels": 1, "out_channels": 105}}"#
    static let deepedit = #"{"name": "DynUNet", "args": {"spatial_dims": 3, "in_channels": 3, "out_channels": 2, "kernel_size": [3, 3, 3, 3, 3, 3], "strides": [1, 2, 2, 2, 2, [2, 2, 1]], "upsample_kernel_size": [2, 2, 2, 2, [2, 2, 1]], "norm_name": "instance", "res_block": true}}"#

    /// Multiply-adds counted by PyTorch forward hooks on MONAI 1.6.1 (every
    /// Conv/ConvTranspose: output positions × weight size, resp. input
    /// positions × weight size); ×2 they are anchors.md's GFLOP column.
    @Test("multiply-adds equal PyTorch's count", arguments: [
        (spleen, [1, 1, 96, 96, 96], 5_119_082_496),
        (deepgrow, [1, 3, 64, 96, 96], 152_297_275_392),
        (wholeBody, [1, 1, 64, 64, 64], 73_249_325_056),
        (deepedit, [1, 3, 32, 64, 64], 30_150_328_320),
    ])
    func multiplyAdds(json: String, shape: [Int], expected: Int) throws {
        let net = try network(json)
        #expect(try net.multiplyAdds(inputShape: shape) == expected)
        #expect(try net.flops(inputShape: shape) == 2 * expected)
        var batch2 = shape
        batch2[0] = 2
        #expect(try net.multiplyAdds(inputShape: batch2) == 2 * expected)
        print("plan \(net.spec.name) \(shape): \(Double(try net.flops(inputShape: shape)) / 1e9) GFLOP, peak activations \(try net.peakBytes(inputShape: shape) / 1_048_576) MiB")
    }

    /// UNet (4, 8), stride 2, no residual units, instance norm, input 1×1×8³ (512 floats);
    /// norms run in place on their conv's output: the down conv's 256 beside the input → 768;
    /// the bottom conv's 512 beside the kept down output 256 → 768; the concat's 768 beside
    /// both → 1536; the top transposed conv's 1024 beside the concat's 768 → 1792 floats.
    @Test("peak activation memory follows the liveness of every tensor")
    func peakByHand() throws {
        let net = try network(#"{"name": "UNet", "args": {"spatial_dims": 3, "in_channels": 1, "out_channels": 2, "channels": [4, 8], "strides": [2]}}"#)
        #expect(try net.peakBytes(inputShape: [1, 1, 8, 8, 8]) == 1792 * 4)
        try net.load(filled(net))
        #expect(try net.peakBytes(inputShape: [1, 1, 8, 8, 8]) == 1792 * 4)
        #expect(try net.multiplyAdds(inputShape: [1, 1, 8, 8, 8]) == 64 * 27 * 4 + 64 * 27 * 4 * 8 + 64 * 27 * 12 * 2)
    }

    /// Without releasing, forward would hold every activation at once.
    @Test("releasing dead tensors keeps the spleen UNet's peak well under the sum of its activations")
    func peakIsBounded() throws {
        let net = try network(Self.spleen)
        try net.load(filled(net))
        let shape = [1, 1, 96, 96, 96]
        let plan = net.plan
        let all = plan.shapes(input: shape).map { $0.reduce(1, *) * 4 }.reduce(0, +)
        let peak = try net.peakBytes(inputShape: shape)
        let input = shape.reduce(1, *) * 4
        #expect(peak > input + 16 * 48 * 48 * 48 * 4)
        #expect(peak * 3 < all, "peak \(peak) vs all activations \(all)")
        print("spleen UNet 1×1×96³: peak \(peak / 1_048_576) MiB of \(all / 1_048_576) MiB activations")
    }

    @Test("BatchNorm is folded and activations fused: the spleen UNet runs only convolutions")
    func fused() throws {
        let net = try network(Self.spleen)
        try net.load(filled(net))
        let plan = net.plan
        for chain in plan.chains {
            for op in chain.runningOps {
                guard case .conv = op else { Issue.record("a non-conv op survived freezing: \(op)"); continue }
            }
        }
        let convs = plan.chains.flatMap(\.runningOps).count
        #expect(convs == 5 * 3 + 4 * 2)   // 4 downs + bottom (2 units + residual), 4 ups (ConvT + unit)
    }

    @Test("forward before any weights are loaded is an error, not a crash")
    func notLoaded() throws {
        let net = try network(#"{"name": "UNet", "args": {"spatial_dims": 2, "in_channels": 1, "out_channels": 2, "channels": [4, 8], "strides": [2]}}"#)
        #expect(throws: NetworkError.notLoaded(network: "UNet")) { try net.forward(Tensor(zeros: [1, 1, 8, 8])) }
        #expect(throws: NetworkError.self) { try net.load([:]) }
        #expect(throws: NetworkError.notLoaded(network: "UNet")) { try net.forward(Tensor(zeros: [1, 1, 8, 8])) }
        try net.load(filled(net))
        #expect(try net.forward(Tensor(zeros: [1, 1, 8, 8])).shape == [1, 2, 8, 8])
    }

    @Test("odd BasicUNet sizes run and keep their shape")
    func basicOdd() throws {
        let net = try network(#"{"name": "BasicUNet", "args": {"spatial_dims": 2, "in_channels": 1, "out_channels": 3, "features": [2, 2, 4, 4, 8, 2]}}"#)
        try net.load(filled(net))
        let y = try net.forward(Tensor(zeros: [1, 1, 17, 23]))
        #expect(y.shape == [1, 3, 17, 23])
        #expect(try net.peakBytes(inputShape: [1, 1, 17, 23]) > 0)
    }
}
