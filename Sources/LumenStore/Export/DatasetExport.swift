import Foundation
import LumenIO

/// Writes the training set a fine-tuning job reads: MONAI's Decathlon-style
/// `dataset.json` with (image, newest label of a tag) pairs, files hard-linked
/// (or copied across file systems) under `imagesTr/` and `labelsTr/`.
public enum DatasetExport {
    public struct Summary: Sendable, Equatable {
        public var pairs: Int
        public var datasetJSON: URL
    }

    @discardableResult
    /// `excluding` leaves images out: fine-tuning never trains on the held-out
    /// images that the version gate scores it on.
    public static func export(store: Datastore, tag: String = "final", output: URL, user: String,
                              excluding: Set<String> = []) throws -> Summary {
        try Identifiers.validate(tag, what: "the tag")
        let pairs = try store.newestLabels(tag: tag).filter { !excluding.contains($0.image.id) }
        let imagesDir = output.appendingPathComponent("imagesTr", isDirectory: true)
        let labelsDir = output.appendingPathComponent("labelsTr", isDirectory: true)
        do {
            try FileManager.default.createDirectory(at: imagesDir, withIntermediateDirectories: true)
            try FileManager.default.createDirectory(at: labelsDir, withIntermediateDirectories: true)
        } catch {
            throw StoreError.io(path: output.path, reason: "cannot create the export folder: \(error)")
        }
        var training: [[String: String]] = []
        var provenance: [[String: Any]] = []
        for (image, label) in pairs {
            let imageName = image.id + image.ext
            let labelName = image.id + label.ext
            try place(store.fileURL(of: image), at: imagesDir.appendingPathComponent(imageName))
            try place(store.fileURL(of: label), at: labelsDir.appendingPathComponent(labelName))
            training.append(["image": "./imagesTr/\(imageName)", "label": "./labelsTr/\(labelName)"])
            var entry: [String: Any] = ["image": image.id, "tag": label.tag, "version": label.version,
                                        "author": label.author, "sha256": label.sha256]
            if let m = label.modelName { entry["model"] = m }
            provenance.append(entry)
        }
        let document: [String: Any] = [
            "name": "lumen-\(tag)",
            "description": "Image and newest '\(tag)' label pairs exported from a Lumen datastore",
            "tensorImageSize": "3D",
            "numTraining": training.count,
            "numTest": 0,
            "training": training,
            "test": [String](),
            "provenance": provenance,
        ]
        let url = output.appendingPathComponent("dataset.json")
        do {
            let data = try JSONSerialization.data(withJSONObject: document, options: [.prettyPrinted, .sortedKeys])
            try AtomicFile.write(data, to: url)
        } catch {
            throw StoreError.io(path: url.path, reason: "cannot write dataset.json: \(error)")
        }
        try store.recordAudit(user: user, action: "dataset.export", object: "tag:\(tag)", details: ["pairs": training.count])
        return Summary(pairs: training.count, datasetJSON: url)
    }

    /// Hard link when possible (no copy of large volumes), replacing an earlier export's file atomically.
    static func place(_ source: URL, at destination: URL) throws {
        guard FileManager.default.fileExists(atPath: source.path) else {
            throw StoreError.io(path: source.path, reason: "the stored file is missing; restore it from a backup before exporting")
        }
        let temp = AtomicFile.temporaryURL(for: destination)
        do {
            if link(source.path, temp.path) != 0 {
                try FileManager.default.copyItem(at: source, to: temp)
            }
            try AtomicFile.commit(temp, to: destination)
        } catch {
            try? FileManager.default.removeItem(at: temp)
            throw StoreError.io(path: destination.path, reason: "cannot place the file: \(error)")
        }
    }
}
