#!/usr/bin/env python3
"""Trains a bundled Lumen model on synthetic phantoms (MONAI + PyTorch).

No pretrained weights can be downloaded here, so every bundled model is trained
from scratch on `lumen phantom` output. The transforms are exactly the bundle's
config_aiaa.json pre-transforms (Orientation RAS, Spacing, ScaleIntensityRange),
so what Lumen serves sees the same inputs the model was trained on.

  lumen phantom --output data/train --count 40 --seed 1000 --size small
  python scripts/training/train_phantoms.py --task abdominal_organs --data data/train --out mmar/abdominal_organs/models/model.pt

Runs on a GPU when one is present, else on CPU (slowly).
"""
import argparse, glob, json, os, time

import numpy as np
import torch

import appearance
from monai.losses import DiceCELoss
from monai.networks.nets import BasicUNet, UNet
from monai.transforms import (Compose, EnsureChannelFirstd, LoadImaged, Orientationd, RandScaleIntensityd,
                              RandShiftIntensityd, ScaleIntensityRanged, Spacingd, SpatialPadd)

TASKS = {
    # label values in the phantom → output channels (0 = background)
    "abdominal_organs": {"labels": ["liver", "spleen", "kidney_left", "kidney_right", "pancreas", "stomach"],
                         "phantom_values": [1, 2, 3, 4, 5, 6]},
    # Bone is brighter than any contrast-filled vessel only above ~300 HU: a wider window than the organs'.
    "bones": {"labels": ["vertebrae", "ribs", "hip"], "phantom_values": [9, 10, 11],
              "intensity": {"a_min": -200.0, "a_max": 1200.0, "b_min": 0.0, "b_max": 1.0, "clip": True}},
    # 1-4 mm vessels: trained and served at 1 mm (medium phantoms), with a BasicUNet whose first
    # level stays at full resolution (MONAI's UNet strides before its first features), a window
    # that keeps contrast-filled vessels apart from liver, and patches that also centre on the
    # portal vein and aorta (phantom values 7, 8: bright vessels that are not hepatic arteries).
    "hepatic_arteries": {"labels": ["hepatic_artery"], "phantom_values": [12],
                         "pixdim": [1.0, 1.0, 1.25], "volume": None, "negatives": [7, 8],
                         "intensity": {"a_min": -100.0, "a_max": 400.0, "b_min": 0.0, "b_max": 1.0, "clip": True},
                         "network": {"name": "BasicUNet", "args": {"spatial_dims": 3, "in_channels": 1, "out_channels": None,
                                                                    "features": [8, 8, 16, 32, 64, 8]}}},
}
NETWORK = {"name": "UNet", "args": {"spatial_dims": 3, "in_channels": 1, "out_channels": None,
                                     "channels": [16, 32, 64, 128], "strides": [2, 2, 2], "num_res_units": 2, "norm": "batch"}}
PIXDIM = [2.0, 2.0, 2.5]
INTENSITY = {"a_min": -175.0, "a_max": 250.0, "b_min": 0.0, "b_max": 1.0, "clip": True}


def remap(values):
    lut = np.zeros(256, np.float32)
    for i, v in enumerate(values):
        lut[v] = i + 1
    return lambda x: torch.as_tensor(lut[np.asarray(x, dtype=np.int64)])


