import Foundation
import LumenStore
import Testing

@Suite struct ValidationTests {
    func storeWithImage(_ dir: URL) throws -> Datastore {
        let store = try Datastore(directory: dir.appendingPathComponent("store"))
        try store.addImage(file: TinyNIfTI.write(TinyNIfTI.bytes(), to: dir, name: "ct.nii"), id: "ct", user: "u", source: "t")
        return store
    }

    static let shifted: [[Double]] = [[1.5, 0, 0, -9], [0, 1.5, 0, -20], [0, 0, 3, 5], [0, 0, 0, 1]]
    static let flipped: [[Double]] = [[-1.5, 0, 0, -10], [0, 1.5, 0, -20], [0, 0, 3, 5], [0, 0, 0, 1]]

    @Test(arguments: [
        (TinyNIfTI.bytes(dims: [6, 5, 3]), "label dimensions [6, 5, 3] differ from the image's [6, 5, 4]"),
        (TinyNIfTI.bytes(affine: shifted), "voxel-to-world matrix differs"),
        (TinyNIfTI.bytes(affine: flipped), "label orientation LAS, image RAS"),
    ])
    func geometryMismatchIsRefused(label: Data, expected: String) throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let store = try storeWithImage(dir)
        let error = #expect(throws: StoreError.self) {
            try store.addLabel(file: TinyNIfTI.write(label, to: dir, name: "l.nii"), imageID: "ct", user: "u")
        }
        #expect(error?.description.contains(expected) == true, "\(String(describing: error))")
        #expect(error?.category == .unprocessable)
    }

    @Test func tinyFloatRoundingIsAccepted() throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let store = try storeWithImage(dir)
        let nudged: [[Double]] = [[1.50001, 0, 0, -10.00005], [0, 1.5, 0, -20], [0, 0, 3, 5], [0, 0, 0, 1]]
        #expect(try store.addLabel(file: TinyNIfTI.write(TinyNIfTI.bytes(affine: nudged), to: dir, name: "l.nii"),
                                   imageID: "ct", user: "u").version == 1)
    }

    @Test func unknownImageIsRefused() throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let store = try storeWithImage(dir)
        #expect(throws: StoreError.imageNotFound(id: "nope")) {
            try store.addLabel(file: TinyNIfTI.write(TinyNIfTI.bytes(), to: dir, name: "l.nii"), imageID: "nope", user: "u")
        }
    }

    @Test func valuesOutsideTheModelsLabelsAreRefused() throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let store = try storeWithImage(dir)
        let values = (0..<TinyNIfTI.voxelCount).map { UInt8([0, 1, 2, 7][$0 % 4]) }
        let file = TinyNIfTI.write(TinyNIfTI.bytes(values: values), to: dir, name: "l.nii")
        #expect(throws: StoreError.labelValuesNotAllowed(image: "ct", found: [7], allowed: [0, 1, 2])) {
            try store.addLabel(file: file, imageID: "ct", user: "u", allowedValues: [1, 2])
        }
        #expect(try store.addLabel(file: file, imageID: "ct", user: "u", allowedValues: [1, 2, 7]).version == 1)
    }

    @Test func notNIfTIIsRefused() throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let store = try storeWithImage(dir)
        let junk = TinyNIfTI.write(Data("not a volume".utf8), to: dir, name: "l.nii")
        let error = #expect(throws: StoreError.self) { try store.addLabel(file: junk, imageID: "ct", user: "u") }
        #expect(error?.category == .invalidInput)
        let nrrd = TinyNIfTI.write(Data("NRRD0004".utf8), to: dir, name: "l.seg.nrrd")
        #expect(throws: StoreError.self) { try store.addLabel(file: nrrd, imageID: "ct", user: "u") }
    }
}
