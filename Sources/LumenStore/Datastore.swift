import Foundation
import GRDB
import Logging

/// The datastore: NIfTI images and their label versions under one directory,
///
///     <store>/lumen.sqlite (+ -wal, -shm)   rows: images, labels, audit
///     <store>/objects/ab/abcdef….nii.gz     files, named by SHA-256
///     <store>/tmp/                          uploads being received
///
/// Files are written (temp → fsync → rename → fsync dir) before the row that
/// names them is committed, so after a crash a row never points at a torn file;
/// at worst a finished file has no row yet and is simply unused.
public final class Datastore: Sendable {
    public let directory: URL
    /// What opening found: temp files it removed and rows whose file is gone.
    public let openReport: OpenReport
    let db: DatabasePool
    let objects: ObjectStore
    let logger: Logger

    public struct OpenReport: Sendable {
        public var sweptTemporaryFiles: [String]
        public var missingFiles: [MissingFile]
    }

    /// A row whose file is not on disk: restored from a backup, or lost. Reported, never silently dropped.
    public struct MissingFile: Sendable, Equatable, CustomStringConvertible {
        public var object: String
        public var path: String
        public var description: String { "\(object): file \(path) is missing" }
    }

    public init(directory: URL, logger: Logger = Logger(label: "lumen.store")) throws {
        self.directory = directory.standardizedFileURL
        self.logger = logger
        let fm = FileManager.default
        let objectsURL = self.directory.appendingPathComponent("objects", isDirectory: true)
        do {
            try fm.createDirectory(at: objectsURL, withIntermediateDirectories: true)
            try fm.createDirectory(at: self.directory.appendingPathComponent("tmp", isDirectory: true),
                                   withIntermediateDirectories: true)
        } catch {
            throw StoreError.io(path: self.directory.path, reason: "cannot create the store directory: \(error)")
        }
        objects = ObjectStore(root: objectsURL)

        var config = Configuration()
        config.busyMode = .timeout(30)
        config.prepareDatabase { db in
            // FULL: a commit is on disk before the client hears 200.
            try db.execute(sql: "PRAGMA synchronous = FULL")
        }
        do {
            db = try DatabasePool(path: self.directory.appendingPathComponent("lumen.sqlite").path, configuration: config)
            try Schema.migrator.migrate(db)
        } catch {
            throw StoreError.database(reason: "cannot open \(self.directory.path)/lumen.sqlite: \(error)")
        }

        var swept = objects.sweepTemporaryFiles()
        swept += Self.emptyStaging(self.directory.appendingPathComponent("tmp", isDirectory: true))
        for file in swept { logger.warning("removed unfinished write \(file)") }
        let missing = try Self.missingFiles(db: db, objects: objects)
        for m in missing { logger.error("\(m)") }
        openReport = OpenReport(sweptTemporaryFiles: swept, missingFiles: missing)
    }

    /// Files of a previous run's uploads that never reached the store.
    static func emptyStaging(_ staging: URL) -> [String] {
        let entries = (try? FileManager.default.contentsOfDirectory(at: staging, includingPropertiesForKeys: nil)) ?? []
        return entries.compactMap { entry in
            (try? FileManager.default.removeItem(at: entry)) != nil ? "tmp/" + entry.lastPathComponent : nil
        }.sorted()
    }

    /// Where uploads are streamed before `addImage`/`addLabel`: inside the store so
    /// that a crash leaves them where the next start-up sweeps them.
    public var stagingDirectory: URL { directory.appendingPathComponent("tmp", isDirectory: true) }

    public func fileURL(of image: StoredImage) -> URL { objects.url(sha256: image.sha256, ext: image.ext) }
    public func fileURL(of label: StoredLabel) -> URL { objects.url(sha256: label.sha256, ext: label.ext) }

    /// Every live row whose file is absent.
    public func checkFiles() throws -> [MissingFile] {
        try Self.missingFiles(db: db, objects: objects)
    }

    static func missingFiles(db pool: DatabasePool, objects: ObjectStore) throws -> [MissingFile] {
        let images: [Row], labels: [Row]
        do {
            (images, labels) = try pool.read { db in
            (try Row.fetchAll(db, sql: "SELECT id, sha256, ext FROM image WHERE deleted_at IS NULL ORDER BY pk"),
             try Row.fetchAll(db, sql: """
                SELECT i.id, l.tag, l.version, l.sha256, l.ext FROM label l JOIN image i ON i.pk = l.image_pk
                WHERE l.deleted_at IS NULL ORDER BY l.pk
                """))
            }
        } catch {
            throw StoreError.database(reason: "cannot list rows: \(error)")
        }
        var missing: [MissingFile] = []
        for row in images {
            let url = objects.url(sha256: row["sha256"], ext: row["ext"])
            if !FileManager.default.fileExists(atPath: url.path) {
                missing.append(MissingFile(object: "image '\(row["id"] as String)'", path: url.path))
            }
        }
        for row in labels {
            let url = objects.url(sha256: row["sha256"], ext: row["ext"])
            if !FileManager.default.fileExists(atPath: url.path) {
                missing.append(MissingFile(object: "label '\(row["id"] as String)' \(row["tag"] as String) v\(row["version"] as Int)",
                                           path: url.path))
            }
        }
        return missing
    }

    func read<T>(_ body: (Database) throws -> T) throws -> T {
        do { return try db.read(body) } catch let error as StoreError { throw error } catch {
            throw StoreError.database(reason: "\(error)")
        }
    }

    func write<T>(_ body: (Database) throws -> T) throws -> T {
        do { return try db.write(body) } catch let error as StoreError { throw error } catch {
            throw StoreError.database(reason: "\(error)")
        }
    }
}
