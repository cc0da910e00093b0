import Foundation

/// Writes small CT slices as DICOM Part 10 files, explicit or implicit VR
/// little endian, so the ingest tests need no Python and no pydicom.
struct DICOMWriter {
    var explicit = true
    private var bytes: [UInt8] = []

    static let uidRoot = "1.2.826.0.1.3680043.2.1125.9876543"

    /// A 3-slice 4×4 series carrying PHI in plain attributes, in a nested
    /// sequence and in a private block.
    static func writeSeries(to folder: URL, explicit: Bool = true) throws {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        for slice in 0..<3 {
            var w = DICOMWriter(explicit: explicit)
            let data = w.file(slice: slice)
            FileManager.default.createFile(atPath: folder.appendingPathComponent("IM\(slice)").path, contents: Data(data))
        }
    }

    static let phiValues = ["DOE^JOHN", "MRN123456", "19700101", "Springfield General", "DR^WHO", "42 Elm Street",
                            "ACC778899", "MRN998877", "secret-private-value", "STUDY42", uidRoot]

    mutating func file(slice: Int) -> [UInt8] {
        let sop = "\(Self.uidRoot).3.\(slice + 1)"
        // File meta (always explicit).
        var meta = DICOMWriter(explicit: true)
        meta.element(0x0002, 0x0001, "OB", [0, 1])
        meta.text(0x0002, 0x0002, "UI", "1.2.840.10008.5.1.4.1.1.2")
        meta.text(0x0002, 0x0003, "UI", sop)
        meta.text(0x0002, 0x0010, "UI", explicit ? "1.2.840.10008.1.2.1" : "1.2.840.10008.1.2")
        meta.text(0x0002, 0x0012, "UI", "1.2.3.4.5")
        var out = [UInt8](repeating: 0, count: 128) + Array("DICM".utf8)
        var group = DICOMWriter(explicit: true)
        group.element(0x0002, 0x0000, "UL", u32(UInt32(meta.bytes.count)))
        out += group.bytes + meta.bytes

        text(0x0008, 0x0016, "UI", "1.2.840.10008.5.1.4.1.1.2")
        text(0x0008, 0x0018, "UI", sop)
        text(0x0008, 0x0020, "DA", "20240102")
        text(0x0008, 0x0050, "SH", "ACC778899")
        text(0x0008, 0x0060, "CS", "CT")
        text(0x0008, 0x0080, "LO", "Springfield General")
        text(0x0008, 0x0090, "PN", "DR^WHO")
        text(0x0009, 0x0010, "LO", "ACME 1.0")
        text(0x0009, 0x1001, "LO", "secret-private-value")
        text(0x0010, 0x0010, "PN", "DOE^JOHN")
        text(0x0010, 0x0020, "LO", "MRN123456")
        text(0x0010, 0x0030, "DA", "19700101")
        // OtherPatientIDsSequence with one item holding another id: undefined lengths.
        sequence(0x0010, 0x1002) { item in item.text(0x0010, 0x0020, "LO", "MRN998877") }
        text(0x0010, 0x1040, "LO", "42 Elm Street")
        text(0x0018, 0x0050, "DS", "2.5")
        text(0x0020, 0x000D, "UI", "\(Self.uidRoot).1")
        text(0x0020, 0x000E, "UI", "\(Self.uidRoot).2")
        text(0x0020, 0x0010, "SH", "STUDY42")
        text(0x0020, 0x0011, "IS", "7")
        text(0x0020, 0x0013, "IS", "\(slice + 1)")
        text(0x0020, 0x0032, "DS", "-10\\-20\\\(Double(slice) * 2.5)")
        text(0x0020, 0x0037, "DS", "1\\0\\0\\0\\1\\0")
        text(0x0020, 0x0052, "UI", "\(Self.uidRoot).4")
        element(0x0028, 0x0002, "US", u16(1))
        text(0x0028, 0x0004, "CS", "MONOCHROME2")
        element(0x0028, 0x0010, "US", u16(4))
        element(0x0028, 0x0011, "US", u16(4))
        text(0x0028, 0x0030, "DS", "0.7\\0.7")
        element(0x0028, 0x0100, "US", u16(16))
        element(0x0028, 0x0101, "US", u16(12))
        element(0x0028, 0x0102, "US", u16(11))
        element(0x0028, 0x0103, "US", u16(0))
        text(0x0028, 0x1052, "DS", "-1024")
        text(0x0028, 0x1053, "DS", "1")
        element(0x7FE0, 0x0010, "OW", (0..<16).flatMap { u16(UInt16(1000 + 10 * $0 + slice)) })
        return out + bytes
    }

    mutating func text(_ g: UInt16, _ e: UInt16, _ vr: String, _ value: String) {
        var v = Array(value.utf8)
        if v.count % 2 == 1 { v.append(vr == "UI" ? 0 : 0x20) }
        element(g, e, vr, v)
    }


    mutating func element(_ g: UInt16, _ e: UInt16, _ vr: String, _ value: [UInt8]) {
        bytes += u16(g) + u16(e)
        if explicit {
            bytes += Array(vr.utf8)
            if ["OB", "OW", "SQ", "UN", "UT"].contains(vr) { bytes += [0, 0] + u32(UInt32(value.count)) } else {
                bytes += u16(UInt16(value.count))
            }
        } else {
            bytes += u32(UInt32(value.count))
        }
        bytes += value
    }

    mutating func sequence(_ g: UInt16, _ e: UInt16, item: (inout DICOMWriter) -> Void) {
        bytes += u16(g) + u16(e)
        if explicit { bytes += Array("SQ".utf8) + [0, 0] }
        bytes += u32(0xFFFF_FFFF)
        var inner = DICOMWriter(explicit: explicit)
        item(&inner)
        bytes += u16(0xFFFE) + u16(0xE000) + u32(0xFFFF_FFFF) + inner.bytes + u16(0xFFFE) + u16(0xE00D) + u32(0)
        bytes += u16(0xFFFE) + u16(0xE0DD) + u32(0)
    }

    func u16(_ v: UInt16) -> [UInt8] { [UInt8(v & 0xFF), UInt8(v >> 8)] }
    func u32(_ v: UInt32) -> [UInt8] { (0..<4).map { UInt8((v >> (8 * $0)) & 0xFF) } }
}
