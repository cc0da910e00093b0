import Foundation

/// Ids and tags become file names in exports and URLs in clients, so they are
/// kept to characters that are safe in both.
enum Identifiers {
    static let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")

    static func validate(_ value: String, what: String) throws {
        guard !value.isEmpty else { throw StoreError.invalidIdentifier(value, reason: "\(what) is empty") }
        guard value.count <= 128 else {
            throw StoreError.invalidIdentifier(value, reason: "\(what) is longer than 128 characters")
        }
        guard value.allSatisfy({ allowed.contains($0) }), !value.hasPrefix(".") else {
            throw StoreError.invalidIdentifier(
                value, reason: "\(what) may hold only letters, digits, '.', '_' and '-', and may not start with '.'")
        }
    }

    /// Random, so nothing about the patient or the file can be read back from it.
    static func pseudonymousImageID() -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<6).map { _ in UInt8.random(in: 0...255, using: &generator) }
        return "img-" + bytes.map { String(format: "%02x", $0) }.joined()
    }

    /// Client metadata is stored as given, but it must be a JSON object.
    static func validateInfo(_ info: String) throws -> String {
        let trimmed = info.trimmingCharacters(in: .whitespacesAndNewlines)
        if trimmed.isEmpty { return "{}" }
        guard let object = try? JSONSerialization.jsonObject(with: Data(trimmed.utf8)), object is [String: Any] else {
            throw StoreError.invalidIdentifier(String(trimmed.prefix(40)), reason: "params/info must be a JSON object")
        }
        return trimmed
    }

    /// `.nii.gz` or `.nii`, taken from the client's file name (MONAI Label keeps the suffix).
    static func niftiExtension(of name: String) throws -> String {
        let lower = name.lowercased()
        if lower.hasSuffix(".nii.gz") { return ".nii.gz" }
        if lower.hasSuffix(".nii") { return ".nii" }
        throw StoreError.unsupportedFile(
            name: name, reason: "only NIfTI files (.nii or .nii.gz) can be stored; export the volume or segmentation as NIfTI")
    }
}
