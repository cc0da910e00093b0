import Foundation
import Testing
@testable import LumenIO

@Suite("NIfTI datatypes")
struct NIfTIDatatypeTests {
    static let scalar: [NIfTIDatatype] = [.uint8, .int8, .uint16, .int16, .uint32, .int32, .int64, .uint64, .float32, .float64]

    @Test("every scalar datatype reads back in the file's voxel order", arguments: scalar, [".nii", ".nii.gz"])
    func roundTrip(datatype: NIfTIDatatype, ext: String) throws {
        let dir = try Fixture.directory()
        let dims = [5, 4, 3]
        let signed: Set<NIfTIDatatype> = [.int8, .int16, .int32, .int64, .float32, .float64]
        let offset: Float = signed.contains(datatype) ? -40 : 0
        let source = try Volume.make(tensor: Fixture.tensor(dims, offset: offset),
                                     affine: Fixture.affine(spacing: [0.8, 0.8, 2.5], lps: false, oblique: false))
        let url = dir.appendingPathComponent("image\(ext)")
        try source.write(to: url, datatype: datatype)

        let volume = try Volume.read(url)
        #expect(volume.storedDatatype == datatype)
        #expect(volume.tensor.shape == [1, 5, 4, 3])
        #expect(volume.tensor.data == source.tensor.data)

        if ext == ".nii" {   // the bytes on disk must be i-fastest, as the NIfTI standard says
            let raw = try Data(contentsOf: url)
            let width = datatype.bytesPerVoxel
            let index = 3 + 5 * (2 + 4 * 1)   // (i, j, k) = (3, 2, 1)
            let start = 352 + index * width
            let bytes = raw.subdata(in: start..<(start + width))
            let expected = Fixture.pattern(3, 2, 1) + offset
            #expect(decode(bytes, datatype) == Double(expected))
        }
    }

    @Test("scl_slope and scl_inter are applied")
    func scaling() throws {
        let dir = try Fixture.directory()
        let url = dir.appendingPathComponent("scaled.nii")
        let source = try Volume.make(tensor: Fixture.tensor([4, 4, 4]),
                                     affine: Fixture.affine(spacing: [1, 1, 1], lps: true, oblique: false))
        try source.write(to: url, datatype: .int16)
        try Fixture.patch(url, at: 112, bytes: Fixture.le(Float(2)) + Fixture.le(Float(-1024)))
        let volume = try Volume.read(url)
        #expect(volume.scaling?.slope == 2)
        #expect(volume.scaling?.intercept == -1024)
        #expect(volume.tensor.data == source.tensor.data.map { $0 * 2 - 1024 })
    }

    @Test("an .hdr/.img pair reads and writes", arguments: [".hdr", ".img"])
    func pair(openAs: String) throws {
        let dir = try Fixture.directory()
        let source = try Volume.make(tensor: Fixture.tensor([6, 5, 4]),
                                     affine: Fixture.affine(spacing: [0.7, 0.7, 3], lps: true, oblique: true))
        try source.write(to: dir.appendingPathComponent("pair.hdr"), datatype: .int16)
        #expect(FileManager.default.fileExists(atPath: dir.appendingPathComponent("pair.img").path))
        let volume = try Volume.read(dir.appendingPathComponent("pair\(openAs)"))
        #expect(volume.tensor.data == source.tensor.data)
        #expect(volume.header.info.sizeofHeaderFormat.contains("pair"))
        #expect(volume.geometry == source.geometry)
    }

    private func decode(_ bytes: Data, _ type: NIfTIDatatype) -> Double {
        bytes.withUnsafeBytes { raw in
            switch type {
            case .uint8: Double(raw.load(as: UInt8.self))
            case .int8: Double(raw.load(as: Int8.self))
            case .uint16: Double(raw.loadUnaligned(as: UInt16.self))
            case .int16: Double(raw.loadUnaligned(as: Int16.self))
            case .uint32: Double(raw.loadUnaligned(as: UInt32.self))
            case .int32: Double(raw.loadUnaligned(as: Int32.self))
            case .uint64: Double(raw.loadUnaligned(as: UInt64.self))
            case .int64: Double(raw.loadUnaligned(as: Int64.self))
            case .float32: Double(raw.loadUnaligned(as: Float.self))
            case .float64: raw.loadUnaligned(as: Double.self)
            default: .nan
            }
        }
    }
}
