#!/usr/bin/env python3
"""Transform references from MONAI 1.6.1 for Tests/LumenTransformsTests.

Each case stores the channel-first input (`NAME_x.npy`), MONAI's output
(`NAME_y.npy`, plus extra arrays where a case has several outputs) and, in
index.json, the input affine, the transform's config arguments and MONAI's
output affine, so Lumen's transforms are checked against MONAI itself.

Run: python3 -m venv .venv-tf && . .venv-tf/bin/activate &&
     pip install "torch==2.13.0+cpu" && pip install --no-deps monai==1.6.1 &&
     pip install numpy nibabel scipy scikit-image
     python scripts/make_transform_fixtures.py
"""
import json, math, os, sys
import numpy as np
import torch
import monai
from monai.data import MetaTensor
from monai import transforms as T
from monai.apps.deepgrow import transforms as DG

OUT = sys.argv[1] if len(sys.argv) > 1 else "Tests/LumenTransformsTests/Fixtures"
os.makedirs(OUT, exist_ok=True)
for f in os.listdir(OUT):
    if f.endswith(".npy"):
        os.remove(os.path.join(OUT, f))
g = np.random.default_rng(0)
index = []


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


def save(name, **arrays):
    for k, v in arrays.items():
        v = v.numpy() if isinstance(v, torch.Tensor) else np.asarray(v)
        np.save(os.path.join(OUT, f"{name}_{k}.npy"), v.astype(np.float32))


def add(name, kind, args, x, y, aff=None, out_affine=None, **extra):
    save(name, x=x, y=y)
    entry = {"name": name, "kind": kind, "args": args}
    if aff is not None:
        entry["affine"] = np.asarray(aff, dtype=np.float64).tolist()
    if out_affine is not None:
        entry["out_affine"] = np.asarray(out_affine, dtype=np.float64).tolist()
    entry.update(extra)
    index.append(entry)


def meta(x, aff):
    return MetaTensor(torch.from_numpy(np.ascontiguousarray(x)), affine=torch.from_numpy(np.asarray(aff, dtype=np.float64)))


def labels(shape, n, blobs=6):
    """A label map of a few boxes per label, touching and nested, for component tests."""
    y = np.zeros(shape, np.float32)
    for _ in range(blobs):
        lab = g.integers(1, n + 1)
        lo = [g.integers(0, s - 2) for s in shape[1:]]
        hi = [min(s, l + g.integers(1, 6)) for s, l in zip(shape[1:], lo)]
        y[(0,) + tuple(slice(a, b) for a, b in zip(lo, hi))] = lab
    return y


# --- Orientation ---------------------------------------------------------------------------
for name, codes, aff, shape in [
    ("orient_lps", "RAS", affine([0.8, 0.9, 2.5], lps=True), [2, 13, 11, 7]),
    ("orient_permuted", "RAS", permuted(affine([0.8, 0.9, 2.5], lps=True), [2, 0, 1]), [1, 9, 12, 10]),
    ("orient_oblique_to_lps", "LPS", affine([1.0, 1.2, 2.0], angle=0.3), [1, 10, 9, 8]),
    ("orient_to_pir", "PIR", affine([1.0, 1.2, 2.0], angle=-0.2), [1, 6, 7, 5]),
]:
    x = (g.standard_normal(shape) * 100).astype(np.float32)
    y = T.Orientation(axcodes=codes)(meta(x, aff))
    add(name, "Orientationd", {"axcodes": codes}, x, y, aff, y.affine)

# --- Spacing -------------------------------------------------------------------------------
for name, args, aff, shape, discrete in [
    ("spacing_down", {"pixdim": [1.5, 1.5, 2.0], "mode": "bilinear"}, affine([0.8, 0.9, 2.5]), [1, 23, 19, 11], False),
    ("spacing_up_nearest", {"pixdim": [0.7, 0.7, 1.0], "mode": "nearest"}, affine([1.1, 1.3, 2.5]), [1, 9, 8, 6], True),
    ("spacing_half_nearest", {"pixdim": [0.5, 0.6, 1.25], "mode": "nearest"}, affine([1.0, 1.2, 2.5]), [1, 7, 6, 5], True),
    ("spacing_oblique", {"pixdim": [1.5, 1.5, 1.5], "mode": "bilinear"}, affine([1.0, 1.2, 2.0], angle=0.3), [1, 14, 12, 9], False),
    ("spacing_oblique_nearest", {"pixdim": [0.9, 1.1, 1.7], "mode": "nearest"}, affine([1.0, 1.2, 2.0], angle=-0.4, lps=True), [1, 10, 9, 7], True),
    ("spacing_lps_aniso", {"pixdim": [1.1, 0.7, 3.0], "mode": "bilinear"}, affine([0.8, 0.9, 2.5], lps=True), [2, 13, 11, 7], False),
    ("spacing_keep_close", {"pixdim": [0.8005, 1.5, 2.5], "mode": "bilinear"}, affine([0.8, 0.9, 2.5]), [2, 11, 13, 7], False),
]:
    x = g.integers(0, 5, shape).astype(np.float32) if discrete else (g.standard_normal(shape) * 100).astype(np.float32)
    y = T.Spacing(**args)(meta(x, aff))
    add(name, "Spacingd", args, x, y, aff, y.affine)

