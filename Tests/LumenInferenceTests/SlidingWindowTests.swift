import Foundation
import LumenIO
import LumenTensor
import Testing
@testable import LumenInference

@Suite("Sliding window")
struct SlidingWindowTests {
    @Test("window starts follow MONAI (networks.md example)")
    func starts() {
        #expect(WindowMath.starts(size: 226, roi: 96, overlap: 0.5) == [0, 48, 96, 130])
        #expect(WindowMath.starts(size: 257, roi: 96, overlap: 0.5) == [0, 48, 96, 144, 161])
        #expect(WindowMath.starts(size: 113, roi: 96, overlap: 0.5) == [0, 17])
        #expect(WindowMath.windows(size: [226, 257, 113], roi: [96, 96, 96], overlap: 0.5).count == 40)
        #expect(WindowMath.starts(size: 226, roi: 96, overlap: 0.25) == [0, 72, 130])
        #expect(WindowMath.starts(size: 96, roi: 96, overlap: 0.25) == [0])
    }

    @Test("gaussian weights: unnormalised peak and the 1e-3 floor")
    func gaussian() {
        let map = WindowMath.importanceMap(roi: [96, 96, 96], mode: .gaussian)
        #expect(abs((map.max() ?? 0) - 0.99740) < 1e-4)
        #expect(map.min() == 1e-3)
        #expect(map[0] == 1e-3)
    }

    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/sliding_window")
    static var cases: [String] {
        guard let index = try? JSONValue(parsing: Data(contentsOf: root.appendingPathComponent("index.json"))) else {
            return ["<fixtures missing: run scripts/fixtures/make_inference_fixtures.py>"]
        }
        return index["cases"]?.array?.compactMap { $0["name"]?.string } ?? []
    }

    @Test("blended output equals MONAI's sliding_window_inference", arguments: cases)
    func parity(name: String) throws {
        let index = try JSONValue(parsing: Data(contentsOf: Self.root.appendingPathComponent("index.json")))
        let spec = try #require(index["cases"]?.array?.first { $0["name"]?.string == name })
        let x = try Npy.read(Self.root.appendingPathComponent("\(name)_x.npy"))
        let expected = try Npy.read(Self.root.appendingPathComponent("\(name)_y.npy"))
        let inferer = SlidingWindowInferer(
            roiSize: spec["roi"]!.array!.map { $0.int! }, overlap: spec["overlap"]!.double!,
            mode: WindowMath.BlendMode(rawValue: spec["mode"]!.string!)!, padding: .init(rawValue: spec["padding"]!.string!)!)
        let y = try inferer(x) { window in
            // The fixture's predictor: channel 0 = first channel + window mean, channel 1 = 2·last channel − 1.
            let c = window.shape[1], count = window.spatialCount
            let mean = window.data.reduce(0, +) / Float(window.count)
            let first = window.data[0..<count].map { $0 + mean }
            let last = window.data[((c - 1) * count)..<(c * count)].map { 2 * $0 - 1 }
            return Tensor(shape: [1, 2] + window.spatialShape, data: first + last)
        }
        #expect(y.shape == expected.shape)
        let worst = zip(y.data, expected.data).map { abs($0 - $1) }.max() ?? .infinity
        #expect(worst < 1e-4, "max |Δ| = \(worst)")
    }

    @Test("a predictor that changes the window size is reported")
    func badPredictor() {
        let inferer = SlidingWindowInferer(roiSize: [4, 4, 4])
        #expect(throws: InferenceError.self) {
            try inferer(Tensor(zeros: [1, 1, 6, 6, 6])) { _ in Tensor(zeros: [1, 1, 2, 2, 2]) }
        }
    }
}
