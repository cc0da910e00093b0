import Foundation
import LumenStore
import Testing

@Suite struct DICOMIngestTests {
    static var hasDcm2niix: Bool {
        (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin").split(separator: ":").contains {
            FileManager.default.isExecutableFile(atPath: "\($0)/dcm2niix")
        }
    }

    @Test(arguments: [true, false])
    func seriesWithPHIIsRefusedNamingAttributesOnly(explicit: Bool) throws {
        let dir = temporaryDirectory("dicom")
        defer { try? FileManager.default.removeItem(at: dir) }
        let series = dir.appendingPathComponent("series")
        try DICOMWriter.writeSeries(to: series, explicit: explicit)
        let store = try Datastore(directory: dir.appendingPathComponent("store"))
        let error = #expect(throws: StoreError.self) {
            try Ingestor(store: store, policy: .reject, user: "u").ingest(path: series, label: "input 1")
        }
        let message = error?.description ?? ""
        for attribute in ["PatientName", "PatientID", "PatientBirthDate", "PatientAddress", "InstitutionName",
                          "ReferringPhysicianName", "AccessionNumber", "StudyID", "StudyDate", "private attributes"] {
            #expect(message.contains(attribute), "\(attribute) not reported: \(message)")
        }
        for value in DICOMWriter.phiValues { #expect(!message.contains(value), "value \(value) echoed") }
        #expect(try store.images().isEmpty)
        let audit = try store.auditLog()
        #expect(audit.count == 1 && audit[0].action == "ingest.refused")
        for value in DICOMWriter.phiValues { #expect(!audit[0].details.contains(value)) }
    }

    @Test(arguments: [true, false])
    func scrubbedSeriesLeavesNoPHIAnywhereInTheStore(explicit: Bool) throws {
        try #require(Self.hasDcm2niix, "dcm2niix is not installed: run scripts/setup (Debian package dcm2niix)")
        let dir = temporaryDirectory("dicom")
        defer { try? FileManager.default.removeItem(at: dir) }
        let series = dir.appendingPathComponent("DOE_JOHN_19700101")
        try DICOMWriter.writeSeries(to: series, explicit: explicit)
        let storeDir = dir.appendingPathComponent("store")
        let store = try Datastore(directory: storeDir)
        let images = try Ingestor(store: store, policy: .scrub, user: "hospital").ingest(path: series)
        try #require(images.count == 1)
        #expect(images[0].id.hasPrefix("img-"))
        #expect(images[0].geometry.dims == [4, 4, 3])
        #expect(images[0].source == "ingest: DICOM series, scrubbed")

        let files = try allStoredBytes(of: storeDir)
        #expect(files.contains { $0.path.hasSuffix("lumen.sqlite") })
        for (path, content) in files {
            for value in DICOMWriter.phiValues + ["DOE_JOHN", "JOHN"] {
                #expect(content.range(of: Data(value.utf8)) == nil, "\(value) found in \(path)")
            }
        }
        let audit = try #require(try store.auditLog().last)
        #expect(audit.user == "hospital" && audit.action == "image.add")
        #expect(audit.details.contains("PatientName") && audit.details.contains("SeriesInstanceUID"))
    }

    @Test func truncatedFileIsReportedByPosition() throws {
        let dir = temporaryDirectory("dicom")
        defer { try? FileManager.default.removeItem(at: dir) }
        let series = dir.appendingPathComponent("s")
        try DICOMWriter.writeSeries(to: series)
        let first = series.appendingPathComponent("IM0")
        let data = try Data(contentsOf: first)
        try data.prefix(300).write(to: first)
        let store = try Datastore(directory: dir.appendingPathComponent("store"))
        let error = #expect(throws: StoreError.self) { try Ingestor(store: store, policy: .scrub, user: "u").ingest(path: series) }
        #expect(error?.description.contains("truncated or malformed") == true, "\(String(describing: error))")
    }
}