# Deepgrow 3-D: Spacing on a (D, H, W) array without channel: D acts as channels, only H, W resampled.
a = affine([0.8, 0.7, 2.5])
x = (g.standard_normal([6, 13, 11]) * 50).astype(np.float32)
y = T.Spacing(pixdim=[1.0, 1.0], mode="bilinear")(meta(x, a))
add("spacing_2d_depth_as_channel", "Spacingd", {"pixdim": [1.0, 1.0], "mode": "bilinear"}, x, y,
    monai.data.utils.to_affine_nd(2, a), y.affine)

# --- Intensity -----------------------------------------------------------------------------
x = (g.standard_normal([1, 7, 6, 5]) * 100).astype(np.float32)
for name, args in [("scale_range", {"a_min": -57, "a_max": 164, "b_min": 0, "b_max": 1, "clip": True}),
                   ("scale_range_noclip", {"a_min": -1000, "a_max": 1000, "b_min": -1, "b_max": 1, "clip": False})]:
    add(name, "ScaleIntensityRanged", args, x, T.ScaleIntensityRange(**args)(x.copy()), np.eye(4))
xn = (g.standard_normal([2, 7, 6, 5]) * 80 + 20).astype(np.float32)
xn[:, :2] = 0
for name, args in [("normalize_nonzero", {"nonzero": True}),
                   ("normalize_channel_wise", {"nonzero": True, "channel_wise": True}),
                   ("normalize_fixed", {"subtrahend": 208, "divisor": 388}),
                   ("normalize_plain", {})]:
    add(name, "NormalizeIntensityd", args, xn, T.NormalizeIntensity(**args)(xn.copy()), np.eye(4))
for name, args in [("scale_intensity", {"minv": -1.0, "maxv": 1.0}), ("scale_intensity_cw", {"minv": 0.0, "maxv": 1.0, "channel_wise": True})]:
    add(name, "ScaleIntensityd", args, xn, T.ScaleIntensity(**args)(xn.copy()), np.eye(4))

# --- Resize --------------------------------------------------------------------------------
a = affine([0.8, 0.9, 2.5])
for name, args, shape in [
    ("resize_area_down", {"spatial_size": [9, 7, 5], "mode": "area"}, [1, 23, 17, 11]),
    ("resize_area_up", {"spatial_size": [13, 11, 9], "mode": "area"}, [1, 7, 6, 5]),
    ("resize_nearest", {"spatial_size": [11, 20, 7], "mode": "nearest"}, [2, 7, 9, 11]),
    ("resize_trilinear", {"spatial_size": [11, 5, 14], "mode": "trilinear"}, [1, 7, 9, 6]),
    ("resize_trilinear_ac", {"spatial_size": [11, 5, 14], "mode": "trilinear", "align_corners": True}, [1, 7, 9, 6]),
    ("resize_keep_dim", {"spatial_size": [-1, 12, 8], "mode": "area"}, [1, 5, 17, 11]),
]:
    x = (g.standard_normal(shape) * 10).astype(np.float32)
    y = T.Resize(**args)(meta(x, a))
    add(name, "Resized", args, x, y, a, y.affine)
x = (g.standard_normal([1, 17, 13]) * 10).astype(np.float32)
for name, args in [("resize_2d_area", {"spatial_size": [8, 9], "mode": "area"}),
                   ("resize_2d_bilinear", {"spatial_size": [25, 6], "mode": "bilinear"})]:
    y = T.Resize(**args)(meta(x, np.eye(3)))
    add(name, "Resized", args, x, y, np.eye(3), y.affine)

