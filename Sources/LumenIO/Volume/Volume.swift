import CNIfTI
import Foundation
import LumenTensor

/// A medical image: Float32 voxels plus the geometry that places them in the patient.
///
/// `tensor` is channel first, `[C, I, J, K]`, with I, J, K the file's own voxel axes,
/// which is the array MONAI's LoadImage + EnsureChannelFirst hands to a network; so a
/// transform ported from MONAI indexes it the same way.
public struct Volume: Sendable {
    public var tensor: Tensor
    public var geometry: Geometry
    /// How the voxels were stored on disk, before scaling.
    public var storedDatatype: NIfTIDatatype
    public var scaling: (slope: Double, intercept: Double)?
    public var fileName: String
    /// The source header, kept so results are written with its geometry bit for bit.
    public let header: NIfTIImage

    /// 512 × 512 × 1024: any abdominal CT. docs/security.md turns it into a
    /// memory bound per request (about 44 bytes per voxel, so 11 GiB here).
    public static let defaultMaxVoxels = 1 << 28

    public var channels: Int { tensor.shape[0] }
    public var spatialShape: [Int] { Array(tensor.shape.dropFirst()) }

    /// A volume with new voxels on this volume's grid (a label map, a probability map).
    public func replacing(tensor: Tensor) throws -> Volume {
        guard Array(tensor.shape.dropFirst()) == spatialShape else {
            throw NIfTIError.shapeMismatch(file: fileName, expected: spatialShape, got: Array(tensor.shape.dropFirst()))
        }
        var copy = self
        copy.tensor = tensor
        return copy
    }

    init(tensor: Tensor, geometry: Geometry, storedDatatype: NIfTIDatatype,
         scaling: (slope: Double, intercept: Double)?, fileName: String, header: NIfTIImage) {
        self.tensor = tensor
        self.geometry = geometry
        self.storedDatatype = storedDatatype
        self.scaling = scaling
        self.fileName = fileName
        self.header = header
    }
}

extension Volume {
    /// Reads `.nii`, `.nii.gz` or a `.hdr`/`.img` pair; `maxVoxels` bounds what an
    /// upload may make the server allocate.
    public static func read(_ url: URL, maxVoxels: Int = defaultMaxVoxels) throws -> Volume {
        nifti_set_debug_level(0)
        let probe = try NIfTIHeaderProbe.probe(path: url.path, maxVoxels: maxVoxels)
        let name = url.lastPathComponent
        guard let nim = nifti_image_read(probe.headerPath, 0) else { throw NIfTIError.readFailed(file: name) }
        let owner = NIfTIImage(taking: nim)
        let spatialDims = [Int(nim.pointee.nx), Int(nim.pointee.ny), Int(nim.pointee.nz)]
        let grid = geometry(of: nim.pointee, spatial: spatialDims)
        try NIfTIHeaderFields.checkAffine(grid.affine, file: name, field: grid.source.rawValue)
        let data = try VoxelReader.read(probe, into: nim, name: name)
        defer { free(data) }
        let image = nim.pointee
        let spatial = [Int(image.nx), Int(image.ny), Int(image.nz)]
        let channels = Int(image.nvox) / spatial.reduce(1, *)
        let slope = Double(image.scl_slope), intercept = Double(image.scl_inter)
        let scaled = slope != 0 && !(slope == 1 && intercept == 0)
        let values = VoxelCodec.decode(data, datatype: probe.datatype, spatial: spatial, channels: channels,
                                       slope: scaled ? slope : 1, intercept: scaled ? intercept : 0)
        return Volume(tensor: Tensor(shape: [channels] + spatial, data: values),
                      geometry: grid,
                      storedDatatype: probe.datatype,
                      scaling: slope != 0 ? (slope, intercept) : nil,
                      fileName: name, header: owner)
    }

    static func geometry(of image: nifti_image, spatial: [Int]) -> Geometry {
        if image.sform_code > 0 {
            return Geometry(dims: spatial, affine: image.sto_xyz.rows, source: .sform)
        }
        if image.qform_code > 0 {
            return Geometry(dims: spatial, affine: image.qto_xyz.rows, source: .qform)
        }
        let d = [image.dx, image.dy, image.dz].map { Double($0 > 0 ? $0 : 1) }
        let affine = (0..<4).map { r in (0..<4).map { c in r == c ? (r < 3 ? d[r] : 1) : 0 } }
        return Geometry(dims: spatial, affine: affine, source: .pixdim)
    }
}
