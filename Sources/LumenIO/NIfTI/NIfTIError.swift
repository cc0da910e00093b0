/// Everything that can go wrong reading or writing a NIfTI file.
///
/// Each case carries the file name so the message can be shown to a person
/// (a radiologist uploading through Slicer, or an admin reading logs) as is.
public enum NIfTIError: Error, Equatable, CustomStringConvertible {
    case notFound(file: String)
    case unsupportedExtension(file: String)
    case truncatedHeader(file: String, bytes: Int)
    case wrongMagic(file: String, magic: String)
    case wrongHeaderSize(file: String, size: Int32)
    case nifti2NotSupported(file: String)
    case nonScalarDatatype(file: String, code: Int32, name: String)
    case unknownDatatype(file: String, code: Int32)
    case badDimensions(file: String, dims: [Int])
    case tooManyVoxels(file: String, dims: [Int], limit: Int)
    case truncatedData(file: String, expected: Int, available: Int)
    case gzipEndsEarly(file: String)
    case readFailed(file: String)
    case writeFailed(file: String, reason: String)
    case shapeMismatch(file: String, expected: [Int], got: [Int])
    /// A header field outside what a scan can be; `detail` says the allowed range.
    case invalidHeader(file: String, field: String, detail: String)

    public var description: String {
        switch self {
        case .notFound(let f):
            return "\(f): no such file"
        case .unsupportedExtension(let f):
            return "\(f): not a NIfTI file name; use .nii, .nii.gz or a .hdr/.img pair"
        case .truncatedHeader(let f, let n):
            return "\(f): truncated: a NIfTI-1 header needs 348 bytes, the file has \(n)"
        case .wrongMagic(let f, let m):
            return "\(f): wrong magic \"\(m)\"; expected \"n+1\" (.nii) or \"ni1\" (.hdr/.img); is this a NIfTI file?"
        case .wrongHeaderSize(let f, let s):
            return "\(f): header size field is \(s), expected 348; the file is not NIfTI-1 or is corrupt"
        case .nifti2NotSupported(let f):
            return "\(f): NIfTI-2 files are not supported; save the volume as NIfTI-1"
        case .nonScalarDatatype(let f, let code, let name):
            return "\(f): datatype \(code) (\(name)) is not supported; send a scalar volume (integer or float)"
        case .unknownDatatype(let f, let code):
            return "\(f): datatype code \(code) is not a valid NIfTI datatype"
        case .badDimensions(let f, let dims):
            return "\(f): invalid dimensions \(dims); every dimension must be at least 1 and dim[0] between 1 and 7"
        case .tooManyVoxels(let f, let dims, let limit):
            return "\(f): dimensions \(dims) exceed the limit of \(limit) voxels; crop or downsample the volume"
        case .truncatedData(let f, let expected, let available):
            return "\(f): truncated: the header promises \(expected) bytes of voxel data, the file holds \(available)"
        case .gzipEndsEarly(let f):
            return "\(f): the gzip stream ends before all voxel data was read; the upload is incomplete or corrupt"
        case .readFailed(let f):
            return "\(f): libnifti could not read the file"
        case .writeFailed(let f, let reason):
            return "\(f): could not write: \(reason)"
        case .invalidHeader(let f, let field, let detail):
            return "\(f): header field \(field) \(detail)"
        case .shapeMismatch(let f, let expected, let got):
            return "\(f): data shape \(got) does not match the reference geometry \(expected)"
        }
    }
}