# --- Pad / crop ----------------------------------------------------------------------------
x = (g.standard_normal([2, 7, 6, 5]) * 10).astype(np.float32)
for name, kind, args, t in [
    ("pad_symmetric", "SpatialPadd", {"spatial_size": [10, 9, 4]}, T.SpatialPad(spatial_size=[10, 9, 4])),
    ("pad_end", "SpatialPadd", {"spatial_size": [8, -1, 9], "method": "end"}, T.SpatialPad(spatial_size=[8, -1, 9], method="end")),
    ("crop_box", "SpatialCropd", {"roi_start": [1, -2, 2], "roi_end": [5, 4, 9]}, T.SpatialCrop(roi_start=[1, -2, 2], roi_end=[5, 4, 9])),
    ("crop_center_form", "SpatialCropd", {"roi_center": [3, 1, 4], "roi_size": [4, 5, 3]}, T.SpatialCrop(roi_center=[3, 1, 4], roi_size=[4, 5, 3])),
    ("crop_center", "CenterSpatialCropd", {"roi_size": [4, -1, 3]}, T.CenterSpatialCrop(roi_size=[4, -1, 3])),
]:
    y = t(meta(x, a))
    add(name, kind, args, x, y, a, y.affine)
xf = np.zeros([2, 12, 11, 9], np.float32)
xf[0, 3:7, 2:5, 4:6] = g.random([4, 3, 2]) + 0.1
xf[1, 8, 9, 1] = 2.0
xf[1, 5, 5, 5] = -3.0
for name, args in [("crop_foreground", {"margin": 1}),
                   ("crop_foreground_pad", {"margin": [2, 3, 1], "allow_smaller": False}),
                   ("crop_foreground_smaller", {"margin": 2, "allow_smaller": True, "k_divisible": [4, 3, 1]}),
                   ("crop_foreground_channel", {"margin": 0, "channel_indices": [0]})]:
    y = T.CropForeground(**args)(meta(xf, a))
    add(name, "CropForegroundd", args, xf, y, a, y.affine)

# --- Post ----------------------------------------------------------------------------------
x = (g.standard_normal([3, 7, 6, 5]) * 3).astype(np.float32)
add("softmax", "Activationsd", {"softmax": True}, x, T.Activations(softmax=True)(torch.from_numpy(x)))
add("sigmoid", "Activationsd", {"sigmoid": True}, x, T.Activations(sigmoid=True)(torch.from_numpy(x)))
add("argmax", "AsDiscreted", {"argmax": True}, x, T.AsDiscrete(argmax=True)(torch.from_numpy(x)))
add("threshold", "AsDiscreted", {"threshold": 0.5}, x, T.AsDiscrete(threshold=0.5)(torch.from_numpy(x)))
add("threshold_old_names", "AsDiscreted", {"threshold_values": True, "logit_thresh": 0.2}, x,
    T.AsDiscrete(threshold=0.2)(torch.from_numpy(x)))

lab = labels([1, 14, 13, 12], 3, blobs=14)
lab2 = labels([1, 19, 17], 2, blobs=10)
onehot = np.concatenate([(lab == i) for i in range(4)]).astype(np.float32)
for name, args, x in [
    ("largest_cc", {}, lab),
    ("largest_cc_conn1", {"connectivity": 1}, lab),
    ("largest_cc_union", {"independent": False, "applied_labels": [1, 2]}, lab),
    ("largest_cc_two", {"applied_labels": [1, 3], "num_components": 2, "connectivity": 2}, lab),
    ("largest_cc_onehot", {"applied_labels": [1, 2, 3]}, onehot),
    ("largest_cc_2d", {}, lab2),
]:
    y = T.KeepLargestConnectedComponent(**args)(torch.from_numpy(x.copy()))
    add(name, "KeepLargestConnectedComponentd", args, x, y)

holes = np.zeros([1, 12, 11, 10], np.float32)
holes[0, 2:9, 2:9, 2:8] = 1
holes[0, 4:6, 4:6, 4:6] = 0          # a closed cavity
holes[0, 3:5, 6:8, 0:4] = 2          # a label touching the border
holes[0, 5, 5, 3] = 0                # small hole
holes[0, 2:9, 8, 6] = 0              # a groove open to the outside (face) but closed diagonally
holes2 = np.zeros([1, 10, 9], np.float32)
holes2[0, 1:8, 1:7] = 1
holes2[0, 3:5, 3:5] = 0
holes2[0, 7, 6] = 0
holes2[0, 6, 2] = 2
for name, args, x in [("fill_holes", {}, holes), ("fill_holes_conn1", {"connectivity": 1}, holes),
                      ("fill_holes_label1", {"applied_labels": [1]}, holes), ("fill_holes_2d", {}, holes2)]:
    y = T.FillHoles(**args)(torch.from_numpy(x.copy()))
    add(name, "FillHolesd", args, x, y)

