#!/usr/bin/env python3
"""Trains Lumen's bundled interactive models (deepgrow 3-D, deepgrow 2-D, DExtr3D)
on synthetic phantoms, and writes the whole MMAR (configs + models/model.pt).

No pretrained weights can be downloaded here, so these are trained from scratch
on `lumen phantom` output. Every training sample goes through MONAI's own
inference-time transforms, configured from the same dictionary that becomes the
bundle's config_aiaa.json, so Lumen (which reproduces those transforms) feeds
the network exactly what it was trained on. Clicks are simulated: 1–3 foreground
clicks inside one structure and 0–2 background clicks just outside it.

  lumen phantom --output /tmp/train --count 16 --seed 1000 --size small
  python scripts/training/train_interactive.py --task deepgrow_3d --data /tmp/train --out mmar/deepgrow_3d --minutes 15
"""
import argparse, json, os, time

import numpy as np
import torch

import appearance
from monai.apps.deepgrow.transforms import (AddGuidanceFromPointsd, AddGuidanceSignald, ResizeGuidanced,
                                            SpatialCropGuidanced)
from monai.losses import DiceCELoss
from monai.networks.nets import UNet
from monai.transforms import (EnsureChannelFirstd, LoadImaged, NormalizeIntensityd, Resize, Resized, Spacing,
                              Spacingd)
from monai.transforms.utils import extreme_points_to_image
from scipy import ndimage

# Structures a click can mean: organs, aorta, portal vein and the pelvis (phantom label values).
STRUCTURES = [1, 2, 3, 4, 5, 6, 7, 8, 11]
NORMALIZE = {"subtrahend": 208.0, "divisor": 388.0}
# A MONAI UNet rather than deepgrow's usual BasicUNet: its strided first layer
# makes it several times cheaper, which is what lets it train on 2 CPU cores.
UNET = {"channels": [16, 32, 64, 128], "strides": [2, 2, 2], "num_res_units": 2, "norm": "batch"}

TASKS = {
    "deepgrow_3d": {"dims": 3, "pixdim": [2.0, 2.0, 2.0], "crop": [48, 48, 48], "margin": 24, "resize": [64, 64, 64],
                    "description": "3-D DeepGrow: grows a structure from foreground/background clicks. Trained on Lumen's synthetic phantoms only; see docs/README.md."},
    "deepgrow_2d": {"dims": 2, "pixdim": [2.0, 2.0], "crop": [128, 128], "margin": 20, "resize": [128, 128],
                    "description": "2-D DeepGrow: one slice from clicks on that slice. Trained on Lumen's synthetic phantoms only; see docs/README.md."},
    "dextr3d": {"dims": 3, "margin_mm": 20.0, "resize": [64, 64, 64], "sigma": 3.0,
                "description": "DExtr3D: a structure from its 6 extreme points. Trained on Lumen's synthetic phantoms only; see docs/README.md."},
}


def network(task):
    return {"name": "UNet", "args": {"spatial_dims": task["dims"], "in_channels": 3 if "crop" in task else 2,
                                     "out_channels": 1, **UNET}}


