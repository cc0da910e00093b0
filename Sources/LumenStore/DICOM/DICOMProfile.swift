/// The attributes of the DICOM PS3.15 Basic Application Level Confidentiality
/// Profile (Table E.1-1) that occur in CT/MR series, with what scrubbing does to
/// each. Instance UIDs are remapped, not blanked, because dcm2niix groups
/// slices into series by them. Private attributes are handled as a group.
enum DICOMProfile {
    enum Action: Sendable { case blank, remapUID }

    struct Attribute: Sendable {
        var tag: UInt32
        var keyword: String
        var vr: String
        var action: Action
    }

    static let attributes: [Attribute] = [
        a(0x0008_0014, "InstanceCreatorUID", "UI", .remapUID),
        a(0x0008_0018, "SOPInstanceUID", "UI", .remapUID),
        a(0x0002_0003, "MediaStorageSOPInstanceUID", "UI", .remapUID),
        a(0x0008_0020, "StudyDate", "DA"), a(0x0008_0021, "SeriesDate", "DA"),
        a(0x0008_0022, "AcquisitionDate", "DA"), a(0x0008_0023, "ContentDate", "DA"),
        a(0x0008_002A, "AcquisitionDateTime", "DT"),
        a(0x0008_0030, "StudyTime", "TM"), a(0x0008_0031, "SeriesTime", "TM"),
        a(0x0008_0032, "AcquisitionTime", "TM"), a(0x0008_0033, "ContentTime", "TM"),
        a(0x0008_0050, "AccessionNumber", "SH"),
        a(0x0008_0080, "InstitutionName", "LO"), a(0x0008_0081, "InstitutionAddress", "ST"),
        a(0x0008_0090, "ReferringPhysicianName", "PN"), a(0x0008_0092, "ReferringPhysicianAddress", "ST"),
        a(0x0008_0094, "ReferringPhysicianTelephoneNumbers", "SH"),
        a(0x0008_1010, "StationName", "SH"), a(0x0008_1030, "StudyDescription", "LO"),
        a(0x0008_103E, "SeriesDescription", "LO"), a(0x0008_1040, "InstitutionalDepartmentName", "LO"),
        a(0x0008_1048, "PhysiciansOfRecord", "PN"), a(0x0008_1050, "PerformingPhysicianName", "PN"),
        a(0x0008_1060, "NameOfPhysiciansReadingStudy", "PN"), a(0x0008_1070, "OperatorsName", "PN"),
        a(0x0008_1080, "AdmittingDiagnosesDescription", "LO"),
        a(0x0008_1155, "ReferencedSOPInstanceUID", "UI", .remapUID),
        a(0x0008_3010, "IrradiationEventUID", "UI", .remapUID),
        a(0x0010_0010, "PatientName", "PN"), a(0x0010_0020, "PatientID", "LO"),
        a(0x0010_0021, "IssuerOfPatientID", "LO"), a(0x0010_0030, "PatientBirthDate", "DA"),
        a(0x0010_0032, "PatientBirthTime", "TM"), a(0x0010_0040, "PatientSex", "CS"),
        a(0x0010_1000, "OtherPatientIDs", "LO"), a(0x0010_1001, "OtherPatientNames", "PN"),
        a(0x0010_1005, "PatientBirthName", "PN"), a(0x0010_1010, "PatientAge", "AS"),
        a(0x0010_1020, "PatientSize", "DS"), a(0x0010_1030, "PatientWeight", "DS"),
        a(0x0010_1040, "PatientAddress", "LO"), a(0x0010_1060, "PatientMotherBirthName", "PN"),
        a(0x0010_1090, "MedicalRecordLocator", "LO"), a(0x0010_2154, "PatientTelephoneNumbers", "SH"),
        a(0x0010_2160, "EthnicGroup", "SH"), a(0x0010_2180, "Occupation", "SH"),
        a(0x0010_21B0, "AdditionalPatientHistory", "LT"), a(0x0010_4000, "PatientComments", "LT"),
        a(0x0018_1000, "DeviceSerialNumber", "LO"), a(0x0018_1030, "ProtocolName", "LO"),
        a(0x0020_000D, "StudyInstanceUID", "UI", .remapUID), a(0x0020_000E, "SeriesInstanceUID", "UI", .remapUID),
        a(0x0020_0010, "StudyID", "SH"),
        a(0x0020_0052, "FrameOfReferenceUID", "UI", .remapUID),
        a(0x0020_0200, "SynchronizationFrameOfReferenceUID", "UI", .remapUID),
        a(0x0020_4000, "ImageComments", "LT"),
        a(0x0020_9161, "ConcatenationUID", "UI", .remapUID),
        a(0x0020_9164, "DimensionOrganizationUID", "UI", .remapUID),
        a(0x0032_1032, "RequestingPhysician", "PN"), a(0x0032_1060, "RequestedProcedureDescription", "LO"),
        a(0x0038_0010, "AdmissionID", "LO"), a(0x0038_0300, "CurrentPatientLocation", "LO"),
        a(0x0040_0009, "ScheduledProcedureStepID", "SH"),
        a(0x0040_0244, "PerformedProcedureStepStartDate", "DA"),
        a(0x0040_0245, "PerformedProcedureStepStartTime", "TM"),
        a(0x0040_0253, "PerformedProcedureStepID", "SH"),
        a(0x0040_0254, "PerformedProcedureStepDescription", "LO"),
        a(0x0040_1001, "RequestedProcedureID", "SH"),
        a(0x0040_A124, "UID", "UI", .remapUID),
        a(0x0088_0140, "StorageMediaFileSetUID", "UI", .remapUID),
        a(0x3006_0024, "ReferencedFrameOfReferenceUID", "UI", .remapUID),
    ]

    static let byTag: [UInt32: Attribute] = Dictionary(uniqueKeysWithValues: attributes.map { ($0.tag, $0) })

    private static func a(_ tag: UInt32, _ keyword: String, _ vr: String, _ action: Action = .blank) -> Attribute {
        Attribute(tag: tag, keyword: keyword, vr: vr, action: action)
    }

    static let binaryVRs: Set<String> = ["OB", "OD", "OF", "OL", "OV", "OW", "UN", "SS", "US", "SL", "UL", "FL", "FD",
                                         "SV", "UV", "AT"]
}
