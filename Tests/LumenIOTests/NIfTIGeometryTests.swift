import Foundation
import Testing
@testable import LumenIO

@Suite("NIfTI geometry")
struct NIfTIGeometryTests {
    struct Case: CustomTestStringConvertible, Sendable {
        var lps: Bool
        var oblique: Bool
        var testDescription: String { (lps ? "LPS" : "RAS") + (oblique ? " oblique" : " axial") }
    }

    static let cases = [Case(lps: false, oblique: false), Case(lps: true, oblique: false),
                        Case(lps: false, oblique: true), Case(lps: true, oblique: true)]

    @Test("read → write → read keeps the header geometry bit for bit", arguments: cases)
    func roundTrip(c: Case) throws {
        let dir = try Fixture.directory()
        let made = try Volume.make(tensor: Fixture.tensor([7, 6, 5]),
                                   affine: Fixture.affine(spacing: [0.6, 0.9, 2.5], lps: c.lps, oblique: c.oblique))
        let first = dir.appendingPathComponent("first.nii.gz")
        try made.write(to: first, datatype: .int16)
        let read1 = try Volume.read(first)
        #expect(read1.geometry.orientation == (c.lps ? "LPS" : "RAS"))
        #expect(read1.geometry.isOblique == c.oblique)

        // A label map written from the read volume (the server's path) and read again.
        let labels = try read1.replacing(tensor: Fixture.tensor([7, 6, 5], modulo: 5))
        let second = dir.appendingPathComponent("second.nii")
        try labels.write(to: second, datatype: .uint8)
        let read2 = try Volume.read(second)

        let h1 = read1.header.info, h2 = read2.header.info
        #expect(h2.qformCode == h1.qformCode)
        #expect(h2.sformCode == h1.sformCode)
        #expect(h2.sform == h1.sform)
        #expect(h2.qform == h1.qform)
        #expect(h2.quaternion == h1.quaternion)
        #expect(h2.pixdim == h1.pixdim)
        #expect(h2.xyzUnits == h1.xyzUnits && h2.xyzUnits == "mm")
        #expect(read2.geometry == read1.geometry)
        #expect(read2.tensor.data == labels.tensor.data)
        #expect(read2.storedDatatype == .uint8)
        for (a, b) in zip(read1.geometry.spacing, [0.6, 0.9, 2.5]) { #expect(abs(a - b) < 1e-5) }

        // The reply's in-memory encoding (no scratch file) reads back as the file does.
        let memory = dir.appendingPathComponent("memory.nii.gz")
        try labels.encodedNIfTIGz(datatype: .uint8, compression: 1).write(to: memory)
        let read3 = try Volume.read(memory)
        let h3 = read3.header.info
        #expect(h3.qformCode == h1.qformCode && h3.sformCode == h1.sformCode && h3.sform == h1.sform && h3.qform == h1.qform)
        #expect(h3.quaternion == h1.quaternion && h3.pixdim == h1.pixdim && h3.xyzUnits == "mm")
        #expect(read3.geometry == read1.geometry)
        #expect(read3.tensor.data == labels.tensor.data)
        #expect(read3.storedDatatype == .uint8)
        #expect(try Data(contentsOf: memory).prefix(2) == Data([0x1f, 0x8b]))   // gzip
    }

    @Test("the qform is used when there is no sform, then pixdim")
    func fallbacks() throws {
        let dir = try Fixture.directory()
        let affine = Fixture.affine(spacing: [1, 2, 3], lps: true, oblique: false)
        let qOnly = try Volume.make(tensor: Fixture.tensor([3, 3, 3]), affine: affine, qformCode: 1, sformCode: 0)
        try qOnly.write(to: dir.appendingPathComponent("q.nii"))
        let q = try Volume.read(dir.appendingPathComponent("q.nii"))
        #expect(q.geometry.source == .qform)
        #expect(q.geometry.orientation == "LPS")

        let none = try Volume.make(tensor: Fixture.tensor([3, 3, 3]), affine: affine, qformCode: 0, sformCode: 0)
        try none.write(to: dir.appendingPathComponent("p.nii"))
        let p = try Volume.read(dir.appendingPathComponent("p.nii"))
        #expect(p.geometry.source == .pixdim)
        #expect(p.geometry.spacing.map { ($0 * 1e4).rounded() / 1e4 } == [1, 2, 3])
    }

    @Test("a result with another shape is refused, not written")
    func shapeMismatch() throws {
        let made = try Volume.make(tensor: Fixture.tensor([3, 3, 3]),
                                   affine: Fixture.affine(spacing: [1, 1, 1], lps: false, oblique: false))
        #expect(throws: NIfTIError.self) { try made.replacing(tensor: Fixture.tensor([3, 3, 2])) }
    }
}
