import Foundation
import LumenIO

/// A label is training data for the next model: one that is shifted, resampled
/// or uses numbers the model does not know would silently teach it wrong.
enum LabelValidator {
    static let affineTolerance = 1e-4

    static func validate(_ label: Volume, against image: StoredImage, allowedValues: Set<Int>?) throws {
        let id = image.id
        guard label.channels == 1 else {
            throw StoreError.geometryMismatch(image: id, reason: "the label has \(label.channels) channels; send a single label map")
        }
        let got = label.geometry
        guard got.dims == image.geometry.dims else {
            throw StoreError.geometryMismatch(image: id, reason: "label dimensions \(got.dims) differ from the image's \(image.geometry.dims)")
        }
        var worst = 0.0
        for r in 0..<4 { for c in 0..<4 { worst = max(worst, abs(got.affine[r][c] - image.geometry.affine[r][c])) } }
        guard worst <= affineTolerance else {
            throw StoreError.geometryMismatch(
                image: id,
                reason: "the voxel-to-world matrix differs from the image's by up to \(String(format: "%.4g", worst)) (tolerance \(affineTolerance)); label orientation \(got.orientation), image \(image.geometry.orientation)")
        }
        var notIntegral = 0
        var found = Set<Int>()
        for v in label.tensor.data {
            guard v.isFinite, v >= 0, v.rounded() == v, v < 65536 else { notIntegral += 1; continue }
            found.insert(Int(v))
        }
        guard notIntegral == 0 else { throw StoreError.labelNotIntegral(image: id, count: notIntegral) }
        if let allowed = allowedValues {
            let unknown = found.subtracting(allowed).subtracting([0])
            guard unknown.isEmpty else {
                throw StoreError.labelValuesNotAllowed(image: id, found: Array(unknown.sorted().prefix(20)),
                                                       allowed: allowed.union([0]).sorted())
            }
        }
    }
}
