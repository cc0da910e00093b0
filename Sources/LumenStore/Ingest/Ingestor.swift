import Foundation
import LumenIO

/// What to do when an input may identify a patient.
public enum IngestPolicy: String, Sendable, CaseIterable {
    /// Refuse, naming what was found (the server's default: PHI must not arrive).
    case reject
    /// Remove or replace it and record what was done (the hospital side, before upload).
    case scrub
}

/// The only way images enter the store from outside: every input is checked
/// for PHI under a policy before anything is written, and ids are pseudonymous.
public struct Ingestor: Sendable {
    public var store: Datastore
    public var policy: IngestPolicy
    public var user: String
    public var dcm2niix: String
    public var maxVoxels: Int

    public init(store: Datastore, policy: IngestPolicy = .reject, user: String, dcm2niix: String = "dcm2niix",
                maxVoxels: Int = Volume.defaultMaxVoxels) {
        self.store = store
        self.policy = policy
        self.user = user
        self.dcm2niix = dcm2niix
        self.maxVoxels = maxVoxels
    }

    /// A NIfTI file, or a folder holding one DICOM series (converted with dcm2niix).
    /// `label` names the input in messages instead of its path, which may itself be PHI.
    public func ingest(path: URL, label: String = "the input") throws -> [StoredImage] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path.path, isDirectory: &isDirectory) else {
            throw StoreError.io(path: label, reason: "no such file or folder")
        }
        if isDirectory.boolValue { return try ingestDICOM(folder: path, label: label) }
        return [try ingestNIfTI(file: path, fileName: path.lastPathComponent, requestedID: nil, info: "{}",
                                label: label, source: "ingest: NIfTI file")]
    }

    /// An upload through the server. The client's id is kept when it is clean;
    /// under `scrub` a suspicious one is replaced by a pseudonymous id.
    public func ingestUpload(file: URL, fileName: String, requestedID: String?, info: String = "{}") throws -> StoredImage {
        try ingestNIfTI(file: file, fileName: fileName, requestedID: requestedID, info: info,
                        label: "the uploaded image", source: "upload")
    }

    func ingestNIfTI(file: URL, fileName: String, requestedID: String?, info: String, label: String,
                     source: String) throws -> StoredImage {
        _ = try Identifiers.niftiExtension(of: fileName)
        _ = try Datastore.geometry(of: file, name: label, maxVoxels: maxVoxels)   // a truncated file fails here, before any rewrite
        let nameFindings = PHIText.nameFindings(fileName, what: "the file name")
        let idFindings = requestedID.map { PHIText.nameFindings($0, what: "the image id") } ?? []
        let headerFindings = try NIfTIPrivacy.findings(file: file, name: label)
        let all = nameFindings + idFindings + headerFindings
        if all.isEmpty {
            return try store.addImage(file: file, fileName: fileName, id: requestedID, user: user, source: source,
                                      info: info, maxVoxels: maxVoxels, auditDetails: ["policy": policy.rawValue])
        }
        guard policy == .scrub else { throw try refuse(label: label, findings: all) }

        let work = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: work) }
        var input = file
        var inputName = fileName
        if !headerFindings.isEmpty {
            input = work.appendingPathComponent("scrubbed.nii.gz")
            inputName = "image.nii.gz"
            _ = try NIfTIPrivacy.writeScrubbedCopy(of: file, name: label, to: input)
        }
        let keptID = idFindings.isEmpty ? requestedID : nil
        return try store.addImage(file: input, fileName: inputName, id: keptID, user: user, source: source + ", scrubbed",
                                  info: info, maxVoxels: maxVoxels,
                                  auditDetails: ["policy": policy.rawValue, "scrubbed": all,
                                                 "idReplaced": requestedID != nil && keptID == nil])
    }

    func ingestDICOM(folder: URL, label: String) throws -> [StoredImage] {
        let series = try DICOMSeries.load(directory: folder)
        let findings = series.findings
        if policy == .reject, !findings.isEmpty {
            throw try refuse(label: label, findings: findings.map { "DICOM attribute \($0)" })
        }
        let work = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: work) }
        let dicomDir = work.appendingPathComponent("dicom", isDirectory: true)
        let niftiDir = work.appendingPathComponent("nifti", isDirectory: true)
        try FileManager.default.createDirectory(at: dicomDir, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: niftiDir, withIntermediateDirectories: true)
        let scrub = policy == .scrub
        let contents = scrub ? try series.scrubbed(salt: try store.uidSalt()) : series.files.map(\.bytes)
        for (i, bytes) in contents.enumerated() {
            let url = dicomDir.appendingPathComponent(String(format: "%05d.dcm", i + 1))
            do { try Data(bytes).write(to: url) } catch {
                throw StoreError.io(path: work.path, reason: "cannot write the working copy of the series: \(error.localizedDescription)")
            }
        }
        let outputs = try Dcm2niix(executable: dcm2niix).convert(folder: dicomDir, output: niftiDir)
        var stored: [StoredImage] = []
        for (i, output) in outputs.enumerated() {
            // dcm2niix writes acquisition details (times, echo) into descrip: always cleared.
            let clean = work.appendingPathComponent("clean\(i).nii.gz")
            let cleared = try NIfTIPrivacy.writeScrubbedCopy(of: output, name: "converted volume \(i + 1)", to: clean)
            let left = try NIfTIPrivacy.findings(file: clean, name: "converted volume \(i + 1)")
            guard left.isEmpty else {
                throw StoreError.conversionFailed(reason: "the converted volume still has \(left.joined(separator: ", "))")
            }
            var details: [String: any Sendable] = ["policy": policy.rawValue, "dicomFiles": series.files.count,
                                                   "niftiFieldsCleared": cleared]
            if scrub {
                details["dicomAttributesBlanked"] = findings
                details["dicomUIDsRemapped"] = series.uidKeywords
            }
            stored.append(try store.addImage(file: clean, fileName: "image.nii.gz", id: nil, user: user,
                                             source: "ingest: DICOM series" + (scrub ? ", scrubbed" : ""), info: "{}",
                                             maxVoxels: maxVoxels, auditDetails: details))
        }
        return stored
    }

    /// The refusal is audited too (names of findings only), then thrown.
    func refuse(label: String, findings: [String]) throws -> StoreError {
        try store.recordAudit(user: user, action: "ingest.refused", object: label,
                              details: ["policy": policy.rawValue, "findings": findings])
        return StoreError.phiFound(source: label, findings: findings)
    }

    func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("lumen-ingest-\(UUID().uuidString)")
        do { try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true) } catch {
            throw StoreError.io(path: url.path, reason: "cannot create a working folder: \(error)")
        }
        return url
    }
}
