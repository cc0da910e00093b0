import Foundation
import LumenTensor
import Testing
@testable import LumenTransforms

/// Times the heavy loops on a CT-sized volume (512 × 512 × 200). Set
/// LUMEN_TRANSFORM_TIMINGS=1 to run; results go to stdout for the docs.
@Suite("Speed on 512×512×200", .enabled(if: ProcessInfo.processInfo.environment["LUMEN_TRANSFORM_TIMINGS"] != nil))
struct SpeedTests {
    static func time<T>(_ label: String, _ body: () throws -> T) rethrows -> T {
        let start = DispatchTime.now().uptimeNanoseconds
        let result = try body()
        print(String(format: "timing %@: %.1f ms", label, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6))
        return result
    }

    @Test("spacing, resize, argmax and largest component")
    func speed() throws {
        let shape = [512, 512, 200]
        let n = shape.reduce(1, *)
        var data = [Float](repeating: 0, count: n)
        for i in 0..<512 { for j in 0..<512 { for k in 0..<200 {
            let d = Double((i - 256) * (i - 256) + (j - 256) * (j - 256)) / 40_000 + Double((k - 100) * (k - 100)) / 8_000
            data[(i * 512 + j) * 200 + k] = d < 1 ? 1 : Float((i * 7 + j * 3 + k) % 5) * 0.01
        } } }
        let image = ImageData(tensor: Tensor(shape: [1] + shape, data: data),
                              affine: [[0.7, 0, 0, 0], [0, 0.7, 0, 0], [0, 0, 1.25, 0], [0, 0, 0, 1]])
        let (spaced, record) = try Self.time("Spacing 0.7×0.7×1.25 → 1.5×1.5×2 (bilinear)") { try Spacing(pixdim: [1.5, 1.5, 2])(image) }
        #expect(spaced.spatialShape == [239, 239, 125])
        let back = Self.time("Spacing inverse → 512×512×200 (nearest)") { Spacing.invert(spaced.tensor, record, mode: .nearest) }
        #expect(back.shape == image.tensor.shape)
        _ = Self.time("Spacing inverse → 512×512×200 (bilinear)") { Spacing.invert(spaced.tensor, record, mode: .linear) }
        _ = Self.time("Resize area → 128×128×64") { Resize.resize(image.tensor, to: [128, 128, 64], mode: .area) }
        _ = Self.time("Resize trilinear → 256×256×100") { Resize.resize(image.tensor, to: [256, 256, 100], mode: .linear) }
        _ = Self.time("Resize nearest 239×239×125 → 512×512×200") { Resize.resize(spaced.tensor, to: shape, mode: .nearest) }
        let logits = Tensor(shape: [2] + shape, data: data.map { 1 - $0 } + data)
        let labels = Self.time("argmax 2×512×512×200") { AsDiscrete.argmax(logits) }
        #expect(labels.data.reduce(0, +) > 0)
        let kept = try Self.time("KeepLargestConnectedComponent 512×512×200") { try KeepLargestConnectedComponent()(labels) }
        #expect(kept.data.reduce(0, +) <= labels.data.reduce(0, +))
        _ = try Self.time("FillHoles 512×512×200") { try FillHoles()(kept) }
        _ = try Self.time("Orientation LPS→RAS 512×512×200") {
            try Orientation(axcodes: "RAS")(ImageData(tensor: image.tensor, affine: [[-0.7, 0, 0, 0], [0, -0.7, 0, 0], [0, 0, 1.25, 0], [0, 0, 0, 1]]))
        }
    }
}
