import Foundation
import GRDB
import LumenStore
import Testing

@Suite struct LabelVersionTests {
    @Test func submitListDownloadAndVersion() throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let store = try Datastore(directory: dir.appendingPathComponent("store"))
        let image = try store.addImage(file: TinyNIfTI.write(TinyNIfTI.bytes(), to: dir, name: "ct.nii"),
                                       id: "ct_001", user: "alice", source: "upload")
        #expect(image.geometry.dims == TinyNIfTI.dims)
        #expect(image.geometry.orientation == "RAS")

        let n = TinyNIfTI.voxelCount
        let original = try store.addLabel(file: TinyNIfTI.write(TinyNIfTI.bytes(values: [UInt8](repeating: 1, count: n)), to: dir, name: "o.nii"),
                                          imageID: "ct_001", tag: "original", user: "lumen",
                                          model: ModelProvenance(name: "organs", version: "3"))
        #expect(original.version == 1 && original.parent == nil && original.modelVersion == "3")

        let first = TinyNIfTI.bytes(values: (0..<n).map { UInt8($0 % 2) })
        let v1 = try store.addLabel(file: TinyNIfTI.write(first, to: dir, name: "f1.nii"), imageID: "ct_001", user: "bob")
        #expect(v1.tag == "final" && v1.version == 1)
        #expect(v1.parent == LabelRef(tag: "original", version: 1))

        let second = TinyNIfTI.bytes(values: (0..<n).map { UInt8(($0 / 2) % 2) })
        let v2 = try store.addLabel(file: TinyNIfTI.write(second, to: dir, name: "f2.nii"), imageID: "ct_001", user: "carol")
        #expect(v2.version == 2)
        #expect(v2.parent == LabelRef(tag: "final", version: 1))
        #expect(v2.author == "carol")

        // `final` moved to v2; v1 is still there, byte for byte.
        let newest = try store.label(imageID: "ct_001")
        #expect(newest.version == 2)
        #expect(try Data(contentsOf: store.fileURL(of: newest)) == second)
        let old = try store.label(imageID: "ct_001", tag: "final", version: 1)
        #expect(try Data(contentsOf: store.fileURL(of: old)) == first)
        #expect(try store.labels(imageID: "ct_001").map(\.ref) == [
            LabelRef(tag: "original", version: 1), LabelRef(tag: "final", version: 1), LabelRef(tag: "final", version: 2)])

        // The same bytes again are a new version (v3) sharing one file.
        let v3 = try store.addLabel(file: TinyNIfTI.write(second, to: dir, name: "f3.nii"), imageID: "ct_001", user: "carol")
        #expect(v3.version == 3 && v3.sha256 == v2.sha256)

        let stats = try store.stats()
        #expect(stats.total == 1 && stats.completed == 1 && stats.labelTags == ["final": 1, "original": 1])
        let actions = try store.auditLog().map(\.action)
        #expect(actions == ["image.add", "label.add", "label.add", "label.add", "label.add"])
        #expect(try store.auditLog().last?.user == "carol")
    }

    @Test func deletedLabelsStayOnDiskAndVersionsAreNotReused() throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let store = try Datastore(directory: dir.appendingPathComponent("store"))
        try store.addImage(file: TinyNIfTI.write(TinyNIfTI.bytes(), to: dir, name: "ct.nii"), id: "a", user: "u", source: "t")
        let v1 = try store.addLabel(file: TinyNIfTI.write(TinyNIfTI.bytes(), to: dir, name: "l.nii"), imageID: "a", user: "u")
        try store.deleteLabel(imageID: "a", tag: "final", user: "admin")
        #expect(throws: StoreError.labelNotFound(image: "a", tag: "final", version: nil)) { try store.label(imageID: "a") }
        #expect(FileManager.default.fileExists(atPath: store.fileURL(of: v1).path))
        let v2 = try store.addLabel(file: TinyNIfTI.write(TinyNIfTI.bytes(), to: dir, name: "l.nii"), imageID: "a", user: "u")
        #expect(v2.version == 2)
        #expect(try store.auditLog().contains { $0.action == "label.delete" && $0.user == "admin" })
    }

    @Test func imagesAreNeverOverwritten() throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let store = try Datastore(directory: dir.appendingPathComponent("store"))
        let a = TinyNIfTI.write(TinyNIfTI.bytes(), to: dir, name: "a.nii")
        try store.addImage(file: a, id: "ct", user: "u", source: "t")
        try store.addImage(file: a, id: "ct", user: "u", source: "t")   // same content: accepted again
        let other = TinyNIfTI.write(TinyNIfTI.bytes(values: [UInt8](repeating: 7, count: TinyNIfTI.voxelCount)), to: dir, name: "b.nii")
        #expect(throws: StoreError.imageExists(id: "ct")) { try store.addImage(file: other, id: "ct", user: "u", source: "t") }
        #expect(try store.images().count == 1)
    }

    @Test func auditLogIsAppendOnly() throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let store = try Datastore(directory: dir.appendingPathComponent("store"))
        try store.addImage(file: TinyNIfTI.write(TinyNIfTI.bytes(), to: dir, name: "ct.nii"), id: "a", user: "u", source: "t")
        try store.addLabel(file: TinyNIfTI.write(TinyNIfTI.bytes(), to: dir, name: "l.nii"), imageID: "a", user: "u")
        let raw = try DatabaseQueue(path: dir.appendingPathComponent("store/lumen.sqlite").path)
        #expect(throws: (any Error).self) { try raw.write { try $0.execute(sql: "DELETE FROM audit") } }
        #expect(throws: (any Error).self) { try raw.write { try $0.execute(sql: "UPDATE audit SET user = 'x'") } }
        #expect(throws: (any Error).self) { try raw.write { try $0.execute(sql: "UPDATE label SET sha256 = 'x'") } }
        #expect(throws: (any Error).self) { try raw.write { try $0.execute(sql: "UPDATE image SET sha256 = 'x'") } }
        #expect(try store.auditLog().count == 2)
    }
}