def aiaa_config(name, task):
    load = [{"name": "monai.transforms.LoadImaged", "args": {"keys": "image"}}]
    post = [{"name": "monai.transforms.Activationsd", "args": {"keys": "pred", "sigmoid": True}},
            {"name": "monai.transforms.AsDiscreted", "args": {"keys": "pred", "threshold": 0.5}}]
    norm = {"name": "monai.transforms.NormalizeIntensityd", "args": {"keys": "image", **NORMALIZE}}
    if name == "dextr3d":
        pre = load + [{"name": "monai.transforms.EnsureChannelFirstd", "args": {"keys": "image"}},
                      {"name": "lumen.transforms.CropByPointsd", "args": {"keys": "image", "margin_mm": task["margin_mm"]}},
                      {"name": "monai.transforms.Resized", "args": {"keys": "image", "spatial_size": task["resize"], "mode": "trilinear"}},
                      norm,
                      {"name": "monai.transforms.AddExtremePointsChanneld",
                       "args": {"keys": "image", "sigma": task["sigma"], "rescale_min": -1.0, "rescale_max": 1.0}}]
        post = post + [{"name": "lumen.transforms.PasteCropd", "args": {"keys": "pred"}}]
        meta = {}
    else:
        dims = task["dims"]
        pre = load + ([{"name": "monai.transforms.AsChannelFirstd", "args": {"keys": "image"}}] if dims == 2 else
                      [{"name": "monai.transforms.EnsureChannelFirstd", "args": {"keys": "image"}}])
        pre += [{"name": "monai.transforms.Spacingd", "args": {"keys": "image", "pixdim": task["pixdim"], "mode": "bilinear"}},
                {"name": "monai.apps.deepgrow.transforms.AddGuidanceFromPointsd",
                 "args": {"ref_image": "image", "guidance": "guidance", "spatial_dims": dims, "depth_first": dims == 2}}]
        if dims == 2:
            pre += [{"name": "monai.apps.deepgrow.transforms.Fetch2DSliced", "args": {"keys": "image", "guidance": "guidance"}},
                    {"name": "monai.transforms.AddChanneld", "args": {"keys": "image"}}]
        pre += [{"name": "monai.apps.deepgrow.transforms.SpatialCropGuidanced",
                 "args": {"keys": "image", "guidance": "guidance", "spatial_size": task["crop"], "margin": task["margin"]}},
                {"name": "monai.transforms.Resized", "args": {"keys": "image", "spatial_size": task["resize"], "mode": "area"}},
                {"name": "monai.apps.deepgrow.transforms.ResizeGuidanced", "args": {"guidance": "guidance", "ref_image": "image"}},
                norm,
                {"name": "monai.apps.deepgrow.transforms.AddGuidanceSignald", "args": {"image": "image", "guidance": "guidance"}}]
        # The sigmoid is restored linearly and thresholded on the file's grid: edges finer than the
        # 2 mm working grid (docs/models.md, "Restoring the answer").
        restore = {"name": "monai.apps.deepgrow.transforms.RestoreLabeld",
                   "args": {"keys": "pred", "ref_image": "image", "mode": "trilinear" if dims == 3 else "bilinear"}}
        post = [post[0], restore, post[1]]
        meta = {"deepgrow": f"{dims}D"}
    return {"version": 1, "type": "annotation" if name == "dextr3d" else "deepgrow", "labels": [],
            "description": task["description"], "pre_transforms": pre,
            "inference": {"input": "image", "output": "pred", "meta_data": meta,
                          "AIAA": {"name": "aiaa.inference.PyTorchInference"}},
            "post_transforms": post,
            "writer": {"name": "aiaa.transforms.Writer", "args": {"image": "pred", "json": "result"}}}


def pools(mask, others=None):
    """Voxels to click: the interior (2 voxels in) and a 1–5 voxel ring outside (worked out in the mask's box),
    and, when `others` (the other structures' voxels) is given, their voxels within 12 voxels of the mask:
    where a model leaks (spleen into kidney and ribs), and so where a user puts background clicks."""
    idx = np.argwhere(mask)
    lo = np.maximum(idx.min(0) - 13, 0)
    hi = np.minimum(idx.max(0) + 14, mask.shape)
    window = tuple(slice(a, b) for a, b in zip(lo, hi))
    box = mask[window]
    inner = ndimage.binary_erosion(box, iterations=2)
    inside = np.argwhere(inner if inner.sum() > 20 else box) + lo
    ring = np.argwhere(ndimage.binary_dilation(box, iterations=5) & ~box) + lo
    if others is None:
        return inside, ring, ring
    near = ndimage.binary_dilation(box, iterations=12) & ~box & others[window]
    return inside, ring, (np.argwhere(near) + lo if near.any() else ring)


def centre_of(mask):
    """The most interior voxel (the distance transform's maximum), worked out in the mask's box."""
    idx = np.argwhere(mask)
    lo, hi = idx.min(0), idx.max(0) + 1
    box = np.pad(mask[tuple(slice(a, b) for a, b in zip(lo, hi))], 1)
    distance = ndimage.distance_transform_edt(box)[1:-1, 1:-1, 1:-1]
    return [int(v) + int(o) for v, o in zip(np.unravel_index(int(distance.argmax()), distance.shape), lo)]


