#!/usr/bin/env python3
"""Drives a running `lumen serve` with the real, unmodified monailabel client
(monailabel==0.8.5, installed with --no-deps by scripts/env/setup_client_python):
info, datastore upload, segmentation, a deepgrow session with clicks, and the
results' geometry checked against the input with nibabel.

  scripts/live/client_check.py --server http://127.0.0.1:8000 --image ct.nii.gz [--deepgrow deepgrow_3d]

Exit status 0 = every check passed; the last line says what was checked.
"""
import argparse, sys, tempfile

import nibabel as nib
import numpy as np
from monailabel.client import MONAILabelClient


def check(condition, what):
    if not condition:
        print(f"FAILED: {what}", flush=True)
        sys.exit(1)
    print(f"ok: {what}", flush=True)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--server", required=True)
    p.add_argument("--image", required=True)
    p.add_argument("--segmentation", default="abdominal_organs")
    p.add_argument("--deepgrow", default="deepgrow_3d")
    p.add_argument("--click", default=None, help="i,j,k of a foreground click")
    p.add_argument("--label", default=None, help="ground truth: click the voxel of --value nearest its centroid")
    p.add_argument("--value", type=int, default=1)
    args = p.parse_args()
    tmp = tempfile.mkdtemp()
    client = MONAILabelClient(args.server, tmpdir=tmp, client_id="client-check")
    source = nib.load(args.image)

    info = client.info()
    check(args.segmentation in info["models"], f"/info/ lists {args.segmentation}")
    check(info["models"][args.segmentation]["type"] == "segmentation", "its type is segmentation")

    image_id = client.upload_image(args.image, image_id="client_check_ct")["image"]
    check(image_id == "client_check_ct", "upload_image kept the requested id")
    result, params = client.infer(args.segmentation, image_id, {"result_extension": ".nii.gz", "result_dtype": "uint8"})
    check(result is not None and "label_names" in params, "infer returned an image and label_names")
    seg = nib.load(result)
    check(seg.shape == source.shape, f"segmentation shape {seg.shape} equals the input's {source.shape}")
    check(np.allclose(seg.affine, source.affine, atol=1e-4), "segmentation affine equals the input's")
    values = set(np.unique(np.asarray(seg.dataobj)).astype(int).tolist())
    check(values <= set(range(len(params["label_names"]) + 1)) and len(values) > 1, f"label values {sorted(values)} are 0..N")

    session = client.create_session(args.image)
    sid = session["session_id"]
    check(isinstance(sid, str) and sid, "create_session returned a string id")
    if args.click:
        click = [int(v) for v in args.click.split(",")]
    elif args.label:
        voxels = np.argwhere(np.asarray(nib.load(args.label).dataobj) == args.value)
        click = voxels[np.argmin(((voxels - voxels.mean(0)) ** 2).sum(1))].tolist()
    else:
        click = [s // 2 for s in source.shape[:3]]
    result, params = client.infer(args.deepgrow, image_id, {"foreground": [click], "background": []}, session_id=sid)
    grown = nib.load(result)
    check(grown.shape == source.shape and np.allclose(grown.affine, source.affine, atol=1e-4), "deepgrow result keeps the geometry")
    check(np.asarray(grown.dataobj)[tuple(click)] > 0, f"deepgrow grew from the click {click}")
    check(client.get_session(sid)["session_id"] == sid, "get_session finds the session")
    client.remove_session(sid)
    print("client check passed: info, upload, segmentation, deepgrow session, geometry", flush=True)


if __name__ == "__main__":
    main()
