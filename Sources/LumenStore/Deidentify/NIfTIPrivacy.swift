import Foundation
import LumenIO

/// The places a NIfTI file can carry a name or id besides its voxels: four
/// free-text header fields, header extensions (ecode 2 is a whole DICOM
/// header), and the name and comment in a gzip header.
enum NIfTIPrivacy {
    /// Field names that hold something other than harmless tool text; never the values.
    static func findings(file: URL, name: String) throws -> [String] {
        let text: NIfTIText
        do { text = try NIfTIText.read(file) } catch {
            throw StoreError.unreadableVolume(name: name, reason: "the NIfTI header cannot be read")
        }
        var found = text.fields.filter { !PHIText.isHarmlessHeaderText($0.value) }.map { "NIfTI header field \($0.name)" }
        if !text.extensionCodes.isEmpty {
            found.append("NIfTI header extensions (ecode \(Set(text.extensionCodes).sorted().map(String.init).joined(separator: ", ")))")
        }
        found += try gzipHeaderFindings(file: file)
        return found
    }

    /// `gzip Doe_John.nii` stores "Doe_John.nii" inside the .gz; comments may hold anything.
    static func gzipHeaderFindings(file: URL) throws -> [String] {
        guard let handle = FileHandle(forReadingAtPath: file.path) else {
            throw StoreError.io(path: file.lastPathComponent, reason: "cannot open for reading")
        }
        defer { try? handle.close() }
        let head = [UInt8]((try? handle.read(upToCount: 4096)) ?? Data())
        guard head.count >= 10, head[0] == 0x1F, head[1] == 0x8B else { return [] }
        let flags = head[3]
        var o = 10
        if flags & 0x04 != 0 {   // FEXTRA
            guard o + 2 <= head.count else { return ["gzip header (unreadable extra field)"] }
            o += 2 + Int(head[o]) | Int(head[o + 1]) << 8
        }
        func zeroTerminated() -> String? {
            guard o < head.count, let end = head[o...].firstIndex(of: 0) else { return nil }
            defer { o = end + 1 }
            return String(decoding: head[o..<end], as: UTF8.self)
        }
        var found: [String] = []
        if flags & 0x08 != 0 {   // FNAME
            guard let stored = zeroTerminated() else { return ["gzip header file name (unreadable)"] }
            found += PHIText.nameFindings(stored, what: "the file name stored in the gzip header")
        }
        if flags & 0x10 != 0, let comment = zeroTerminated(), !PHIText.isHarmlessHeaderText(comment) {
            found.append("gzip header comment")
        }
        return found
    }

    /// Writes `destination` (.nii.gz) with the four text fields and all
    /// extensions removed; voxels and geometry are written back unchanged.
    /// Returns what was cleared, by field name.
    static func writeScrubbedCopy(of file: URL, name: String, to destination: URL) throws -> [String] {
        let before = try findings(file: file, name: name)
        do { try NIfTIText.writeCopyWithoutText(of: file, to: destination) } catch let error as NIfTIError {
            switch error {
            case .readFailed: throw StoreError.unreadableVolume(name: name, reason: "libnifti could not read the file")
            default: throw StoreError.io(path: destination.lastPathComponent, reason: "\(error)")
            }
        }
        return before
    }
}