def clicks(mask, rng, fg_max=3, bg_max=2, cached=None):
    """1–fg_max voxels inside the mask (interior first) and 0–bg_max outside it: in the ring, or (one
    time in two) on a neighbouring structure."""
    pool, ring, near = cached or pools(mask)
    fg = pool[rng.choice(len(pool), rng.integers(1, fg_max + 1))].tolist()
    nbg = rng.integers(0, bg_max + 1) if len(ring) else 0
    bg = []
    for _ in range(nbg):
        source = near if rng.random() < 0.5 else ring
        bg.append(source[rng.integers(len(source))].tolist())
    return fg, bg


def deepgrow_sample(case, task, rng):
    """One (input, target) pair through MONAI's deepgrow inference transforms."""
    image, label = case["image"], case["label"]
    present = case.setdefault("present", [v for v in STRUCTURES if (label == v).sum() > 50])
    value = present[rng.integers(len(present))]
    dims = task["dims"]
    if dims == 2:
        z = rng.choice(np.unique(np.argwhere(label == value)[:, 2]))
        mask = label[:, :, z] == value
        fg, bg = clicks(mask, rng)
        fg = [p + [int(z)] for p in fg]
        bg = [p + [int(z)] for p in bg]
    else:
        cache = case.setdefault("pools", {})
        if value not in cache:
            cache[value] = pools(label == value, (label > 0) & (label != value))
        fg, bg = clicks(None, rng, cached=cache[value])
        if rng.random() < 0.5:   # the evaluation's first click: the structure's most interior voxel
            centres = case.setdefault("centres", {})
            if value not in centres:
                centres[value] = centre_of(label == value)
            fg[0] = centres[value]
    img, lab, tissue = resampled(case, task)
    if task.get("appearance") and dims == 3:
        # A fresh draw one time in four: randomising the whole volume every sample would double the step time.
        if "randomised" not in case or rng.random() < 0.25:
            hu = torch.as_tensor(img)[None]
            if tissue is not None and rng.random() < task.get("wide", 0.0):
                hu = appearance.synthesize(torch.as_tensor(tissue)[None], rng)
            hu = appearance.randomise(hu, torch.as_tensor(lab)[None], rng)
            if task.get("resolution"):
                hu = appearance.coarsen(hu, rng)
            case["randomised"] = np.asarray(hu[0])
        img = case["randomised"]
    raw = lab
    lab = (lab == value).astype(np.float32)
    d = {"image": img, "label": lab, "image_meta_dict": {"spatial_shape": np.asarray(image.shape)}, "label_meta_dict": {},
         "foreground": fg, "background": bg}
    d = AddGuidanceFromPointsd(ref_image="image", guidance="guidance", spatial_dims=dims, depth_first=dims == 2)(d)
    if dims == 2:
        s = int(fg[0][2])
        d["image"], d["label"] = d["image"][s], d["label"][s]
        if task.get("appearance"):   # the one slice the network sees, fresh every sample (a slice is cheap)
            hu = appearance.randomise(torch.as_tensor(d["image"])[None], torch.as_tensor(raw[s])[None], rng)
            if task.get("resolution"):
                hu = appearance.coarsen(hu, rng)
            d["image"] = np.asarray(hu[0])
    d["image"], d["label"] = d["image"][None], d["label"][None]
    d = SpatialCropGuidanced(keys=["image", "label"], guidance="guidance", spatial_size=task["crop"], margin=task["margin"])(d)
    d["image"] = Resized(keys="image", spatial_size=task["resize"], mode="area")(d)["image"]
    d["label"] = Resized(keys="label", spatial_size=task["resize"], mode="nearest")(d)["label"]
    d = ResizeGuidanced(guidance="guidance", ref_image="image")(d)
    d = NormalizeIntensityd(keys="image", **NORMALIZE)(d)
    d = AddGuidanceSignald(image="image", guidance="guidance")(d)
    x, y = torch.as_tensor(np.asarray(d["image"]), dtype=torch.float32), torch.as_tensor(np.asarray(d["label"]), dtype=torch.float32)
    return (x, y, d["guidance"]) if dims == 3 else (x, y)


