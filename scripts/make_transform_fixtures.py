#!/usr/bin/env python3
"""Transform references from MONAI 1.6.1 (Orientation, Spacing, ScaleIntensityRange).

Each case stores the channel-first input, its affine, the transform's arguments,
and MONAI's output array and affine, so Lumen's transforms are checked against
MONAI itself. Run: .venv-ref/bin/python scripts/make_transform_fixtures.py
"""
import json, math, os, sys
import numpy as np
import torch
from monai.data import MetaTensor
from monai.transforms import Orientation, ScaleIntensityRange, Spacing

OUT = sys.argv[1] if len(sys.argv) > 1 else "Tests/LumenTransformsTests/Fixtures"
os.makedirs(OUT, exist_ok=True)


def affine(spacing, lps=False, angle=0.0, origin=(-40.5, 20.25, -60.0)):
    c, s = math.cos(angle), math.sin(angle)
    r = np.array([[c, -s, 0], [s, c, 0], [0, 0, 1.0]])
    flip = np.diag([-1.0, -1.0, 1.0]) if lps else np.eye(3)
    a = np.eye(4)
    a[:3, :3] = r @ flip @ np.diag(spacing)
    a[:3, 3] = origin
    return a


def permuted(a, perm):
    """The same grid with the array axes listed in another order (e.g. a sagittal acquisition)."""
    b = a.copy()
    b[:3, :3] = a[:3, :3][:, perm]
    return b


g = np.random.default_rng(0)
CASES = [
    ("orient_lps", "orientation", {"axcodes": "RAS"}, affine([0.8, 0.9, 2.5], lps=True), [2, 13, 11, 7]),
    ("orient_permuted", "orientation", {"axcodes": "RAS"}, permuted(affine([0.8, 0.9, 2.5], lps=True), [2, 0, 1]), [1, 9, 12, 10]),
    ("orient_oblique_to_lps", "orientation", {"axcodes": "LPS"}, affine([1.0, 1.2, 2.0], angle=0.3), [1, 10, 9, 8]),
    ("spacing_down", "spacing", {"pixdim": [1.5, 1.5, 2.0], "mode": "bilinear"}, affine([0.8, 0.9, 2.5]), [1, 23, 19, 11]),
    ("spacing_up_nearest", "spacing", {"pixdim": [0.7, 0.7, 1.0], "mode": "nearest"}, affine([1.1, 1.3, 2.5]), [1, 9, 8, 6]),
    ("spacing_oblique", "spacing", {"pixdim": [1.5, 1.5, 1.5], "mode": "bilinear"}, affine([1.0, 1.2, 2.0], angle=0.3), [1, 14, 12, 9]),
    ("spacing_keep_close", "spacing", {"pixdim": [0.8005, 1.5, 2.5], "mode": "bilinear"}, affine([0.8, 0.9, 2.5]), [2, 11, 13, 7]),
    ("scale_range", "scale", {"a_min": -57, "a_max": 164, "b_min": 0, "b_max": 1, "clip": True}, affine([1, 1, 1]), [1, 7, 6, 5]),
]
index = []
for name, kind, args, aff, shape in CASES:
    x = (g.standard_normal(shape) * 100).astype(np.float32)
    if kind == "spacing" and args["mode"] == "nearest":
        x = g.integers(0, 5, shape).astype(np.float32)
    t = MetaTensor(torch.from_numpy(x), affine=torch.from_numpy(aff))
    if kind == "orientation":
        y = Orientation(axcodes=args["axcodes"])(t)
    elif kind == "spacing":
        y = Spacing(pixdim=args["pixdim"], mode=args["mode"])(t)
    else:
        y = ScaleIntensityRange(**args)(t)
    np.save(os.path.join(OUT, f"{name}_x.npy"), x)
    np.save(os.path.join(OUT, f"{name}_y.npy"), y.numpy().astype(np.float32))
    index.append({"name": name, "kind": kind, "args": args, "affine": aff.tolist(),
                  "out_affine": y.affine.numpy().astype(np.float64).tolist()})
json.dump({"monai": __import__("monai").__version__, "cases": index}, open(os.path.join(OUT, "index.json"), "w"), indent=1)
print("wrote", len(index), "cases")