# --- Deepgrow ------------------------------------------------------------------------------
for name, shape, pos, neg in [("signal_3d", [1, 16, 19, 14], [[3, 4, 5], [12, 15, 2]], [[8, 8, 13]]),
                              ("signal_3d_no_negative", [1, 16, 19, 14], [[7, 9, 6]], []),
                              ("signal_3d_overlap", [2, 12, 11, 10], [[5, 5, 5], [6, 5, 7], [-1, 3, 3]], [[0, 0, 0], [40, 3, 2]]),
                              ("signal_2d", [1, 21, 18], [[10, 9], [3, 16]], [[17, 2]])]:
    x = (g.standard_normal(shape)).astype(np.float32)
    d = DG.AddGuidanceSignald(image="image", guidance="guidance")({"image": x, "guidance": [pos, neg]})
    add(name, "AddGuidanceSignald", {}, x, d["image"], positive=pos, negative=neg)

def deepgrow_case(name, hwd, pos, neg, roi, resize_to, spacing, margin=20):
    """Clara/MONAI deepgrow 3-D pre-processing and label restore, step by step."""
    a = affine(spacing)
    vol = (g.standard_normal(hwd) * 100).astype(np.float32)
    img = np.transpose(vol, [2, 0, 1])               # (D, H, W)
    img = T.Spacing(pixdim=[1.0, 1.0], mode="bilinear")(meta(img, a))
    d = {"image": img, "image_meta_dict": {"spatial_shape": np.asarray(hwd)}, "foreground": pos, "background": neg}
    d = DG.AddGuidanceFromPointsd(ref_image="image", guidance="guidance", spatial_dims=3, depth_first=True)(d)
    g0 = d["guidance"]
    d["image"] = d["image"][None]
    d = DG.SpatialCropGuidanced(keys="image", guidance="guidance", spatial_size=roi, margin=margin)(d)
    g1 = d["guidance"]
    m = d["image_meta_dict"]
    cropped = np.asarray(d["image"])
    d["image"] = T.Resized(keys="image", spatial_size=resize_to, mode="area")(d)["image"]
    d = DG.ResizeGuidanced(guidance="guidance", ref_image="image")(d)
    g2 = d["guidance"]
    d = T.NormalizeIntensityd(keys="image", subtrahend=208, divisor=388)(d)
    d = DG.AddGuidanceSignald(image="image", guidance="guidance")(d)
    net_in = np.asarray(d["image"])
    pred = (net_in[:1] > 0.2).astype(np.float32)    # a stand-in prediction on the network grid
    m["original_affine"] = a
    r = DG.RestoreLabeld(keys="pred", ref_image="image", mode="nearest")({"pred": pred, "image_meta_dict": m})
    save(name, x=np.asarray(img), cropped=cropped, net_in=net_in, pred=pred, restored=np.asarray(r["pred"]))
    index.append({"name": name, "kind": "deepgrow", "args": {"roi": roi, "resize": resize_to, "margin": margin},
                  "original_shape": list(hwd), "positive": pos, "negative": neg,
                  "guidance_points": g0, "guidance_cropped": g1, "guidance_resized": g2,
                  "box_start": [int(v) for v in m["foreground_start_coord"]], "box_end": [int(v) for v in m["foreground_end_coord"]]})

deepgrow_case("deepgrow_centre", [70, 64, 6], [[30, 22, 4]], [[35, 26, 1]], [48, 48], [6, 16, 16], [1.0, 1.0, 2.5])
deepgrow_case("deepgrow_box", [30, 34, 12], [[2, 3, 1], [27, 30, 10]], [], [16, 16], [10, 12, 12], [1.3, 1.1, 2.0])
deepgrow_case("deepgrow_deep", [10, 12, 14], [[6, 7, 11]], [[4, 5, 10]], [8, 8], [8, 8, 8], [1.0, 1.0, 1.5], margin=2)

