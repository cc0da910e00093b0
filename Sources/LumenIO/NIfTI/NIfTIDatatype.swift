/// NIfTI-1 datatype codes. Only the scalar ones can become a `Volume`;
/// the others are named so error messages can say what was sent.
public enum NIfTIDatatype: Int32, Sendable, CaseIterable {
    case uint8 = 2, int16 = 4, int32 = 8, float32 = 16, complex64 = 32, float64 = 64, rgb24 = 128
    case int8 = 256, uint16 = 512, uint32 = 768, int64 = 1024, uint64 = 1280
    case float128 = 1536, complex128 = 1792, complex256 = 2048, rgba32 = 2304

    public var name: String {
        switch self {
        case .uint8: "uint8"
        case .int16: "int16"
        case .int32: "int32"
        case .float32: "float32"
        case .complex64: "complex64"
        case .float64: "float64"
        case .rgb24: "RGB24"
        case .int8: "int8"
        case .uint16: "uint16"
        case .uint32: "uint32"
        case .int64: "int64"
        case .uint64: "uint64"
        case .float128: "float128"
        case .complex128: "complex128"
        case .complex256: "complex256"
        case .rgba32: "RGBA32"
        }
    }

    public var isScalar: Bool {
        switch self {
        case .complex64, .complex128, .complex256, .rgb24, .rgba32, .float128: false
        default: true
        }
    }

    public var bytesPerVoxel: Int {
        switch self {
        case .uint8, .int8: 1
        case .int16, .uint16: 2
        case .int32, .uint32, .float32, .rgba32: 4
        case .rgb24: 3
        case .float64, .int64, .uint64, .complex64: 8
        case .float128, .complex128: 16
        case .complex256: 32
        }
    }
}
