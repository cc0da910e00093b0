/// The numeric header fields that decide geometry and where the voxels start,
/// checked as a whole before libnifti or Lumen allocates anything.
///
/// An upload is untrusted: a NaN `vox_offset` or an infinite srow used to reach
/// a trapping `Int(...)` or a resampling grid of astronomical size. Every field
/// is refused here with its name and the range it must fall in, so the person
/// who exported the file can tell what their tool wrote wrong.
struct NIfTIHeaderFields {
    let raw: [UInt8]
    let swapped: Bool
    let file: String

    /// Voxel sizes outside this range (mm) are not a scan; 1e-4 mm is below any
    /// micro-CT, 1e4 mm is ten metres.
    static let voxelSizeRange = 1e-4...1e4
    /// Translations beyond this (mm) put the volume kilometres from the scanner.
    static let originLimit = 1e7

    func float(_ offset: Int) -> Float { raw.float32(at: offset, swapped: swapped) }
    func short(_ offset: Int) -> Int { Int(raw.int16(at: offset, swapped: swapped)) }

    func checkBitpix(_ datatype: NIfTIDatatype) throws {
        let bitpix = short(72)
        guard bitpix == datatype.bytesPerVoxel * 8 else {
            throw NIfTIError.invalidHeader(file: file, field: "bitpix",
                detail: "is \(bitpix) but datatype \(datatype.name) has \(datatype.bytesPerVoxel * 8) bits per voxel")
        }
    }

    /// pixdim, the quaternion and the sform: finite everywhere, positive voxel
    /// sizes on the spatial axes, and the matrix in use invertible.
    func checkSpatialFields(ndim: Int) throws {
        for i in 0..<8 where !float(76 + 4 * i).isFinite {
            throw NIfTIError.invalidHeader(file: file, field: "pixdim[\(i)]", detail: "is \(float(76 + 4 * i)); it must be a finite number")
        }
        for i in 1...min(max(ndim, 1), 3) {
            let size = Double(float(76 + 4 * i))
            guard Self.voxelSizeRange.contains(size) else {
                throw NIfTIError.invalidHeader(file: file, field: "pixdim[\(i)]",
                    detail: "is \(size) mm; a voxel size must be between \(Self.voxelSizeRange.lowerBound) and \(Self.voxelSizeRange.upperBound) mm")
            }
        }
        let quaternion = ["quatern_b": 256, "quatern_c": 260, "quatern_d": 264, "qoffset_x": 268, "qoffset_y": 272, "qoffset_z": 276]
        for (field, offset) in quaternion.sorted(by: { $0.value < $1.value }) {
            let v = Double(float(offset))
            guard v.isFinite, abs(v) <= Self.originLimit else {
                throw NIfTIError.invalidHeader(file: file, field: field, detail: "is \(v); it must be finite and within ±\(Int(Self.originLimit)) mm")
            }
        }
        guard short(254) > 0 else { return }   // sform_code 0: the sform is not used
        var rows: [[Double]] = []
        for (r, axis) in ["x", "y", "z"].enumerated() {
            let row = (0..<4).map { Double(float(280 + 16 * r + 4 * $0)) }
            for (c, v) in row.enumerated() where !v.isFinite || abs(v) > Self.originLimit {
                throw NIfTIError.invalidHeader(file: file, field: "srow_\(axis)[\(c)]",
                    detail: "is \(v); the sform must be finite and within ±\(Int(Self.originLimit))")
            }
            rows.append(row)
        }
        try Self.checkAffine(rows + [[0, 0, 0, 1]], file: file, field: "sform")
    }

    /// The voxel data's start: a finite, whole, non-negative byte offset that
    /// lies inside the file (352 at least for a single .nii).
    func voxelOffset(isPair: Bool, fileSize: Int?) throws -> Int {
        let value = Double(float(108))
        let least = isPair ? 0 : 352
        let most = Double(fileSize ?? Int(Int32.max))
        guard value.isFinite, value <= most, let whole = Int(exactly: max(value.rounded(.down), 0)) else {
            throw NIfTIError.invalidHeader(file: file, field: "vox_offset",
                detail: "is \(value); it must be a byte offset between \(least) and \(Int(most)) (the file's size)")
        }
        return max(whole, least)
    }

    /// A voxel-to-world matrix Lumen can resample with: finite, voxel sizes in
    /// range, and not singular (a flat or degenerate grid has no inverse).
    static func checkAffine(_ a: [[Double]], file: String, field: String) throws {
        guard a.allSatisfy({ $0.allSatisfy(\.isFinite) }) else {
            throw NIfTIError.invalidHeader(file: file, field: field, detail: "has a value that is not a finite number")
        }
        for c in 0..<3 {
            let size = (0..<3).map { a[$0][c] * a[$0][c] }.reduce(0, +).squareRoot()
            guard voxelSizeRange.contains(size) else {
                throw NIfTIError.invalidHeader(file: file, field: field,
                    detail: "gives voxel axis \(c) a size of \(size) mm; it must be between \(voxelSizeRange.lowerBound) and \(voxelSizeRange.upperBound) mm")
            }
        }
        let m = a
        let det = m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1])
            - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0])
            + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0])
        let scale = (0..<3).map { c in (0..<3).map { a[$0][c] * a[$0][c] }.reduce(0, +).squareRoot() }.reduce(1, *)
        guard abs(det) > 1e-6 * scale else {
            throw NIfTIError.invalidHeader(file: file, field: field, detail: "is singular: its voxel axes are parallel, so the grid has no inverse")
        }
    }
}
