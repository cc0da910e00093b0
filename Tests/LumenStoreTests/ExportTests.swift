import Foundation
import LumenStore
import Testing

@Suite struct ExportTests {
    @Test func exportsNewestFinalPerImage() throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let store = try Datastore(directory: dir.appendingPathComponent("store"))
        let n = TinyNIfTI.voxelCount
        for id in ["a", "b", "c"] {
            try store.addImage(file: TinyNIfTI.write(TinyNIfTI.bytes(values: (0..<n).map { _ in UInt8(id.utf8.first! % 50) }), to: dir, name: "\(id).nii"),
                               id: id, user: "u", source: "t")
        }
        let l1 = TinyNIfTI.write(TinyNIfTI.bytes(values: [UInt8](repeating: 1, count: n)), to: dir, name: "1.nii")
        let l2 = TinyNIfTI.write(TinyNIfTI.bytes(values: [UInt8](repeating: 2, count: n)), to: dir, name: "2.nii")
        try store.addLabel(file: l1, imageID: "a", user: "u")
        try store.addLabel(file: l2, imageID: "a", user: "u")
        try store.addLabel(file: l1, imageID: "b", tag: "original", user: "model")
        try store.addLabel(file: l1, imageID: "c", user: "u")

        let out = dir.appendingPathComponent("export")
        let summary = try DatasetExport.export(store: store, tag: "final", output: out, user: "admin")
        #expect(summary.pairs == 2)
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: summary.datasetJSON)) as! [String: Any]
        let training = json["training"] as! [[String: String]]
        #expect(training == [["image": "./imagesTr/a.nii", "label": "./labelsTr/a.nii"],
                             ["image": "./imagesTr/c.nii", "label": "./labelsTr/c.nii"]])
        #expect(json["numTraining"] as? Int == 2)
        #expect(try Data(contentsOf: out.appendingPathComponent("labelsTr/a.nii")) == Data(contentsOf: l2))
        #expect(try store.auditLog().last?.action == "dataset.export")
    }
}
