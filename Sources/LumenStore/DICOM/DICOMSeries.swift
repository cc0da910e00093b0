import Crypto
import Foundation

/// The files of one DICOM series folder, parsed, with what in them may identify
/// the patient. Findings are attribute keywords only: values are never kept
/// outside the file bytes, so no report or log can leak them.
struct DICOMSeries {
    struct File {
        var relativeName: String
        var bytes: [UInt8]
        var elements: [DICOMElement]
    }

    var files: [File]

    static func load(directory: URL) throws -> DICOMSeries {
        let fm = FileManager.default
        guard let walker = fm.enumerator(at: directory, includingPropertiesForKeys: [.isRegularFileKey],
                                         options: [.skipsHiddenFiles]) else {
            throw StoreError.io(path: directory.lastPathComponent, reason: "cannot list the folder")
        }
        var files: [File] = []
        var index = 0
        for case let url as URL in walker {
            guard (try? url.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true,
                  url.lastPathComponent.uppercased() != "DICOMDIR" else { continue }
            index += 1
            // Name files by position in reports: the originals' names may themselves carry PHI.
            let label = "file \(index) of the series"
            let data: Data
            do { data = try Data(contentsOf: url) } catch {
                throw StoreError.io(path: label, reason: "cannot be read")
            }
            let bytes = [UInt8](data)
            let (elements, _) = try DICOMParser.parse(bytes, name: label)
            files.append(File(relativeName: label, bytes: bytes, elements: elements))
        }
        guard !files.isEmpty else {
            throw StoreError.dicom(file: directory.lastPathComponent, reason: "the folder holds no DICOM files")
        }
        return DICOMSeries(files: files)
    }

    /// Basic-profile attributes holding a value, by keyword, plus private attributes as one entry.
    /// Instance UIDs are not listed: every DICOM file has them, so they are remapped, not refused.
    var findings: [String] {
        var found = Set<String>()
        var privateCount = 0
        for file in files {
            for e in file.elements where !e.isSequence && hasValue(e, in: file.bytes) {
                if let attribute = DICOMProfile.byTag[e.tag], attribute.action == .blank {
                    found.insert(attribute.keyword)
                } else if Self.isScrubbablePrivate(e) {
                    privateCount += 1
                }
            }
        }
        var list = found.sorted()
        if privateCount > 0 { list.append("private attributes (\(privateCount))") }
        return list
    }

    /// Remapped UID attributes by keyword, for the audit record.
    var uidKeywords: [String] {
        var found = Set<String>()
        for file in files {
            for e in file.elements where !e.isSequence {
                if let attribute = DICOMProfile.byTag[e.tag], attribute.action == .remapUID, hasValue(e, in: file.bytes) {
                    found.insert(attribute.keyword)
                }
            }
        }
        return found.sorted()
    }

    func hasValue(_ e: DICOMElement, in bytes: [UInt8]) -> Bool {
        bytes[e.valueOffset..<(e.valueOffset + e.length)].contains { $0 != 0x20 && $0 != 0 }
    }

    /// Private creators (gggg,0010–00FF) only name the vendor block; dcm2niix needs them.
    static func isScrubbablePrivate(_ e: DICOMElement) -> Bool {
        guard e.isPrivate else { return false }
        let element = e.tag & 0xFFFF
        return !(0x0010...0x00FF).contains(element)
    }

    /// Blanks profile attributes and private values in place (same lengths, so no
    /// enclosing length changes) and remaps instance UIDs with a salted hash, so
    /// slices of one series still share their series UID.
    func scrubbed(salt: String) throws -> [[UInt8]] {
        try files.map { file in
            var bytes = file.bytes
            for e in file.elements where !e.isSequence && e.length > 0 {
                let range = e.valueOffset..<(e.valueOffset + e.length)
                if let attribute = DICOMProfile.byTag[e.tag] {
                    switch attribute.action {
                    case .blank:
                        let fill: UInt8 = DICOMProfile.binaryVRs.contains(e.vr ?? attribute.vr) ? 0 : 0x20
                        for i in range { bytes[i] = fill }
                    case .remapUID:
                        let old = String(decoding: file.bytes[range], as: UTF8.self)
                            .trimmingCharacters(in: CharacterSet(charactersIn: " \0"))
                        guard !old.isEmpty else { continue }
                        let new = try Self.remap(uid: old, salt: salt, fieldLength: e.length, file: file.relativeName)
                        for (i, b) in new.enumerated() { bytes[range.lowerBound + i] = b }
                    }
                } else if Self.isScrubbablePrivate(e) {
                    let fill: UInt8 = e.vr.map { DICOMProfile.binaryVRs.contains($0) } ?? true ? 0 : 0x20
                    for i in range { bytes[i] = fill }
                }
            }
            return bytes
        }
    }

    /// A `2.25.<digits>` UID of exactly `fieldLength` bytes (NUL-padded when the
    /// length is even and one digit short), derived from the salted hash.
    static func remap(uid: String, salt: String, fieldLength: Int, file: String) throws -> [UInt8] {
        guard fieldLength >= 8, fieldLength <= 64 else {
            throw StoreError.dicom(file: file, reason: "a UID field of \(fieldLength) bytes cannot be remapped")
        }
        var digits: [UInt8] = []
        var counter = 0
        while digits.count < fieldLength - 5 {
            let digest = SHA256.hash(data: Data("\(salt)|\(uid)|\(counter)".utf8))
            digits += digest.map { UInt8(ascii: "0") + $0 % 10 }
            counter += 1
        }
        digits = Array(digits.prefix(fieldLength - 5))
        if digits[0] == UInt8(ascii: "0") { digits[0] = UInt8(ascii: "1") }   // no leading zero in a UID component
        return Array("2.25.".utf8) + digits
    }
}
