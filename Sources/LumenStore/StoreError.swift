import Foundation

/// Everything the datastore refuses, phrased for the person who sent the data
/// (an annotator in Slicer, an admin running `lumen ingest`). Messages never
/// quote header or DICOM values: a refusal for PHI must not leak the PHI.
public enum StoreError: Error, Equatable, CustomStringConvertible, LocalizedError {
    case imageNotFound(id: String)
    case labelNotFound(image: String, tag: String, version: Int?)
    case invalidIdentifier(String, reason: String)
    case imageExists(id: String)
    case unsupportedFile(name: String, reason: String)
    case unreadableVolume(name: String, reason: String)
    case geometryMismatch(image: String, reason: String)
    case labelNotIntegral(image: String, count: Int)
    case labelValuesNotAllowed(image: String, found: [Int], allowed: [Int])
    case phiFound(source: String, findings: [String])
    case dicom(file: String, reason: String)
    case conversionFailed(reason: String)
    case io(path: String, reason: String)
    case database(reason: String)

    /// How a server should answer; kept here so every front end agrees.
    public enum Category: Sendable {
        case notFound, conflict, invalidInput, unprocessable, internalFailure
    }

    public var category: Category {
        switch self {
        case .imageNotFound, .labelNotFound: .notFound
        case .imageExists: .conflict
        case .invalidIdentifier, .unsupportedFile, .unreadableVolume, .dicom: .invalidInput
        case .geometryMismatch, .labelNotIntegral, .labelValuesNotAllowed, .phiFound: .unprocessable
        case .conversionFailed, .io, .database: .internalFailure
        }
    }

    public var description: String {
        switch self {
        case .imageNotFound(let id):
            return "image '\(id)' is not in the datastore; upload it first (PUT /datastore/image?image=\(id)) or check the id"
        case .labelNotFound(let image, let tag, let version):
            let which = version.map { "version \($0) of " } ?? ""
            return "no \(which)'\(tag)' label for image '\(image)'"
        case .invalidIdentifier(let id, let reason):
            return "'\(id)' cannot be used as an id: \(reason)"
        case .imageExists(let id):
            return "image '\(id)' already exists with different content; images are never overwritten, upload it under a new id"
        case .unsupportedFile(let name, let reason):
            return "\(name): \(reason)"
        case .unreadableVolume(let name, let reason):
            return "\(name) could not be read as NIfTI: \(reason)"
        case .geometryMismatch(let image, let reason):
            return "the label does not lie on image '\(image)''s voxel grid: \(reason); export the label from the segmentation of this image without resampling"
        case .labelNotIntegral(let image, let count):
            return "the label for image '\(image)' has \(count) voxels that are not whole non-negative numbers; a label map holds class indices (0 = background)"
        case .labelValuesNotAllowed(let image, let found, let allowed):
            return "the label for image '\(image)' uses values \(found) that the model does not know; allowed values are \(allowed) (save the label with the model's label numbers)"
        case .phiFound(let source, let findings):
            return "\(source) was refused because it may identify a patient: \(findings.joined(separator: "; ")). Remove these, or ingest with --policy scrub on the hospital side"
        case .dicom(let file, let reason):
            return "\(file): \(reason)"
        case .conversionFailed(let reason):
            return "DICOM to NIfTI conversion failed: \(reason)"
        case .io(let path, let reason):
            return "\(path): \(reason)"
        case .database(let reason):
            return "datastore database: \(reason)"
        }
    }

    public var errorDescription: String? { description }
}
