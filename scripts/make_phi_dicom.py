#!/usr/bin/env python3
"""Writes a small CT series full of patient data with pydicom, for Lumen's
ingest tests: the PS3.15 Basic Profile attributes a de-identifier must catch
(names, IDs, birth date, address, institution, accession number, study ID,
dates, UIDs) plus a private tag. Prints the planted values as JSON, so the
test can grep the store for every one of them.

  python3 scripts/make_phi_dicom.py OUT_DIR [--slices 4]
"""
import argparse, json, os

import numpy as np
import pydicom
from pydicom.dataset import FileDataset, FileMetaDataset
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian

PHI = {"PatientName": "ROE^JANE^Q", "PatientID": "MRN-7751203", "PatientBirthDate": "19641231",
       "PatientAddress": "17 Harbour Road, Lowtown", "InstitutionName": "Lowtown Memorial Hospital",
       "ReferringPhysicianName": "HOUSE^GREGORY", "AccessionNumber": "ACN-55120", "StudyID": "ST-90210",
       "OtherPatientIDs": "OPID-3321", "StudyDate": "20240229"}
UID_ROOT = "1.2.826.0.1.3680043.8.4998"
PRIVATE = "private-clinic-note-8812"


def main():
    p = argparse.ArgumentParser()
    p.add_argument("out")
    p.add_argument("--slices", type=int, default=4)
    args = p.parse_args()
    os.makedirs(args.out, exist_ok=True)
    study, series, frame = f"{UID_ROOT}.1", f"{UID_ROOT}.2", f"{UID_ROOT}.4"
    for i in range(args.slices):
        meta = FileMetaDataset()
        meta.MediaStorageSOPClassUID = CTImageStorage
        meta.MediaStorageSOPInstanceUID = f"{UID_ROOT}.3.{i + 1}"
        meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds = FileDataset(os.path.join(args.out, f"slice{i:03d}.dcm"), {}, file_meta=meta, preamble=b"\0" * 128)
        for key, value in PHI.items():
            setattr(ds, key, value)
        ds.SOPClassUID, ds.SOPInstanceUID = CTImageStorage, meta.MediaStorageSOPInstanceUID
        ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.FrameOfReferenceUID = study, series, frame
        ds.Modality, ds.SeriesNumber, ds.InstanceNumber = "CT", 3, i + 1
        ds.ImagePositionPatient = [-40.0, -40.0, 2.5 * i]
        ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
        ds.PixelSpacing, ds.SliceThickness = [1.25, 1.25], 2.5
        ds.Rows, ds.Columns = 8, 8
        ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 1
        ds.RescaleIntercept, ds.RescaleSlope = -1024, 1
        ds.PixelData = (np.arange(64, dtype=np.int16).reshape(8, 8) * 10 + i).tobytes()
        block = ds.private_block(0x0011, "CLINIC NOTES", create=True)
        block.add_new(0x01, "LO", PRIVATE)
        ds.save_as(ds.filename, enforce_file_format=True)
    print(json.dumps(list(PHI.values()) + [UID_ROOT, PRIVATE]))


if __name__ == "__main__":
    main()