def crop(image, label, patch, focus=None, negatives=None, foreground=None, raw=None, tissue=None):
    """A random patch, centred on foreground two times in three so small organs are seen
    (on label `focus` when given: a structure few phantoms contain; one time in five on a
    voxel of `negatives`, the case's look-alike coordinates: what the model must learn to leave out).
    `foreground` is the case's foreground coordinates, found once when it was loaded."""
    if patch is None:
        return {"image": image, "label": label, "raw": raw, "tissue": tissue}
    shape = image.shape[1:]
    if focus is not None and (label == focus).any():
        fg = torch.nonzero(label[0] == focus)
        centre = fg[np.random.randint(len(fg))].tolist()
    elif negatives is not None and len(negatives) and np.random.rand() < 0.2:
        centre = negatives[np.random.randint(len(negatives))].tolist()
    elif np.random.rand() < 0.67 and len(foreground):
        centre = foreground[np.random.randint(len(foreground))].tolist()
    else:
        centre = [np.random.randint(s) for s in shape]
    start = [int(min(max(c - p // 2, 0), s - p)) for c, p, s in zip(centre, patch, shape)]
    sl = (slice(None),) + tuple(slice(a, a + p) for a, p in zip(start, patch))
    return {"image": image[sl], "label": label[sl], "raw": None if raw is None else raw[sl],
            "tissue": None if tissue is None else tissue[sl]}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--task", choices=TASKS, required=True)
    p.add_argument("--data", required=True, nargs="+", help="one or more `lumen phantom` folders")
    p.add_argument("--out", required=True)
    p.add_argument("--iterations", type=int, default=1500)
    p.add_argument("--batch", type=int, default=4)
    p.add_argument("--patch", type=int, nargs=3, default=None,
                   help="train on random patches of this size (CPU); default: whole 160×160×96 volumes")
    p.add_argument("--minutes", type=float, default=None, help="stop after this much wall time")
    p.add_argument("--resume", action="store_true", help="continue from --out (same task)")
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads (1 on a shared 2-core node)")
    p.add_argument("--focus-label", type=int, default=None,
                   help="output channel to over-sample: that share of patches is centred on it, from cases that have it")
    p.add_argument("--focus-share", type=float, default=0.3)
    p.add_argument("--appearance", action="store_true",
                   help="randomise each sample's appearance in HU (scripts/training/appearance.py) and jitter the window")
    p.add_argument("--resolution", action="store_true",
                   help="with --appearance, also simulate thicker slices and coarser pixels (appearance.coarsen)")
    p.add_argument("--wide", type=float, default=0.0, metavar="P",
                   help="with --appearance, paint a share P of the samples from the tissue map alone, every tissue's HU "
                        "drawn from wide ranges (appearance.synthesize; cases without a tissue map never are)")
    args = p.parse_args()
    if not 0.0 <= args.wide <= 1.0 or (args.wide > 0 and not args.appearance):
        p.error("--wide is a probability, 0 to 1, and needs --appearance")
    if args.threads:
        torch.set_num_threads(args.threads)
    task = TASKS[args.task]
    intensity = task.get("intensity", INTENSITY)
    pixdim = task.get("pixdim", PIXDIM)
    volume = task.get("volume", [160, 160, 96])
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    torch.manual_seed(0)

    files = []
    for folder in args.data:
        cases = json.load(open(os.path.join(folder, "dataset.json")))["training"]
        files += [{"image": os.path.join(folder, c["image"]), "label": os.path.join(folder, c["label"])}
                  | ({"tissue": os.path.join(folder, c["tissue"])} if args.wide and "tissue" in c else {}) for c in cases]
    keys = ["image", "label", "tissue"]   # the tissue map only where --wide asked for it and the case has one
    rng = np.random.default_rng(0)
    load = Compose([LoadImaged(keys=keys, allow_missing_keys=True), EnsureChannelFirstd(keys=keys, allow_missing_keys=True),
                    Orientationd(keys=keys, axcodes="RAS", allow_missing_keys=True),
                    Spacingd(keys=keys, pixdim=pixdim, mode=["bilinear", "nearest", "nearest"], allow_missing_keys=True)]
                   + ([] if args.appearance else [ScaleIntensityRanged(keys="image", **intensity)])
                   + ([SpatialPadd(keys=keys, spatial_size=volume, allow_missing_keys=True)] if volume else []))
    lut = remap(task["phantom_values"])
    images, labels, negatives, foreground, raws, tissues = [], [], [], [], [], []
    for f in files:
        d = load(f)
        raw = d["label"].as_tensor()
        if volume:
            raw = raw[:, :volume[0], :volume[1], :volume[2]]
        images.append(d["image"].as_tensor()[:, :raw.shape[1], :raw.shape[2], :raw.shape[3]].float())
        labels.append(lut(raw).long())
        raws.append(raw.to(torch.uint8) if args.appearance else None)
        tissues.append(d["tissue"].as_tensor()[:, :raw.shape[1], :raw.shape[2], :raw.shape[3]].round().to(torch.uint8)
                       if "tissue" in d else None)
        foreground.append(torch.nonzero(labels[-1][0]))
        if "negatives" in task:   # coordinates found once per case, not once per patch
            negatives.append(torch.nonzero(torch.as_tensor(np.isin(np.asarray(raw[0]), task["negatives"]))))
    print(f"{len(images)} cases, shape {tuple(images[0].shape)}, device {device}", flush=True)
    having = [i for i, l in enumerate(labels) if args.focus_label is not None and (l == args.focus_label).any()]
    if args.focus_label is not None:
        print(f"{len(having)} cases contain output channel {args.focus_label}", flush=True)
    jitter = Compose([RandScaleIntensityd(keys="image", factors=0.1, prob=0.5), RandShiftIntensityd(keys="image", offsets=0.05, prob=0.5)])

    def augment(sample):
        if not args.appearance:
            return jitter(sample)
        hu = sample["image"]
        if sample["tissue"] is not None and rng.random() < args.wide:
            hu = appearance.synthesize(sample["tissue"], rng)
        hu = appearance.randomise(hu, sample["raw"], rng)
        if args.resolution:
            hu = appearance.coarsen(hu, rng)
        return {"image": appearance.window(hu, intensity["a_min"], intensity["a_max"], rng), "label": sample["label"]}

    spec = json.loads(json.dumps(task.get("network", NETWORK)))
    spec["args"]["out_channels"] = len(task["labels"]) + 1
    net = {"UNet": UNet, "BasicUNet": BasicUNet}[spec["name"]](**spec["args"]).to(device)
    previous, saved_appearance, saved_resolution, saved_wide = 0, False, False, 0.0
    if args.resume:
        saved = torch.load(args.out, map_location="cpu", weights_only=False)
        net.load_state_dict(saved["model"])
        previous = saved.get("iterations", 0)
        saved_appearance = saved.get("appearance_randomised", False)
        saved_resolution = saved.get("resolution_randomised", False)
        saved_wide = saved.get("wide_share", 0.0)
        print(f"resuming after {previous} iterations", flush=True)
    loss_fn = DiceCELoss(to_onehot_y=True, softmax=True)
    opt = torch.optim.Adam(net.parameters(), lr=args.lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, args.iterations)
    start = time.time()
    for it in range(args.iterations):
        idx = np.random.randint(0, len(images), args.batch)
        focus = [None] * args.batch
        if args.focus_label is not None and having:
            for b in range(args.batch):
                if np.random.rand() < args.focus_share:
                    idx[b], focus[b] = having[np.random.randint(len(having))], args.focus_label
        batch = [augment(crop(images[i], labels[i], args.patch, f, negatives[i] if negatives else None, foreground[i], raws[i], tissues[i]))
                 for i, f in zip(idx, focus)]
        x = torch.stack([b["image"] for b in batch]).to(device)
        y = torch.stack([b["label"] for b in batch]).to(device)
        opt.zero_grad()
        loss = loss_fn(net(x), y)
        loss.backward()
        opt.step(); sched.step()
        if it % 50 == 0 or it == args.iterations - 1:
            print(f"iteration {it} loss {loss.item():.4f} ({time.time() - start:.0f} s)", flush=True)
        if args.minutes and time.time() - start > 60 * args.minutes:
            print(f"stopping at iteration {it}: time budget reached", flush=True)
            args.iterations = it + 1
            break
    net.eval().cpu()
    os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
    torch.save({"model": net.state_dict(), "train_conf": {"train": {"model": spec}},
                "labels": task["labels"], "pixdim": pixdim, "intensity": intensity,
                "iterations": previous + args.iterations, "training_cases": len(images),
                "appearance_randomised": bool(args.appearance or saved_appearance),
                "resolution_randomised": bool(args.resolution or saved_resolution),
                "wide_share": max(args.wide, saved_wide)}, args.out)
    print("saved", args.out)


if __name__ == "__main__":
    main()
