import Foundation

/// One data element as found in a Part 10 file: where its value bytes are, so
/// a scrubber can blank them in place without re-encoding the file.
struct DICOMElement: Sendable {
    var tag: UInt32
    /// From the file (explicit VR) or the profile's dictionary (implicit VR); nil when unknown.
    var vr: String?
    var valueOffset: Int
    var length: Int
    var isSequence: Bool

    var group: UInt16 { UInt16(tag >> 16) }
    var isPrivate: Bool { group % 2 == 1 }
}

/// Just enough of DICOM PS3.5/PS3.10 to find every attribute, including those
/// nested in sequences, in little-endian files; pixel data is skipped, not read.
struct DICOMParser {
    static let implicitLittle = "1.2.840.10008.1.2"
    static let explicitBig = "1.2.840.10008.1.2.2"
    static let deflated = "1.2.840.10008.1.2.1.99"
    static let longLengthVRs: Set<String> = ["OB", "OD", "OF", "OL", "OV", "OW", "SQ", "UC", "UN", "UR", "UT", "SV", "UV"]
    static let pixelData: UInt32 = 0x7FE0_0010
    static let item: UInt32 = 0xFFFE_E000
    static let itemEnd: UInt32 = 0xFFFE_E00D
    static let sequenceEnd: UInt32 = 0xFFFE_E0DD
    static let undefined = 0xFFFF_FFFF
    static let maxDepth = 12

    let bytes: [UInt8]
    let name: String
    var explicit = true
    var elements: [DICOMElement] = []

    /// True for a Part 10 file: 128-byte preamble, then "DICM".
    static func isPart10(_ bytes: [UInt8]) -> Bool {
        bytes.count >= 132 && bytes[128] == 0x44 && bytes[129] == 0x49 && bytes[130] == 0x43 && bytes[131] == 0x4D
    }

    static func parse(_ bytes: [UInt8], name: String) throws -> (elements: [DICOMElement], transferSyntax: String) {
        guard isPart10(bytes) else {
            throw StoreError.dicom(file: name, reason: "not a DICOM Part 10 file (no DICM marker after the 128-byte preamble)")
        }
        var parser = DICOMParser(bytes: bytes, name: name)
        // The file meta group is always explicit VR little endian.
        var offset = 132
        while offset + 4 <= bytes.count, parser.u16(offset) == 0x0002 {
            offset = try parser.element(at: offset, end: bytes.count, depth: 0)
        }
        let syntax = parser.elements.first { $0.tag == 0x0002_0010 }
            .map { parser.text($0) } ?? implicitLittle
        switch syntax {
        case explicitBig: throw StoreError.dicom(file: name, reason: "explicit VR big endian (retired) is not supported")
        case deflated: throw StoreError.dicom(file: name, reason: "deflated transfer syntax is not supported")
        default: break
        }
        parser.explicit = syntax != implicitLittle
        try parser.items(from: offset, end: bytes.count, depth: 0)
        return (parser.elements, syntax)
    }

    func u16(_ o: Int) -> UInt16 { UInt16(bytes[o]) | UInt16(bytes[o + 1]) << 8 }
    func u32(_ o: Int) -> UInt32 { UInt32(u16(o)) | UInt32(u16(o + 2)) << 16 }

    func text(_ e: DICOMElement) -> String {
        let raw = bytes[e.valueOffset..<(e.valueOffset + e.length)]
        return String(decoding: raw, as: UTF8.self).trimmingCharacters(in: CharacterSet(charactersIn: " \0"))
    }

    func truncated(_ offset: Int) -> StoreError {
        .dicom(file: name, reason: "truncated or malformed element at byte \(offset)")
    }

    /// Elements from `offset` until `end`, or until a delimiter that closes the enclosing item/sequence.
    /// Returns the offset just after what was consumed.
    @discardableResult
    mutating func items(from offset: Int, end: Int, depth: Int, stopAt delimiter: UInt32? = nil) throws -> Int {
        var o = offset
        while o + 8 <= end {
            let tag = UInt32(u16(o)) << 16 | UInt32(u16(o + 2))
            if tag == Self.itemEnd || tag == Self.sequenceEnd {
                guard tag == delimiter else { throw truncated(o) }
                return o + 8
            }
            o = try element(at: o, end: end, depth: depth)
        }
        if delimiter != nil { throw truncated(o) }
        return o
    }

