import Foundation
import LumenIO
import LumenTensor
import Testing
@testable import LumenTransforms

/// MONAI 1.6.1 outputs made by scripts/make_transform_fixtures.py.
@Suite("Transforms against MONAI")
struct TransformParityTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")
    static var cases: [String] {
        guard let index = try? JSONValue(parsing: Data(contentsOf: root.appendingPathComponent("index.json"))) else {
            return ["<fixtures missing: run scripts/make_transform_fixtures.py>"]
        }
        return index["cases"]?.array?.compactMap { $0["name"]?.string } ?? []
    }

    static func matrix(_ v: JSONValue?) -> [[Double]] { v!.array!.map { $0.array!.map { $0.double! } } }

    @Test("output and affine equal MONAI's", arguments: cases)
    func parity(name: String) throws {
        let index = try JSONValue(parsing: Data(contentsOf: Self.root.appendingPathComponent("index.json")))
        let spec = try #require(index["cases"]?.array?.first { $0["name"]?.string == name })
        let x = try Npy.read(Self.root.appendingPathComponent("\(name)_x.npy"))
        let expected = try Npy.read(Self.root.appendingPathComponent("\(name)_y.npy"))
        let image = ImageData(tensor: x, affine: Self.matrix(spec["affine"]))
        let args = spec["args"]!
        let result: ImageData
        switch spec["kind"]!.string! {
        case "orientation":
            let (out, record) = try Orientation(axcodes: args["axcodes"]!.string!)(image)
            result = out
            #expect(Orientation.invert(out.tensor, record) == x, "inverse restores the input exactly")
        case "spacing":
            let mode: Resample.Mode = args["mode"]!.string! == "nearest" ? .nearest : .linear
            (result, _) = Spacing(pixdim: args["pixdim"]!.array!.map { $0.double! }, mode: mode)(image)
        default:
            result = ScaleIntensityRange(aMin: Float(args["a_min"]!.double!), aMax: Float(args["a_max"]!.double!),
                                         bMin: Float(args["b_min"]!.double!), bMax: Float(args["b_max"]!.double!),
                                         clip: args["clip"]!.bool!)(image)
        }
        #expect(result.tensor.shape == expected.shape)
        let worst = zip(result.tensor.data, expected.data).map { abs($0 - $1) }.max() ?? .infinity
        #expect(worst <= 1e-4 * max(1, expected.data.map(abs).max() ?? 0), "max |Δ| = \(worst)")
        let affine = Self.matrix(spec["out_affine"])
        for r in 0..<4 { for c in 0..<4 { #expect(abs(result.affine[r][c] - affine[r][c]) < 1e-6, "affine[\(r)][\(c)]") } }
    }

    @Test("spacing there and back returns to the input grid")
    func spacingInverse() {
        let x = Tensor(shape: [1, 9, 8, 6], data: (0..<432).map { Float($0 % 17) })
        let image = ImageData(tensor: x, affine: [[1.1, 0, 0, 3], [0, 1.3, 0, -2], [0, 0, 2.5, 7], [0, 0, 0, 1]])
        let (out, record) = Spacing(pixdim: [0.55, 0.65, 1.25], mode: .nearest)(image)
        #expect(out.spatialShape == [17, 15, 11])
        #expect(Spacing.invert(out.tensor, record, mode: .nearest) == x)
    }

    @Test("bad axis codes are refused", arguments: ["RAA", "XYZ", "RA"])
    func badCodes(codes: String) {
        let image = ImageData(tensor: Tensor(zeros: [1, 2, 2, 2]), affine: [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]])
        #expect(throws: Orientation.Failure.self) { try Orientation(axcodes: codes)(image) }
    }
}