def with_error_clicks(net, x, y, guidance, count):
    """The clicks a user adds after seeing an answer (MONAI deepgrow's training does the same): the
    network's own answer for `x`, then a click at the centre of its largest error, foreground where
    it missed and background where it leaked, `count` times; returns the input with those clicks."""
    fg, bg = [list(map(int, q)) for q in guidance[0]], [list(map(int, q)) for q in guidance[1]]
    mask = np.asarray(y[0] > 0.5)
    for _ in range(count):
        was = net.training
        net.eval()
        with torch.no_grad():
            answer = np.asarray(net(x[None])[0, 0] > 0)
        net.train(was)
        parts, n = ndimage.label(answer != mask)
        if n == 0:
            break
        q = centre_of(parts == (np.bincount(parts.ravel())[1:].argmax() + 1))
        (fg if mask[tuple(q)] else bg).append(q)
        d = AddGuidanceSignald(image="image", guidance="guidance")({"image": np.asarray(x[:1]), "guidance": [fg, bg]})
        x = torch.as_tensor(np.asarray(d["image"]), dtype=torch.float32)
    return x


def resampled(case, task):
    """The case after the bundle's layout and Spacingd, computed once per case (labels and the tissue map,
    3-D only, by nearest neighbour)."""
    key = f"resampled{task['dims']}"
    if key not in case:
        image, label = case["image"], case["label"].astype(np.float32)
        if task["dims"] == 2:
            a2 = case["affine2d"]
            img = np.asarray(Spacing(pixdim=task["pixdim"], mode="bilinear")(_meta(np.transpose(image, [2, 0, 1]), a2)))
            lab = np.asarray(Spacing(pixdim=task["pixdim"], mode="nearest")(_meta(np.transpose(label, [2, 0, 1]), a2)))
            tissue = None
        else:
            img = np.asarray(Spacing(pixdim=task["pixdim"], mode="bilinear")(_meta(image[None], case["affine"])))[0]
            lab = np.asarray(Spacing(pixdim=task["pixdim"], mode="nearest")(_meta(label[None], case["affine"])))[0]
            tissue = None if case.get("tissue") is None else np.rint(np.asarray(Spacing(pixdim=task["pixdim"], mode="nearest")(
                _meta(case["tissue"].astype(np.float32)[None], case["affine"])))[0]).astype(np.int16)
        case[key] = (img, np.rint(lab).astype(np.int16), tissue)
    return case[key]


def dextr_box(points, shape, spacing, margin_mm):
    """Lumen's CropByPoints: the points' box grown by margin_mm (rounded up to voxels), clipped."""
    pts = np.asarray(points)
    m = np.ceil(margin_mm / np.asarray(spacing)).astype(int)
    start = np.maximum(pts.min(0) - m, 0)
    end = np.minimum(pts.max(0) + m + 1, shape)
    return start, end


def extreme_points(mask):
    idx = np.argwhere(mask)
    out = []
    for axis in range(3):
        out.append(idx[idx[:, axis].argmin()].tolist())
        out.append(idx[idx[:, axis].argmax()].tolist())
    return out


def largest_piece(label, value):
    """The structure's largest connected piece as (its box's origin, the piece inside its box): extreme
    points of a split structure would span the gap. Worked out in the structure's box, once per case."""
    idx = np.argwhere(label == value)
    lo, hi = idx.min(0), idx.max(0) + 1
    box = label[tuple(slice(a, b) for a, b in zip(lo, hi))] == value
    parts, n = ndimage.label(box)
    if n > 1:
        box = parts == (np.bincount(parts.ravel())[1:].argmax() + 1)
    return lo, box


