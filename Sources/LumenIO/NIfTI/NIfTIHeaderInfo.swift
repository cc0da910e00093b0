import CNIfTI

/// The header fields a person checks when a segmentation lands in the wrong
/// place: which transform is in force, the units, the raw pixdim and codes.
public struct NIfTIHeaderInfo: Sendable, Equatable {
    public var dim: [Int]
    public var pixdim: [Float]
    public var qformCode: Int
    public var sformCode: Int
    public var qform: [[Double]]
    public var sform: [[Double]]
    public var quaternion: [Float]   // b, c, d, qoffset x, y, z, qfac
    public var xyzUnits: String
    public var timeUnits: String
    public var description: String
    public var sizeofHeaderFormat: String

    public static func xformName(_ code: Int) -> String {
        switch code {
        case 0: "unknown"
        case 1: "scanner_anat"
        case 2: "aligned_anat"
        case 3: "talairach"
        case 4: "mni_152"
        case 5: "template_other"
        default: "invalid(\(code))"
        }
    }

    static func unitName(_ code: Int32) -> String {
        switch code {
        case 1: "m"
        case 2: "mm"
        case 3: "um"
        case 8: "s"
        case 16: "ms"
        case 24: "us"
        case 32: "Hz"
        case 40: "ppm"
        case 48: "rad/s"
        default: "unknown"
        }
    }
}

extension NIfTIImage {
    public var info: NIfTIHeaderInfo {
        let im = image
        let dim = withUnsafeBytes(of: im.dim) { Array($0.bindMemory(to: Int32.self)).map(Int.init) }
        let pixdim = withUnsafeBytes(of: im.pixdim) { Array($0.bindMemory(to: Float.self)) }
        return NIfTIHeaderInfo(
            dim: Array(dim.prefix(Int(max(1, min(7, dim[0]))) + 1)),
            pixdim: Array(pixdim.prefix(Int(max(1, min(7, dim[0]))) + 1)),
            qformCode: Int(im.qform_code), sformCode: Int(im.sform_code),
            qform: im.qto_xyz.rows, sform: im.sto_xyz.rows,
            quaternion: [im.quatern_b, im.quatern_c, im.quatern_d, im.qoffset_x, im.qoffset_y, im.qoffset_z, im.qfac],
            xyzUnits: NIfTIHeaderInfo.unitName(im.xyz_units), timeUnits: NIfTIHeaderInfo.unitName(im.time_units),
            description: cString(im.descrip),
            sizeofHeaderFormat: im.nifti_type == 2 ? "NIfTI-1 pair (.hdr/.img)" : "NIfTI-1 single file")
    }
}
