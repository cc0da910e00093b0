import GRDB

/// The schema grows only by appending migrations: a store written by an older
/// Lumen opens in a newer one without losing a row.
enum Schema {
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1: images, labels, audit") { db in
            try db.execute(sql: """
                CREATE TABLE image (
                    pk INTEGER PRIMARY KEY AUTOINCREMENT,
                    id TEXT NOT NULL,
                    sha256 TEXT NOT NULL,
                    ext TEXT NOT NULL,
                    size INTEGER NOT NULL,
                    geometry TEXT NOT NULL,
                    source TEXT NOT NULL,
                    info TEXT NOT NULL DEFAULT '{}',
                    added_by TEXT NOT NULL,
                    created_at DOUBLE NOT NULL,
                    deleted_at DOUBLE,
                    deleted_by TEXT
                );
                -- An id names one live image; a deleted one may be reused.
                CREATE UNIQUE INDEX image_live_id ON image(id) WHERE deleted_at IS NULL;

                CREATE TABLE label (
                    pk INTEGER PRIMARY KEY AUTOINCREMENT,
                    image_pk INTEGER NOT NULL REFERENCES image(pk),
                    tag TEXT NOT NULL,
                    version INTEGER NOT NULL CHECK (version >= 1),
                    author TEXT NOT NULL,
                    model_name TEXT,
                    model_version TEXT,
                    parent_pk INTEGER REFERENCES label(pk),
                    sha256 TEXT NOT NULL,
                    ext TEXT NOT NULL,
                    size INTEGER NOT NULL,
                    info TEXT NOT NULL DEFAULT '{}',
                    created_at DOUBLE NOT NULL,
                    deleted_at DOUBLE,
                    deleted_by TEXT,
                    UNIQUE (image_pk, tag, version)
                );
                CREATE INDEX label_image ON label(image_pk, created_at);

                CREATE TABLE audit (
                    pk INTEGER PRIMARY KEY AUTOINCREMENT,
                    at DOUBLE NOT NULL,
                    user TEXT NOT NULL,
                    action TEXT NOT NULL,
                    object TEXT NOT NULL,
                    details TEXT NOT NULL DEFAULT '{}'
                );
                -- The audit log is evidence: the database itself refuses edits.
                CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
                    BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
                CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
                    BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
                -- Content and provenance of a label never change once written.
                CREATE TRIGGER label_immutable BEFORE UPDATE OF image_pk, tag, version, author, model_name,
                    model_version, parent_pk, sha256, ext, size, created_at ON label
                    BEGIN SELECT RAISE(ABORT, 'label versions are immutable'); END;
                CREATE TRIGGER image_immutable BEFORE UPDATE OF id, sha256, ext, size, geometry, created_at ON image
                    BEGIN SELECT RAISE(ABORT, 'images are immutable'); END;
                """)
        }
        migrator.registerMigration("v2: model versions") { db in
            try db.execute(sql: """
                CREATE TABLE model_version (
                    pk INTEGER PRIMARY KEY AUTOINCREMENT,
                    name TEXT NOT NULL,
                    version INTEGER NOT NULL CHECK (version >= 1),
                    sha256 TEXT NOT NULL,
                    source TEXT NOT NULL,
                    source_detail TEXT NOT NULL DEFAULT '',
                    parent INTEGER,
                    state TEXT NOT NULL CHECK (state IN ('candidate', 'serving', 'retired', 'failed')),
                    reason TEXT NOT NULL DEFAULT '',
                    path TEXT NOT NULL,
                    labels TEXT NOT NULL DEFAULT '[]',
                    metrics TEXT NOT NULL DEFAULT '{}',
                    trained_on TEXT NOT NULL DEFAULT '[]',
                    created_at DOUBLE NOT NULL,
                    promoted_by TEXT,
                    promoted_at DOUBLE,
                    UNIQUE (name, version)
                );
                -- At most one version of a model serves at a time.
                CREATE UNIQUE INDEX model_version_serving ON model_version(name) WHERE state = 'serving';
                -- What a version is never changes; only its state and its metrics do.
                CREATE TRIGGER model_version_immutable BEFORE UPDATE OF name, version, sha256, source, source_detail, parent,
                    path, labels, trained_on, created_at ON model_version
                    BEGIN SELECT RAISE(ABORT, 'model versions are immutable'); END;
                """)
        }
        registerJobs(&migrator)     // "v3: fine-tuning jobs" (Database/Jobs.swift)
        return migrator
    }
}
