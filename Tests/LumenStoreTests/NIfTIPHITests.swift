import Foundation
import LumenStore
import Testing

@Suite struct NIfTIPHITests {
    @Test(arguments: [
        ("Doe_John.nii.gz", true), ("SMITH^JANE.nii", true), ("John Smith CT.nii", true), ("MRN123456.nii", true),
        ("scan_12345678.nii", true), ("ct_1980-01-31.nii", true), ("pid_42.nii", true),
        ("ct_001.nii.gz", false), ("Liver_Segmentation.nii", false), ("spleen_10.nii.gz", false),
        ("CT_ABDOMEN_venous.nii", false), ("image00.nii.gz", false), ("label.nii.gz", false),
    ])
    func fileNames(name: String, suspicious: Bool) throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let store = try Datastore(directory: dir.appendingPathComponent("store"))
        let file = TinyNIfTI.write(TinyNIfTI.bytes(), to: dir, name: name)
        let ingestor = Ingestor(store: store, policy: .reject, user: "u")
        if suspicious {
            let error = #expect(throws: StoreError.self) { try ingestor.ingest(path: file, label: "input 1") }
            #expect(error?.description.contains("the file name") == true)
            // The report names what was found, never the name itself.
            let stem = String(name.prefix { $0 != "." })
            #expect(error?.description.contains(stem) == false)
        } else {
            let images = try ingestor.ingest(path: file)
            #expect(images.count == 1 && images[0].id.hasPrefix("img-"))
        }
    }

    @Test(arguments: [
        ("descrip", TinyNIfTI.bytes(descrip: "Patient Doe John 1234567")),
        ("aux_file", TinyNIfTI.bytes(auxFile: "SMITH^JANE")),
        ("intent_name", TinyNIfTI.bytes(intentName: "Jane Doe")),
        ("db_name", TinyNIfTI.bytes(dbName: "MRN99887766")),
    ])
    func headerFieldsAreRefusedAndScrubbed(field: String, bytes: Data) throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let store = try Datastore(directory: dir.appendingPathComponent("store"))
        let file = TinyNIfTI.write(bytes, to: dir, name: "ct.nii")
        let error = #expect(throws: StoreError.self) { try Ingestor(store: store, policy: .reject, user: "u").ingest(path: file) }
        #expect(error?.description.contains("NIfTI header field \(field)") == true, "\(String(describing: error))")
        for secret in ["Doe", "SMITH", "MRN99887766"] { #expect(error?.description.contains(secret) == false) }
        #expect(try store.images().isEmpty)
        #expect(try store.auditLog().last?.action == "ingest.refused")

        let stored = try Ingestor(store: store, policy: .scrub, user: "u").ingest(path: file)
        #expect(stored.count == 1)
        for (path, content) in try allStoredBytes(of: dir.appendingPathComponent("store")) {
            for secret in ["Doe John", "SMITH^JANE", "Jane Doe", "MRN99887766"] {
                #expect(content.range(of: Data(secret.utf8)) == nil, "\(secret) found in \(path)")
            }
        }
        let audit = try store.auditLog().last
        #expect(audit?.action == "image.add")
        #expect(audit?.details.contains("NIfTI header field \(field)") == true)
    }

    @Test(arguments: ["FSL5.0", "nibabel 5.1.0", "3D Slicer", "label", ""])
    func harmlessToolTextPasses(descrip: String) throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let store = try Datastore(directory: dir.appendingPathComponent("store"))
        let file = TinyNIfTI.write(TinyNIfTI.bytes(descrip: descrip), to: dir, name: "ct.nii")
        #expect(try Ingestor(store: store, policy: .reject, user: "u").ingest(path: file).count == 1)
    }

    @Test func suspiciousUploadIdIsReplacedUnderScrub() throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let store = try Datastore(directory: dir.appendingPathComponent("store"))
        let file = TinyNIfTI.write(TinyNIfTI.bytes(), to: dir, name: "upload.nii")
        #expect(throws: StoreError.self) {
            try Ingestor(store: store, policy: .reject, user: "u").ingestUpload(file: file, fileName: "x.nii", requestedID: "Doe_John")
        }
        let image = try Ingestor(store: store, policy: .scrub, user: "u").ingestUpload(file: file, fileName: "x.nii", requestedID: "Doe_John")
        #expect(image.id.hasPrefix("img-"))
        let kept = try Ingestor(store: store, policy: .reject, user: "u").ingestUpload(file: file, fileName: "x.nii", requestedID: "ct_007")
        #expect(kept.id == "ct_007")
    }
}
