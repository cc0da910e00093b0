import Foundation
import GRDB
import LumenIO

/// Which model made an `original` label, so a later audit can tell which
/// weights produced what a doctor corrected.
public struct ModelProvenance: Sendable, Equatable {
    public var name: String
    public var version: String
    public init(name: String, version: String) {
        self.name = name
        self.version = version
    }
}

extension Datastore {
    /// Stores a new version of `tag` for the image. Versions count from 1 per
    /// (image, tag) and are never reused; the newest is what `label(…)` serves.
    ///
    /// `parent` defaults to the image's newest label of any tag (what the doctor
    /// refined) for every tag but `original`, which a model makes from scratch.
    @discardableResult
    public func addLabel(file: URL, fileName: String? = nil, imageID: String, tag: String = "final", user: String,
                         model: ModelProvenance? = nil, parent: LabelRef? = nil, allowedValues: Set<Int>? = nil,
                         info: String = "{}", maxVoxels: Int = Volume.defaultMaxVoxels) throws -> StoredLabel {
        let name = fileName ?? file.lastPathComponent
        return try addLabel(name: name, imageID: imageID, tag: tag, user: user, model: model, parent: parent,
                            allowedValues: allowedValues, info: info,
                            volume: {
                                do { return try Volume.read(file, maxVoxels: maxVoxels) } catch {
                                    throw StoreError.unreadableVolume(name: name, reason: "\(error)")
                                }
                            },
                            put: { try objects.put(copying: file, ext: $0) })
    }

    /// A label the server made itself (a model's `original`), already in memory as the volume and
    /// its `.nii.gz` encoding: checked as an upload would be, and written once, into the store.
    @discardableResult
    public func addLabel(encoded data: Data, volume: Volume, fileName: String, imageID: String, tag: String, user: String,
                         model: ModelProvenance? = nil, parent: LabelRef? = nil, allowedValues: Set<Int>? = nil,
                         info: String = "{}") throws -> StoredLabel {
        try addLabel(name: fileName, imageID: imageID, tag: tag, user: user, model: model, parent: parent,
                     allowedValues: allowedValues, info: info, volume: { volume }, put: { try objects.put(data: data, ext: $0) })
    }