def dextr_sample(case, task, rng):
    image, label = case["image"], case["label"]
    present = case.setdefault("present", [v for v in STRUCTURES if (label == v).sum() > 50])
    value = present[rng.integers(len(present))]
    pieces = case.setdefault("pieces", {})
    if value not in pieces:
        pieces[value] = largest_piece(label, value)
    lo, box = pieces[value]
    points = [list(np.clip(np.asarray(p) + lo + rng.integers(-1, 2, 3), 0, np.asarray(label.shape) - 1))
              for p in extreme_points(box)]
    start, end = dextr_box(points, image.shape, case["spacing"], task["margin_mm"])
    sl = tuple(slice(a, b) for a, b in zip(start, end))
    mask = np.zeros(tuple(end - start), bool)   # the piece, placed in the crop
    a = np.maximum(lo, start); b = np.minimum(lo + np.asarray(box.shape), end)
    if (b > a).all():
        mask[tuple(slice(x - s, y - s) for x, y, s in zip(a, b, start))] = box[tuple(slice(x - o, y - o) for x, y, o in zip(a, b, lo))]
    crop, target = image[sl][None], mask[None].astype(np.float32)
    if task.get("appearance"):   # on the crop, in HU, as deepgrow 3-D does on its volume
        hu = torch.as_tensor(crop, dtype=torch.float32)
        tissue = case.get("tissue")
        if tissue is not None and rng.random() < task.get("wide", 0.0):
            hu = appearance.synthesize(torch.as_tensor(tissue[sl])[None], rng)
        hu = appearance.randomise(hu, torch.as_tensor(label[sl])[None], rng)
        if task.get("resolution"):
            hu = appearance.coarsen(hu, rng)
        crop = np.asarray(hu)
    size = np.asarray(crop.shape[1:])
    x = np.asarray(Resize(task["resize"], mode="trilinear")(crop))
    y = np.asarray(Resize(task["resize"], mode="nearest")(target))
    x = (x - NORMALIZE["subtrahend"]) / NORMALIZE["divisor"]
    scaled = [[int((p[i] - start[i]) * task["resize"][i] / size[i]) for i in range(3)] for p in points]
    heat = extreme_points_to_image(scaled, torch.zeros([1] + task["resize"]), sigma=task["sigma"], rescale_min=-1.0, rescale_max=1.0)
    xx = np.concatenate([x, np.asarray(heat)], 0)
    return torch.as_tensor(xx, dtype=torch.float32), torch.as_tensor(y, dtype=torch.float32)


def _meta(array, affine):
    from monai.data import MetaTensor
    return MetaTensor(torch.as_tensor(array), affine=torch.as_tensor(affine, dtype=torch.float64))


