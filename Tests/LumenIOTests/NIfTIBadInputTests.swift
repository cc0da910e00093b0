import Foundation
import Testing
@testable import LumenIO

@Suite("NIfTI bad input")
struct NIfTIBadInputTests {
    private func validFile(_ name: String = "ct.nii", dims: [Int] = [8, 8, 8]) throws -> URL {
        let url = try Fixture.directory().appendingPathComponent(name)
        let volume = try Volume.make(tensor: Fixture.tensor(dims),
                                     affine: Fixture.affine(spacing: [1, 1, 1], lps: false, oblique: false))
        try volume.write(to: url, datatype: .int16)
        return url
    }

    @Test("a file cut inside the voxel data")
    func truncatedData() throws {
        let url = try validFile()
        let data = try Data(contentsOf: url)
        try data.prefix(data.count - 100).write(to: url)
        #expect(throws: NIfTIError.truncatedData(file: "ct.nii", expected: 1024, available: 924)) {
            try Volume.read(url)
        }
    }

    @Test("a file cut inside the header")
    func truncatedHeader() throws {
        let url = try validFile()
        try Data(contentsOf: url).prefix(200).write(to: url)
        #expect(throws: NIfTIError.truncatedHeader(file: "ct.nii", bytes: 200)) { try Volume.read(url) }
    }

    @Test("dimensions whose product overflows")
    func overflow() throws {
        let url = try validFile()
        try Fixture.patch(url, at: 40, bytes: [7, 32767, 32767, 32767, 32767, 32767, 32767, 32767].flatMap { Fixture.le(Int16($0)) })
        #expect(throws: NIfTIError.tooManyVoxels(file: "ct.nii", dims: [Int](repeating: 32767, count: 7), limit: Volume.defaultMaxVoxels)) {
            try Volume.read(url)
        }
    }

    @Test("dimensions over the configured voxel limit")
    func overLimit() throws {
        let url = try validFile()
        #expect(throws: NIfTIError.tooManyVoxels(file: "ct.nii", dims: [8, 8, 8], limit: 500)) {
            try Volume.read(url, maxVoxels: 500)
        }
    }

    @Test("zero or negative dimensions")
    func badDimensions() throws {
        let url = try validFile()
        try Fixture.patch(url, at: 42, bytes: Fixture.le(Int16(-4)))
        #expect(throws: NIfTIError.badDimensions(file: "ct.nii", dims: [-4, 8, 8])) { try Volume.read(url) }
    }

    @Test("non-scalar datatypes", arguments: [(Int16(128), "RGB24"), (Int16(32), "complex64"), (Int16(1792), "complex128")])
    func nonScalar(code: Int16, name: String) throws {
        let url = try validFile()
        try Fixture.patch(url, at: 70, bytes: Fixture.le(code))
        #expect(throws: NIfTIError.nonScalarDatatype(file: "ct.nii", code: Int32(code), name: name)) { try Volume.read(url) }
    }

    @Test("an unknown datatype code")
    func unknownDatatype() throws {
        let url = try validFile()
        try Fixture.patch(url, at: 70, bytes: Fixture.le(Int16(3)))
        #expect(throws: NIfTIError.unknownDatatype(file: "ct.nii", code: 3)) { try Volume.read(url) }
    }

    @Test("a wrong magic")
    func wrongMagic() throws {
        let url = try validFile()
        try Fixture.patch(url, at: 344, bytes: Array("xy1".utf8) + [0])
        #expect(throws: NIfTIError.wrongMagic(file: "ct.nii", magic: "xy1")) { try Volume.read(url) }
    }

    @Test("not a NIfTI header at all")
    func wrongHeaderSize() throws {
        let url = try validFile()
        try Fixture.patch(url, at: 0, bytes: Fixture.le(Int32(1234)))
        #expect(throws: NIfTIError.wrongHeaderSize(file: "ct.nii", size: 1234)) { try Volume.read(url) }
    }

    @Test("a gzip stream that ends early")
    func gzipEndsEarly() throws {
        let url = try validFile("ct.nii.gz", dims: [64, 64, 32])
        let data = try Data(contentsOf: url)
        try data.prefix(data.count / 2).write(to: url)
        #expect(throws: NIfTIError.gzipEndsEarly(file: "ct.nii.gz")) { try Volume.read(url) }
    }

    @Test("a missing file and a wrong extension")
    func names() throws {
        let dir = try Fixture.directory()
        #expect(throws: NIfTIError.notFound(file: "none.nii.gz")) { try Volume.read(dir.appendingPathComponent("none.nii.gz")) }
        #expect(throws: NIfTIError.unsupportedExtension(file: "scan.dcm")) { try Volume.read(dir.appendingPathComponent("scan.dcm")) }
    }

    @Test("messages name the file and the problem")
    func messages() {
        let text = "\(NIfTIError.nonScalarDatatype(file: "image.nii.gz", code: 128, name: "RGB24"))"
        #expect(text == "image.nii.gz: datatype 128 (RGB24) is not supported; send a scalar volume (integer or float)")
    }
}
