import Foundation
import GRDB
import LumenIO

extension Datastore {
    /// Stores a NIfTI image. With `id` nil a pseudonymous id is generated. The
    /// same content under the same id is accepted again (clients retry); other
    /// content under a live id is refused, never overwritten.
    ///
    /// De-identification is the caller's job (`Ingestor`); this only stores.
    @discardableResult
    public func addImage(file: URL, fileName: String? = nil, id: String? = nil, user: String, source: String,
                         info: String = "{}", maxVoxels: Int = Volume.defaultMaxVoxels) throws -> StoredImage {
        try addImage(file: file, fileName: fileName, id: id, user: user, source: source, info: info,
                     maxVoxels: maxVoxels, auditDetails: [:])
    }

    func addImage(file: URL, fileName: String?, id: String?, user: String, source: String, info: String,
                  maxVoxels: Int, auditDetails: [String: any Sendable]) throws -> StoredImage {
        if let id { try Identifiers.validate(id, what: "the image id") }
        let info = try Identifiers.validateInfo(info)
        let name = fileName ?? file.lastPathComponent
        let ext = try Identifiers.niftiExtension(of: name)
        let geometry = try Self.geometry(of: file, name: name, maxVoxels: maxVoxels)
        let geometryJSON = String(decoding: try JSONEncoder().encode(geometry), as: UTF8.self)
        let (sha, size) = try objects.put(copying: file, ext: ext)

        return try write { db in
            if let id, let existing = try Row.fetchOne(db, sql: "SELECT * FROM image WHERE id = ? AND deleted_at IS NULL",
                                                       arguments: [id]) {
                let stored = try StoredImage(row: existing)
                guard stored.sha256 == sha else { throw StoreError.imageExists(id: id) }
                return stored
            }
            var newID = id ?? Identifiers.pseudonymousImageID()
            while id == nil, try Bool.fetchOne(db, sql: "SELECT 1 FROM image WHERE id = ?", arguments: [newID]) == true {
                newID = Identifiers.pseudonymousImageID()
            }
            let now = Date()
            try db.execute(sql: """
                INSERT INTO image (id, sha256, ext, size, geometry, source, info, added_by, created_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [newID, sha, ext, size, geometryJSON, source, info, user, now.timeIntervalSince1970])
            try Self.appendAudit(db, user: user, action: "image.add", object: "image:\(newID)",
                                 details: auditDetails.merging(["sha256": sha, "source": source, "dims": geometry.dims]) { a, _ in a })
            return StoredImage(id: newID, sha256: sha, ext: ext, size: size, geometry: geometry, source: source,
                               info: info, addedBy: user, createdAt: Date(timeIntervalSince1970: now.timeIntervalSince1970))
        }
    }

    public func image(id: String) throws -> StoredImage? {
        try read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM image WHERE id = ? AND deleted_at IS NULL", arguments: [id])
                .map(StoredImage.init(row:))
        }
    }

    /// Live images, oldest first.
    public func images() throws -> [StoredImage] {
        try read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM image WHERE deleted_at IS NULL ORDER BY pk").map(StoredImage.init(row:))
        }
    }

    /// Hides the image and all its labels from every listing. The rows and files
    /// stay (labels are training data; a mistaken delete must be recoverable).
    public func deleteImage(id: String, user: String) throws {
        try write { db in
            guard let pk = try Int64.fetchOne(db, sql: "SELECT pk FROM image WHERE id = ? AND deleted_at IS NULL",
                                              arguments: [id]) else { throw StoreError.imageNotFound(id: id) }
            let now = Date().timeIntervalSince1970
            try db.execute(sql: "UPDATE label SET deleted_at = ?, deleted_by = ? WHERE image_pk = ? AND deleted_at IS NULL",
                           arguments: [now, user, pk])
            let labels = db.changesCount
            try db.execute(sql: "UPDATE image SET deleted_at = ?, deleted_by = ? WHERE pk = ?", arguments: [now, user, pk])
            try Self.appendAudit(db, user: user, action: "image.delete", object: "image:\(id)",
                                 details: ["labelVersionsHidden": labels])
        }
    }

    static func geometry(of file: URL, name: String, maxVoxels: Int) throws -> ImageGeometry {
        let volume: Volume
        do { volume = try Volume.read(file, maxVoxels: maxVoxels) } catch {
            throw StoreError.unreadableVolume(name: name, reason: "\(error)")
        }
        return ImageGeometry(volume.geometry)
    }
}

extension ImageGeometry {
    init(_ g: Geometry) {
        self.init(dims: g.dims, spacing: g.spacing, affine: g.affine, orientation: g.orientation)
    }
}