    private func addLabel(name: String, imageID: String, tag: String, user: String, model: ModelProvenance?,
                          parent: LabelRef?, allowedValues: Set<Int>?, info: String, volume read: () throws -> Volume,
                          put: (String) throws -> (sha256: String, size: Int64)) throws -> StoredLabel {
        try Identifiers.validate(tag, what: "the tag")
        let info = try Identifiers.validateInfo(info)
        let ext = try Identifiers.niftiExtension(of: name)
        guard let image = try image(id: imageID) else { throw StoreError.imageNotFound(id: imageID) }
        let volume = try read()
        try LabelValidator.validate(volume, against: image, allowedValues: allowedValues)
        let (sha, size) = try put(ext)

        return try write { db in
            guard let imagePK = try Int64.fetchOne(db, sql: "SELECT pk FROM image WHERE id = ? AND deleted_at IS NULL AND sha256 = ?",
                                                   arguments: [imageID, image.sha256]) else {
                throw StoreError.imageNotFound(id: imageID)
            }
            let version = (try Int.fetchOne(db, sql: "SELECT MAX(version) FROM label WHERE image_pk = ? AND tag = ?",
                                            arguments: [imagePK, tag]) ?? 0) + 1
            let parentPK: Int64?
            if let parent {
                guard let pk = try Int64.fetchOne(db, sql: """
                    SELECT pk FROM label WHERE image_pk = ? AND tag = ? AND version = ? AND deleted_at IS NULL
                    """, arguments: [imagePK, parent.tag, parent.version]) else {
                    throw StoreError.labelNotFound(image: imageID, tag: parent.tag, version: parent.version)
                }
                parentPK = pk
            } else if tag != "original" {
                parentPK = try Int64.fetchOne(db, sql: """
                    SELECT pk FROM label WHERE image_pk = ? AND deleted_at IS NULL ORDER BY pk DESC LIMIT 1
                    """, arguments: [imagePK])
            } else {
                parentPK = nil
            }
            let now = Date().timeIntervalSince1970
            try db.execute(sql: """
                INSERT INTO label (image_pk, tag, version, author, model_name, model_version, parent_pk, sha256, ext,
                                   size, info, created_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [imagePK, tag, version, user, model?.name, model?.version, parentPK, sha, ext, size,
                                 info, now])
            let pk = db.lastInsertedRowID
            guard let row = try Row.fetchOne(db, sql: StoredLabel.selectSQL + " WHERE l.pk = ?", arguments: [pk]) else {
                throw StoreError.database(reason: "the label row just written cannot be read back")
            }
            let label = StoredLabel(row: row)
            var details: [String: Any] = ["sha256": sha, "version": version]
            if let p = label.parent { details["parent"] = "\(p.tag) v\(p.version)" }
            if let model { details["model"] = model.name; details["modelVersion"] = model.version }
            try Self.appendAudit(db, user: user, action: "label.add", object: "label:\(imageID)/\(tag)/v\(version)",
                                 details: details)
            return label
        }
    }

    /// The newest live version of `tag`, or exactly `version`.
    public func label(imageID: String, tag: String = "final", version: Int? = nil) throws -> StoredLabel {
        let found = try read { db -> StoredLabel? in
            let sql = StoredLabel.selectSQL + " WHERE i.id = ? AND i.deleted_at IS NULL AND l.tag = ? AND l.deleted_at IS NULL"
            if let version {
                return try Row.fetchOne(db, sql: sql + " AND l.version = ?", arguments: [imageID, tag, version])
                    .map(StoredLabel.init(row:))
            }
            return try Row.fetchOne(db, sql: sql + " ORDER BY l.version DESC LIMIT 1", arguments: [imageID, tag])
                .map(StoredLabel.init(row:))
        }
        guard let found else { throw StoreError.labelNotFound(image: imageID, tag: tag, version: version) }
        return found
    }

    /// Every live version of every tag of the image, oldest first.
    public func labels(imageID: String) throws -> [StoredLabel] {
        try read { db in
            try Row.fetchAll(db, sql: StoredLabel.selectSQL + """
                 WHERE i.id = ? AND i.deleted_at IS NULL AND l.deleted_at IS NULL ORDER BY l.pk
                """, arguments: [imageID]).map(StoredLabel.init(row:))
        }
    }

    /// The newest version of `tag` for every live image that has one: the training pairs.
    public func newestLabels(tag: String) throws -> [(image: StoredImage, label: StoredLabel)] {
        try read { db in
            let rows = try Row.fetchAll(db, sql: StoredLabel.selectSQL + """
                 WHERE i.deleted_at IS NULL AND l.deleted_at IS NULL AND l.tag = ?
                   AND l.version = (SELECT MAX(version) FROM label x WHERE x.image_pk = l.image_pk AND x.tag = l.tag
                                    AND x.deleted_at IS NULL)
                 ORDER BY i.pk
                """, arguments: [tag])
            return try rows.map { row in
                let imageRow = try Row.fetchOne(db, sql: "SELECT * FROM image WHERE pk = ?", arguments: [row["image_pk"] as Int64])!
                return (try StoredImage(row: imageRow), StoredLabel(row: row))
            }
        }
    }

    /// Hides every version of `tag` for the image (rows and files stay).
    public func deleteLabel(imageID: String, tag: String, user: String) throws {
        try write { db in
            guard let pk = try Int64.fetchOne(db, sql: "SELECT pk FROM image WHERE id = ? AND deleted_at IS NULL",
                                              arguments: [imageID]) else { throw StoreError.imageNotFound(id: imageID) }
            try db.execute(sql: """
                UPDATE label SET deleted_at = ?, deleted_by = ? WHERE image_pk = ? AND tag = ? AND deleted_at IS NULL
                """, arguments: [Date().timeIntervalSince1970, user, pk, tag])
            guard db.changesCount > 0 else { throw StoreError.labelNotFound(image: imageID, tag: tag, version: nil) }
            try Self.appendAudit(db, user: user, action: "label.delete", object: "label:\(imageID)/\(tag)",
                                 details: ["versionsHidden": db.changesCount])
        }
    }

    public struct Stats: Sendable, Equatable {
        public var total: Int
        /// Images with a `final` label: MONAI Label's "completed".
        public var completed: Int
        /// Per tag, how many images have at least one live version.
        public var labelTags: [String: Int]
    }

    public func stats() throws -> Stats {
        try read { db in
            let total = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM image WHERE deleted_at IS NULL") ?? 0
            let rows = try Row.fetchAll(db, sql: """
                SELECT l.tag, COUNT(DISTINCT l.image_pk) AS n FROM label l JOIN image i ON i.pk = l.image_pk
                WHERE l.deleted_at IS NULL AND i.deleted_at IS NULL GROUP BY l.tag
                """)
            var tags: [String: Int] = [:]
            for row in rows { tags[row["tag"]] = row["n"] }
            return Stats(total: total, completed: tags["final"] ?? 0, labelTags: tags)
        }
    }
}
