#!/usr/bin/env python3
"""Writes the crash corpus: every input that ever killed or 500'd `lumen serve`.

Each entry is a small file plus a line in manifest.json naming the route, the
params and the status Lumen must now answer. HostileInputTests replays them all
in-process; scripts/fuzz_campaign.py replays them against a live server first.
Run again only to add a case; the files are committed.
"""
import json
import math
import os
import struct
import sys

OUT = os.path.join(os.path.dirname(__file__), "..", "Tests", "LumenServerTests", "Fixtures", "crashers")


def nifti(dims=(6, 5, 4), pixdim=(1.5, 1.5, 3.0), vox_offset=352.0, sform=None, qform_code=0,
          sform_code=1, datatype=2, bitpix=8, values=None):
    """A uint8 NIfTI-1 single file, every field chosen here so one can be broken."""
    h = bytearray(352)
    struct.pack_into("<i", h, 0, 348)
    struct.pack_into("<8h", h, 40, 3, dims[0], dims[1], dims[2], 1, 1, 1, 1)
    struct.pack_into("<hh", h, 70, datatype, bitpix)
    struct.pack_into("<8f", h, 76, 1.0, *pixdim, 0, 0, 0, 0)
    struct.pack_into("<f", h, 108, vox_offset)
    struct.pack_into("<f", h, 112, 1.0)
    h[123] = 10
    struct.pack_into("<hh", h, 252, qform_code, sform_code)
    rows = sform or [[pixdim[0], 0, 0, -10], [0, pixdim[1], 0, -20], [0, 0, pixdim[2], 5]]
    for r in range(3):
        struct.pack_into("<4f", h, 280 + 16 * r, *rows[r])
    h[344:348] = b"n+1\0"
    n = dims[0] * dims[1] * dims[2]
    data = bytes(values) if values is not None else bytes((i % 2) for i in range(n))
    return bytes(h) + data


def png_header(width, height):
    """A PNG whose IHDR claims width × height; the rest is never read."""
    import zlib
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    chunk = lambda t, b: struct.pack(">I", len(b)) + t + b + struct.pack(">I", zlib.crc32(t + b) & 0xFFFFFFFF)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IEND", b"")


def square_mask():
    dims = (16, 16, 3)
    values = [0] * (16 * 16 * 3)
    for i in range(4, 12):
        for j in range(4, 12):
            values[(1 * 16 + j) * 16 + i] = 1   # NIfTI order: i fastest, slice k = 1
    return nifti(dims=dims, pixdim=(1, 1, 1), values=values)


F = float
CASES = [
    # name, file bytes, file name, method, uri, params, status, why
    ("vox_offset_nan", nifti(vox_offset=F("nan")), "ct.nii", "PUT", "/session/", None, 400,
     "vox_offset NaN reached Int(...) in NIfTIHeaderProbe"),
    ("vox_offset_inf", nifti(vox_offset=F("inf")), "ct.nii", "POST", "/v1/segmentation?model=abdominal_organs", "{}", 400,
     "vox_offset +Inf reached Int(...) in NIfTIHeaderProbe"),
    ("vox_offset_neg_inf", nifti(vox_offset=F("-inf")), "ct.nii", "POST", "/v1/segmentation?model=bones", "{}", 400,
     "vox_offset -Inf reached Int(...) in NIfTIHeaderProbe"),
    ("vox_offset_huge", nifti(vox_offset=1e20), "ct.nii", "PUT", "/session/", None, 400,
     "vox_offset beyond Int's range reached Int(...)"),
    ("sform_1e30", nifti(sform=[[1e30, 0, 0, 0], [0, 1.5, 0, 0], [0, 0, 3, 0]]), "ct.nii", "POST",
     "/v1/segmentation?model=abdominal_organs", "{}", 400, "Spacing's output size overflowed Int"),
    ("pixdim_3e38_no_form", nifti(pixdim=(3e38, 1.5, 3.0), sform_code=0), "ct.nii", "POST",
     "/v1/deepgrow?model=deepgrow_3d", json.dumps({"foreground": [[3, 2, 2]]}), 400,
     "pixdim 3e38 without qform or sform overflowed the resampling grid"),
    ("srow_inf", nifti(sform=[[F("inf"), 0, 0, 0], [0, 1.5, 0, 0], [0, 0, 3, 0]]), "ct.nii", "POST",
     "/v1/segmentation?model=abdominal_organs", "{}", 400, "Inf in srow_x reached Int(...) in Spacing"),
    ("sform_nan_session", nifti(sform=[[F("nan"), 0, 0, 0], [0, 1.5, 0, 0], [0, 0, 3, 0]]), "ct.nii", "PUT", "/session/", None, 400,
     "NaN in the sform made a session (500) that no task could use"),
    ("sform_diag_1e3", nifti(sform=[[1e3, 0, 0, 0], [0, 1e3, 0, 0], [0, 0, 1e3, 0]]), "ct.nii", "POST",
     "/v1/segmentation?model=abdominal_organs", "{}", 400,
     "1000 mm voxels resampled to 2 mm asked for 137 GB; the grid is now checked against max_voxels"),
    ("more_points_tiny", square_mask(), "mask.nii", "POST", "/v1/mask2polygon", json.dumps({"more_points": 1e-300}), 200,
     "1/1e-300 reached Int(...) in MaskPolygons"),
    ("more_points_huge", square_mask(), "mask.nii", "POST", "/v1/mask2polygon", json.dumps({"more_points": 1e300}), 400,
     "more_points far out of range is refused, named"),
    ("fixpolygon_outside", png_header(16, 16), "slice.png", "POST", "/v1/fixpolygon",
     json.dumps({"poly": [[[100, 100], [140, 100], [140, 140]]], "vertex_offset": [1, 1], "dimension": 2,
                 "polygon_index": 0, "vertex_index": 0}), 400,
     "a polygon outside the image reached a reversed range in PolygonFix.rasterize"),
    ("fixpolygon_png_bomb", png_header(32768, 32768), "slice.png", "POST", "/v1/fixpolygon",
     json.dumps({"poly": [[[1, 1], [4, 1], [4, 4]]], "vertex_offset": [1, 1], "dimension": 2,
                 "polygon_index": 0, "vertex_index": 0}), 400,
     "a 900-byte PNG header claiming 32768 x 32768 took 24 s and 5.3 GB"),
    ("bitpix_disagrees", nifti(bitpix=16), "ct.nii", "PUT", "/session/", None, 400,
     "bitpix that disagrees with the datatype is refused before allocation"),
]


def main():
    os.makedirs(OUT, exist_ok=True)
    manifest = []
    for name, data, file_name, method, uri, params, status, why in CASES:
        ext = file_name.split(".", 1)[1]
        path = f"{name}.{ext}"
        with open(os.path.join(OUT, path), "wb") as f:
            f.write(data)
        manifest.append({"name": name, "file": path, "file_name": file_name, "method": method, "uri": uri,
                         "params": params, "status": status, "why": why})
    with open(os.path.join(OUT, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
        f.write("\n")
    print(f"{len(manifest)} cases in {os.path.normpath(OUT)}")


if __name__ == "__main__":
    sys.exit(main())