    mutating func element(at start: Int, end: Int, depth: Int) throws -> Int {
        guard depth <= Self.maxDepth else {
            throw StoreError.dicom(file: name, reason: "sequences nested deeper than \(Self.maxDepth) levels")
        }
        var o = start
        guard o + 8 <= end else { throw truncated(o) }
        let tag = UInt32(u16(o)) << 16 | UInt32(u16(o + 2))
        o += 4
        var vr: String?
        let length: Int
        let isMeta = (tag >> 16) == 0x0002
        if explicit || isMeta {
            let v = String(decoding: bytes[o..<(o + 2)], as: UTF8.self)
            guard v.allSatisfy({ $0.isUppercase }) else { throw truncated(start) }
            vr = v
            if Self.longLengthVRs.contains(v) {
                guard o + 8 <= end else { throw truncated(start) }
                length = Int(u32(o + 4))
                o += 8
            } else {
                length = Int(u16(o + 2))
                o += 4
            }
        } else {
            length = Int(u32(o))
            o += 4
            vr = DICOMProfile.byTag[tag]?.vr
        }
        if tag == Self.pixelData {
            elements.append(DICOMElement(tag: tag, vr: vr, valueOffset: o, length: 0, isSequence: false))
            if length == Self.undefined { return try skipEncapsulated(from: o, end: end) }
            guard o + length <= end else { throw truncated(start) }
            return o + length
        }
        if length == Self.undefined {
            // Only sequences (SQ, or UN/implicit holding one) may have undefined length here.
            elements.append(DICOMElement(tag: tag, vr: vr, valueOffset: o, length: 0, isSequence: true))
            return try sequence(from: o, end: end, depth: depth + 1, definedEnd: nil)
        }
        guard o + length <= end else { throw truncated(start) }
        let looksLikeItems = vr == "SQ" || ((vr == nil || vr == "UN") && length >= 8 && u32tag(o) == Self.item)
        elements.append(DICOMElement(tag: tag, vr: vr, valueOffset: o, length: looksLikeItems ? 0 : length,
                                     isSequence: looksLikeItems))
        if looksLikeItems { _ = try sequence(from: o, end: o + length, depth: depth + 1, definedEnd: o + length) }
        return o + length
    }

    func u32tag(_ o: Int) -> UInt32 { UInt32(u16(o)) << 16 | UInt32(u16(o + 2)) }

    /// Items of a sequence until its delimiter (undefined length) or its end.
    mutating func sequence(from offset: Int, end: Int, depth: Int, definedEnd: Int?) throws -> Int {
        var o = offset
        while o + 8 <= end {
            let tag = u32tag(o)
            let length = Int(u32(o + 4))
            if tag == Self.sequenceEnd {
                guard definedEnd == nil else { throw truncated(o) }
                return o + 8
            }
            guard tag == Self.item else { throw truncated(o) }
            o += 8
            if length == Self.undefined {
                o = try items(from: o, end: end, depth: depth, stopAt: Self.itemEnd)
            } else {
                guard o + length <= end else { throw truncated(o) }
                try items(from: o, end: o + length, depth: depth)
                o += length
            }
        }
        guard let definedEnd, o == definedEnd else { throw truncated(o) }
        return o
    }

    /// Compressed frames: an item per fragment up to the sequence delimiter.
    func skipEncapsulated(from offset: Int, end: Int) throws -> Int {
        var o = offset
        while o + 8 <= end {
            let tag = u32tag(o)
            let length = Int(u32(o + 4))
            o += 8
            if tag == Self.sequenceEnd { return o }
            guard tag == Self.item, length != Self.undefined, o + length <= end else { throw truncated(o - 8) }
            o += length
        }
        throw truncated(o)
    }
}
