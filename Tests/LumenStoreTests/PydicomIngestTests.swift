import Foundation
import LumenStore
import Testing

/// A series written by pydicom (not by Lumen's own test writer), so the PHI
/// checks are exercised on what a third-party DICOM stack produces.
@Suite struct PydicomIngestTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// Runs scripts/fixtures/make_phi_dicom.py; returns the planted PHI values.
    static func makeSeries(at directory: URL) throws -> [String] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", root.appendingPathComponent("scripts/fixtures/make_phi_dicom.py").path, directory.path]
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        let problem = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        try #require(process.terminationStatus == 0, "make_phi_dicom.py failed (scripts/setup installs pydicom): \(problem)")
        return try JSONDecoder().decode([String].self, from: data)
    }

    @Test func rejectNamesAttributesWithoutValues() throws {
        let dir = temporaryDirectory("pydicom")
        defer { try? FileManager.default.removeItem(at: dir) }
        let series = dir.appendingPathComponent("series")
        let values = try Self.makeSeries(at: series)
        let store = try Datastore(directory: dir.appendingPathComponent("store"))
        let error = #expect(throws: StoreError.self) {
            try Ingestor(store: store, policy: .reject, user: "u").ingest(path: series)
        }
        let message = error?.description ?? ""
        for attribute in ["PatientName", "PatientID", "PatientBirthDate", "PatientAddress", "InstitutionName", "AccessionNumber"] {
            #expect(message.contains(attribute), "\(attribute) not reported: \(message)")
        }
        for value in values { #expect(!message.contains(value), "value \(value) echoed") }
        #expect(try store.images().isEmpty)
    }

    @Test func scrubLeavesNoPlantedValueInAnyStoredByte() throws {
        let dir = temporaryDirectory("pydicom")
        defer { try? FileManager.default.removeItem(at: dir) }
        let series = dir.appendingPathComponent("series")
        let values = try Self.makeSeries(at: series)
        let storeDir = dir.appendingPathComponent("store")
        let store = try Datastore(directory: storeDir)
        let images = try Ingestor(store: store, policy: .scrub, user: "hospital").ingest(path: series)
        try #require(images.count == 1)
        #expect(images[0].geometry.dims == [8, 8, 4])
        for (path, content) in try allStoredBytes(of: storeDir) {
            for value in values {
                #expect(content.range(of: Data(value.utf8)) == nil, "\(value) found in \(path)")
            }
        }
    }
}
