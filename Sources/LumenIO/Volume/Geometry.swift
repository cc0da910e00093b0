import CNIfTI

/// Where a volume's voxel-to-world matrix came from, in NIfTI's order of preference.
public enum AffineSource: String, Sendable {
    case sform, qform, pixdim
}

/// The voxel grid of a volume in NIfTI world space (RAS+, millimetres).
public struct Geometry: Sendable, Equatable {
    /// Spatial sizes along the file's i, j, k axes.
    public var dims: [Int]
    /// 4×4 voxel (i, j, k) → world matrix, row major.
    public var affine: [[Double]]
    public var source: AffineSource

    public init(dims: [Int], affine: [[Double]], source: AffineSource) {
        self.dims = dims
        self.affine = affine
        self.source = source
    }

    /// Voxel size along i, j, k: the lengths of the affine's columns, which is
    /// what MONAI uses; it agrees with pixdim unless the sform says otherwise.
    public var spacing: [Double] {
        (0..<3).map { c in (0..<3).map { affine[$0][c] * affine[$0][c] }.reduce(0, +).squareRoot() }
    }

    /// Axis codes as nibabel and ITK-SNAP print them: each letter is where that
    /// voxel axis points, so "LPS" is the DICOM/ITK convention and "RAS" NIfTI's.
    public var orientation: String {
        var i: Int32 = 0, j: Int32 = 0, k: Int32 = 0
        nifti_mat44_to_orientation(mat44(rows: affine), &i, &j, &k)
        return [i, j, k].map(Self.letter).joined()
    }

    /// True when the axes are not aligned with the world axes (a tilted gantry or
    /// a rotated acquisition); resampling code must then use the full matrix.
    public var isOblique: Bool {
        for c in 0..<3 {
            let column = (0..<3).map { abs(affine[$0][c]) }
            let largest = column.max() ?? 0
            if column.filter({ $0 > largest * 1e-6 }).count > 1 { return true }
        }
        return false
    }

    static func letter(_ code: Int32) -> String {
        switch code {
        case 1: "R"   // NIFTI_L2R: the axis runs from left to right
        case 2: "L"
        case 3: "A"
        case 4: "P"
        case 5: "S"
        case 6: "I"
        default: "?"
        }
    }
}
