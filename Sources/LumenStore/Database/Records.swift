import Foundation
import GRDB

/// Where an image's voxels sit in the patient; labels must match it exactly.
public struct ImageGeometry: Codable, Sendable, Equatable {
    public var dims: [Int]
    public var spacing: [Double]
    public var affine: [[Double]]
    public var orientation: String

    public init(dims: [Int], spacing: [Double], affine: [[Double]], orientation: String) {
        self.dims = dims
        self.spacing = spacing
        self.affine = affine
        self.orientation = orientation
    }
}

public struct StoredImage: Sendable, Equatable {
    public var id: String
    public var sha256: String
    /// `.nii.gz` or `.nii`: what a download is named with.
    public var ext: String
    public var size: Int64
    public var geometry: ImageGeometry
    /// How the image arrived ("upload", "ingest: DICOM series, scrubbed"); never a path or file name.
    public var source: String
    /// Client-supplied metadata as a JSON object text (MONAI Label's image info).
    public var info: String
    public var addedBy: String
    public var createdAt: Date
}

/// A label version as other versions refer to it.
public struct LabelRef: Sendable, Equatable, Hashable, Codable {
    public var tag: String
    public var version: Int
    public init(tag: String, version: Int) {
        self.tag = tag
        self.version = version
    }
}

public struct StoredLabel: Sendable, Equatable {
    public var imageID: String
    public var tag: String
    public var version: Int
    public var author: String
    public var modelName: String?
    public var modelVersion: String?
    /// The label this one was refined from: for a new `final`, the newest label of the image it replaced.
    public var parent: LabelRef?
    public var sha256: String
    public var ext: String
    public var size: Int64
    public var info: String
    public var createdAt: Date

    public var ref: LabelRef { LabelRef(tag: tag, version: version) }
}

public struct AuditEntry: Sendable, Equatable {
    public var sequence: Int64
    public var at: Date
    public var user: String
    public var action: String
    public var object: String
    /// JSON object text: attribute and field names, counts and hashes; never header or DICOM values.
    public var details: String
}

extension StoredImage {
    init(row: Row) throws {
        let geometryText: String = row["geometry"]
        guard let geometry = try? JSONDecoder().decode(ImageGeometry.self, from: Data(geometryText.utf8)) else {
            throw StoreError.database(reason: "image \(row["id"] as String) has an unreadable geometry record")
        }
        self.init(id: row["id"], sha256: row["sha256"], ext: row["ext"], size: row["size"], geometry: geometry,
                  source: row["source"], info: row["info"], addedBy: row["added_by"],
                  createdAt: Date(timeIntervalSince1970: row["created_at"]))
    }
}

extension StoredLabel {
    /// Expects the label columns plus `image_id`, `parent_tag`, `parent_version` from a join.
    init(row: Row) {
        let parentTag: String? = row["parent_tag"]
        let parentVersion: Int? = row["parent_version"]
        self.init(imageID: row["image_id"], tag: row["tag"], version: row["version"], author: row["author"],
                  modelName: row["model_name"], modelVersion: row["model_version"],
                  parent: parentTag.flatMap { t in parentVersion.map { LabelRef(tag: t, version: $0) } },
                  sha256: row["sha256"], ext: row["ext"], size: row["size"], info: row["info"],
                  createdAt: Date(timeIntervalSince1970: row["created_at"]))
    }

    static let selectSQL = """
        SELECT l.*, i.id AS image_id, p.tag AS parent_tag, p.version AS parent_version
        FROM label l JOIN image i ON i.pk = l.image_pk LEFT JOIN label p ON p.pk = l.parent_pk
        """
}

extension AuditEntry {
    init(row: Row) {
        self.init(sequence: row["pk"], at: Date(timeIntervalSince1970: row["at"]), user: row["user"],
                  action: row["action"], object: row["object"], details: row["details"])
    }
}