def load_cases(data, tissue_maps=False):
    import monai.data.utils as mdu
    cases = []
    for entry in json.load(open(os.path.join(data, "dataset.json")))["training"]:
        d = LoadImaged(keys=["image", "label"], image_only=False)({"image": os.path.join(data, entry["image"]),
                                                                   "label": os.path.join(data, entry["label"])})
        affine = np.asarray(d["image"].affine, dtype=np.float64)
        tissue = None
        if tissue_maps and "tissue" in entry:   # only --wide reads them (appearance.synthesize)
            tissue = np.asarray(LoadImaged(keys="tissue")({"tissue": os.path.join(data, entry["tissue"])})["tissue"]).astype(np.uint8)
        cases.append({"image": np.asarray(d["image"], np.float32), "label": np.asarray(d["label"]).astype(np.int16), "tissue": tissue,
                      "affine": affine, "affine2d": mdu.to_affine_nd(2, affine),
                      "spacing": np.sqrt((affine[:3, :3] ** 2).sum(0))})
    return cases


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--task", choices=TASKS, required=True)
    p.add_argument("--data", required=True, nargs="+", help="one or more `lumen phantom` folders")
    p.add_argument("--out", required=True, help="the MMAR directory to write")
    p.add_argument("--iterations", type=int, default=3000)
    p.add_argument("--batch", type=int, default=4)
    p.add_argument("--minutes", type=float, default=None, help="stop after this much wall time")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--resume", action="store_true", help="continue from OUT/models/model.pt (same task)")
    p.add_argument("--lr", type=float, default=1e-3, help="peak learning rate (cosine-decayed over --minutes)")
    p.add_argument("--error-clicks", type=float, default=0.0,
                   help="share of deepgrow 3-D samples that get 1-2 more clicks at the network's own errors")
    p.add_argument("--resolution", action="store_true",
                   help="with --appearance, also simulate thicker slices and coarser pixels (appearance.coarsen)")
    p.add_argument("--wide", type=float, default=0.0, metavar="P",
                   help="with --appearance, paint a share P of the fresh draws from the tissue map alone, every tissue's HU "
                        "drawn from wide ranges (appearance.synthesize; cases without a tissue map never are)")
    p.add_argument("--appearance", action="store_true",
                   help="randomise each sample's appearance in HU (scripts/training/appearance.py; deepgrow_2d: on its slice, "
                        "in-plane only)")
    args = p.parse_args()
    if not 0.0 <= args.wide <= 1.0 or (args.wide > 0 and not args.appearance):
        p.error("--wide is a probability, 0 to 1, and needs --appearance")
    if args.wide > 0 and args.task == "deepgrow_2d":
        p.error("--wide is not implemented for deepgrow_2d (its tissue maps are not resampled to the 2-D layout)")
    torch.set_num_threads(args.threads)
    task = TASKS[args.task]
    rng = np.random.default_rng(0)
    torch.manual_seed(0)
    cases = [c for folder in args.data for c in load_cases(folder, tissue_maps=args.wide > 0)]
    task = dict(task, appearance=args.appearance, resolution=args.resolution, wide=args.wide)
    sample = dextr_sample if args.task == "dextr3d" else deepgrow_sample
    spec = network(task)
    net = UNet(**spec["args"])
    previous, previous_minutes = 0, 0.0
    if args.resume:
        saved = torch.load(os.path.join(args.out, "models", "model.pt"), weights_only=False)
        net.load_state_dict(saved["model"])
        previous, previous_minutes = saved.get("iterations", 0), saved.get("minutes", 0.0)
        print(f"resuming after {previous} iterations", flush=True)
    loss_fn = DiceCELoss(sigmoid=True)
    opt = torch.optim.Adam(net.parameters(), lr=args.lr)
    start = time.time()
    print(f"{len(cases)} cases, task {args.task}", flush=True)
    done = 0
    for it in range(args.iterations):
        batch = [sample(cases[rng.integers(len(cases))], task, rng) for _ in range(args.batch)]
        if args.task == "deepgrow_3d":
            batch = [(with_error_clicks(net, b[0], b[1], b[2], 1 + int(rng.random() < 0.5)) if rng.random() < args.error_clicks
                      else b[0], b[1]) for b in batch]
        x = torch.stack([b[0] for b in batch])
        y = torch.stack([b[1] for b in batch])
        opt.zero_grad()
        loss = loss_fn(net(x), y)
        loss.backward()
        opt.step()
        if args.minutes:   # cosine decay over the wall-time budget
            for group in opt.param_groups:
                group["lr"] = args.lr * 0.5 * (1 + np.cos(np.pi * min(1.0, (time.time() - start) / (60 * args.minutes))))
        done = it + 1
        if it % 25 == 0:
            print(f"iteration {it} loss {loss.item():.4f} ({time.time() - start:.0f} s)", flush=True)
        if args.minutes and time.time() - start > 60 * args.minutes:
            print(f"stopping at iteration {it}: time budget reached", flush=True)
            break
    net.eval()
    for sub in ("config", "models", "docs"):
        os.makedirs(os.path.join(args.out, sub), exist_ok=True)
    with open(os.path.join(args.out, "config", "config_aiaa.json"), "w") as f:
        json.dump(aiaa_config(args.task, task), f, indent=2)
    with open(os.path.join(args.out, "config", "config_train.json"), "w") as f:
        json.dump({"train": {"model": spec}}, f, indent=2)
    with open(os.path.join(args.out, "config", "environment.json"), "w") as f:
        json.dump({"PROCESSING_TASK": "annotation" if args.task == "dextr3d" else "deepgrow",
                   "MMAR_CKPT_DIR": "models", "MMAR_CKPT": "models/model.pt"}, f, indent=2)
    torch.save({"model": net.state_dict(), "train_conf": {"train": {"model": spec}}, "iterations": previous + done,
                "training_cases": len(cases), "minutes": round(previous_minutes + (time.time() - start) / 60, 1)},
               os.path.join(args.out, "models", "model.pt"))
    print("saved", args.out, f"after {done} iterations", flush=True)


if __name__ == "__main__":
    main()
