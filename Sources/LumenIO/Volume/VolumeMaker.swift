import CNIfTI
import LumenTensor

extension Volume {
    /// A new volume on a grid given by its voxel-to-world affine (RAS+ mm), for
    /// images Lumen makes itself (phantoms, test fixtures). Both the sform and
    /// the qform are set from `affine` with code 1 (scanner anatomical), as
    /// dcm2niix does, so every reader agrees on where the voxels are.
    public static func make(tensor: Tensor, affine: [[Double]], fileName: String = "volume.nii.gz",
                            qformCode: Int32 = 1, sformCode: Int32 = 1) throws -> Volume {
        guard tensor.rank == 4, tensor.shape.allSatisfy({ $0 >= 1 }) else {
            throw NIfTIError.badDimensions(file: fileName, dims: tensor.shape)
        }
        let spatial = Array(tensor.shape.dropFirst())
        let channels = tensor.shape[0]
        var dims: [Int32] = [channels > 1 ? 4 : 3] + (spatial + [channels, 1, 1, 1]).map(Int32.init)
        guard let nim = dims.withUnsafeMutableBufferPointer({ nifti_make_new_nim($0.baseAddress, NIfTIDatatype.float32.rawValue, 0) }) else {
            throw NIfTIError.writeFailed(file: fileName, reason: "libnifti could not create a header")
        }
        let owner = NIfTIImage(taking: nim)
        let matrix = mat44(rows: affine)
        let geometry = Geometry(dims: spatial, affine: matrix.rows, source: sformCode > 0 ? .sform : .qform)
        let spacing = geometry.spacing
        var qb: Float = 0, qc: Float = 0, qd: Float = 0, qx: Float = 0, qy: Float = 0, qz: Float = 0
        var dx: Float = 0, dy: Float = 0, dz: Float = 0, qfac: Float = 0
        nifti_mat44_to_quatern(matrix, &qb, &qc, &qd, &qx, &qy, &qz, &dx, &dy, &dz, &qfac)
        nim.pointee.quatern_b = qb; nim.pointee.quatern_c = qc; nim.pointee.quatern_d = qd
        nim.pointee.qoffset_x = qx; nim.pointee.qoffset_y = qy; nim.pointee.qoffset_z = qz
        nim.pointee.qfac = qfac
        nim.pointee.qform_code = qformCode
        nim.pointee.qto_xyz = nifti_quatern_to_mat44(qb, qc, qd, qx, qy, qz, dx, dy, dz, qfac)
        nim.pointee.qto_ijk = nifti_mat44_inverse(nim.pointee.qto_xyz)
        nim.pointee.sform_code = sformCode
        nim.pointee.sto_xyz = matrix
        nim.pointee.sto_ijk = nifti_mat44_inverse(matrix)
        nim.pointee.dx = Float(spacing[0]); nim.pointee.dy = Float(spacing[1]); nim.pointee.dz = Float(spacing[2])
        withUnsafeMutableBytes(of: &nim.pointee.pixdim) { raw in
            let p = raw.bindMemory(to: Float.self)
            p[0] = qfac
            for d in 0..<3 { p[d + 1] = Float(spacing[d]) }
        }
        nim.pointee.xyz_units = 2   // NIFTI_UNITS_MM
        nim.pointee.time_units = 8  // NIFTI_UNITS_SEC
        return Volume(tensor: tensor, geometry: geometry, storedDatatype: .float32, scaling: nil,
                      fileName: fileName, header: owner)
    }
}
