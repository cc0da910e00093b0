import CNIfTI
import Foundation

/// What a NIfTI file carries besides voxels and geometry: four free-text header fields and the
/// header extensions (ecode 2 is a whole DICOM header). LumenStore's PHI checks judge these;
/// reading them and writing a copy without them is libnifti's work, so it lives here with the
/// library's owner, and LumenStore does not link libnifti at all.
public struct NIfTIText: Sendable, Equatable {
    public var descrip: String
    public var auxFile: String
    public var intentName: String
    public var dbName: String
    /// The ecode of each header extension, in file order.
    public var extensionCodes: [Int]

    /// The header's field name and value for each text field.
    public var fields: [(name: String, value: String)] {
        [("descrip", descrip), ("aux_file", auxFile), ("intent_name", intentName), ("db_name", dbName)]
    }

    public static func read(_ file: URL) throws -> NIfTIText {
        nifti_set_debug_level(0)
        var swapped: Int32 = 0
        guard let header = nifti_read_header(file.path, &swapped, 0) else { throw NIfTIError.readFailed(file: file.lastPathComponent) }
        defer { free(header) }
        let h = header.pointee
        var codes: [Int] = []
        if let nim = nifti_image_read(file.path, 0) {
            let image = NIfTIImage(taking: nim)
            defer { withExtendedLifetime(image) {} }
            if image.image.num_ext > 0, let list = image.image.ext_list {
                codes = (0..<Int(image.image.num_ext)).map { Int(list[$0].ecode) }
            }
        }
        return NIfTIText(descrip: text(h.descrip), auxFile: text(h.aux_file), intentName: text(h.intent_name),
                         dbName: text(h.db_name), extensionCodes: codes)
    }

    /// Writes `destination` (.nii.gz) with the text fields and every extension removed; voxels and
    /// geometry go back unchanged.
    public static func writeCopyWithoutText(of file: URL, to destination: URL) throws {
        nifti_set_debug_level(0)
        guard let nim = nifti_image_read(file.path, 1) else { throw NIfTIError.readFailed(file: file.lastPathComponent) }
        let image = NIfTIImage(taking: nim)
        defer { withExtendedLifetime(image) {} }
        let p = image.pointer
        withUnsafeMutableBytes(of: &p.pointee.descrip) { _ = $0.initializeMemory(as: UInt8.self, repeating: 0) }
        withUnsafeMutableBytes(of: &p.pointee.aux_file) { _ = $0.initializeMemory(as: UInt8.self, repeating: 0) }
        withUnsafeMutableBytes(of: &p.pointee.intent_name) { _ = $0.initializeMemory(as: UInt8.self, repeating: 0) }
        nifti_free_extensions(p)   // db_name is not in nifti_image: a written header has it empty
        guard nifti_set_filenames(p, destination.path, 0, 1) == 0 else {
            throw NIfTIError.writeFailed(file: destination.lastPathComponent, reason: "libnifti rejected the file name")
        }
        p.pointee.nifti_type = 1   // single .nii(.gz) file
        nifti_image_write(p)
        guard FileManager.default.fileExists(atPath: destination.path) else {
            throw NIfTIError.writeFailed(file: destination.lastPathComponent, reason: "libnifti did not write the copy")
        }
    }

    static func text<T>(_ tuple: T) -> String {
        withUnsafeBytes(of: tuple) { raw in String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self) }
    }
}
