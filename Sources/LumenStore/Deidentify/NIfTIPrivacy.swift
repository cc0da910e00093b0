import CNIfTI
import Foundation
import LumenIO

/// The places a NIfTI file can carry a name or id besides its voxels: four
/// free-text header fields, header extensions (ecode 2 is a whole DICOM
/// header), and the name and comment in a gzip header.
enum NIfTIPrivacy {
    static let textFields = ["descrip", "aux_file", "intent_name", "db_name"]

    /// Field names that hold something other than harmless tool text; never the values.
    static func findings(file: URL, name: String) throws -> [String] {
        nifti_set_debug_level(0)
        var swapped: Int32 = 0
        guard let header = nifti_read_header(file.path, &swapped, 0) else {
            throw StoreError.unreadableVolume(name: name, reason: "the NIfTI header cannot be read")
        }
        defer { free(header) }
        let h = header.pointee
        let values = [text(h.descrip), text(h.aux_file), text(h.intent_name), text(h.db_name)]
        var found: [String] = []
        for (field, value) in zip(textFields, values) where !PHIText.isHarmlessHeaderText(value) {
            found.append("NIfTI header field \(field)")
        }
        if let nim = nifti_image_read(file.path, 0) {
            defer { nifti_image_free(nim) }
            if nim.pointee.num_ext > 0, let list = nim.pointee.ext_list {
                let codes = (0..<Int(nim.pointee.num_ext)).map { Int(list[$0].ecode) }
                found.append("NIfTI header extensions (ecode \(Set(codes).sorted().map(String.init).joined(separator: ", ")))")
            }
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
        nifti_set_debug_level(0)
        let before = try findings(file: file, name: name)
        guard let nim = nifti_image_read(file.path, 1) else {
            throw StoreError.unreadableVolume(name: name, reason: "libnifti could not read the file")
        }
        defer { nifti_image_free(nim) }
        withUnsafeMutableBytes(of: &nim.pointee.descrip) { _ = $0.initializeMemory(as: UInt8.self, repeating: 0) }
        withUnsafeMutableBytes(of: &nim.pointee.aux_file) { _ = $0.initializeMemory(as: UInt8.self, repeating: 0) }
        withUnsafeMutableBytes(of: &nim.pointee.intent_name) { _ = $0.initializeMemory(as: UInt8.self, repeating: 0) }
        nifti_free_extensions(nim)
        guard nifti_set_filenames(nim, destination.path, 0, 1) == 0 else {
            throw StoreError.io(path: destination.lastPathComponent, reason: "libnifti rejected the file name")
        }
        nim.pointee.nifti_type = 1   // single .nii(.gz) file
        nifti_image_write(nim)
        guard FileManager.default.fileExists(atPath: destination.path) else {
            throw StoreError.io(path: destination.lastPathComponent, reason: "libnifti did not write the scrubbed copy")
        }
        return before
    }

    static func text<T>(_ tuple: T) -> String {
        withUnsafeBytes(of: tuple) { raw in String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self) }
    }
}