# --- Pipelines and their inverses (Invertd) ------------------------------------------------
def pipeline_case(name, steps, aff, shape, nearest):
    keys = ["image", "pred"]
    ts = []
    for kind, args in steps:
        ts.append(getattr(T, kind)(keys="image", **args))
    pre = T.Compose(ts)
    x = (g.standard_normal(shape) * 50).astype(np.float32)
    x[:, :2] = 0
    d = pre({"image": meta(x, aff)})
    fwd = d["image"]
    d["pred"] = fwd.clone()
    inv = T.Invertd(keys="pred", transform=pre, orig_keys="image", nearest_interp=nearest)(d)
    save(name, x=x, y=fwd, inv=inv["pred"])
    index.append({"name": name, "kind": "pipeline", "steps": [{"name": k, "args": a} for k, a in steps],
                  "affine": np.asarray(aff).tolist(), "out_affine": fwd.affine.numpy().tolist(), "nearest": nearest})

pipeline_case("pipeline_ct", [("Orientationd", {"axcodes": "RAS"}), ("Spacingd", {"pixdim": [1.5, 1.5, 2.0]}),
                              ("ScaleIntensityRanged", {"a_min": -57, "a_max": 164, "b_min": 0.0, "b_max": 1.0, "clip": True}),
                              ("CropForegroundd", {"source_key": "image", "margin": 1}),
                              ("SpatialPadd", {"spatial_size": [16, 16, 8]})],
              affine([0.8, 0.9, 2.5], lps=True), [1, 23, 19, 11], False)
pipeline_case("pipeline_resize_nearest", [("Orientationd", {"axcodes": "RAS"}), ("Spacingd", {"pixdim": [1.2, 1.0, 2.0]}),
                                          ("CenterSpatialCropd", {"roi_size": [12, 10, -1]}),
                                          ("Resized", {"spatial_size": [8, 8, 8], "mode": "area"})],
              permuted(affine([0.8, 0.9, 2.5], lps=True), [2, 0, 1]), [1, 9, 21, 17], True)

# --- RemoveSmallObjects (scikit-image underneath: its version decides ties) -----------------------
def boxes(shape, spec):
    y = np.zeros(shape, np.float32)
    for value, lo, hi in spec:
        y[(0,) + tuple(slice(a, b) for a, b in zip(lo, hi))] = value
    return y

multi = boxes([1, 14, 13, 12], [(1, [0, 0, 0], [6, 5, 4]),        # 120 voxels
                                (2, [8, 0, 0], [12, 4, 4]),       # 64: exactly min_size
                                (3, [8, 6, 6], [10, 8, 8]),       # 8, far from the rest
                                (3, [0, 5, 0], [2, 7, 2]),        # 8, touching label 1 (union case)
                                (2, [12, 11, 10], [14, 13, 12])]) # label 2 total 72
binary = boxes([1, 14, 13, 12], [(1, [0, 0, 0], [3, 3, 1]), (1, [3, 3, 1], [5, 5, 3]),   # 9 + 8, corner-touching
                                 (1, [7, 7, 7], [8, 8, 10]), (1, [10, 0, 0], [14, 5, 4]),
                                 (1, [0, 10, 10], [2, 12, 11])])
binary2 = boxes([1, 17, 15], [(1, [0, 0], [3, 3]), (1, [3, 3], [5, 5]), (1, [9, 2], [14, 8]), (1, [15, 12], [16, 13])])
for name, args, x, aff in [
    ("small_objects_labels", {}, multi, None),
    ("small_objects_union", {"independent_channels": False, "min_size": 10}, multi, None),
    ("small_objects_binary", {"min_size": 9}, binary, None),
    ("small_objects_binary_conn3", {"min_size": 9, "connectivity": 3}, binary, None),
    ("small_objects_measure", {"min_size": 20.0, "by_measure": True}, binary, affine([0.8, 0.9, 2.5], lps=True)),
    ("small_objects_2d", {"min_size": 8, "connectivity": 2}, binary2, None),
]:
    t = meta(x.copy(), aff) if aff is not None else torch.from_numpy(x.copy())
    y = T.RemoveSmallObjects(**args)(t)
    add(name, "RemoveSmallObjectsd", args, x, y, aff=aff)

import skimage
json.dump({"monai": monai.__version__, "torch": torch.__version__, "scikit_image": skimage.__version__, "cases": index},
          open(os.path.join(OUT, "index.json"), "w"), indent=1, default=lambda o: o.tolist() if hasattr(o, "tolist") else int(o))
print("wrote", len(index), "cases")
