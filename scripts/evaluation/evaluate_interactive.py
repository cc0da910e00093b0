#!/usr/bin/env python3
"""Held-out Dice of the interactive bundles (deepgrow 3-D/2-D, DExtr3D), scored
through the real `lumen segment` binary on phantoms it never saw.

Simulated user:
- deepgrow 3-D, `--protocol error` (the default, the one the targets are stated
  for): the first click at the centre of the structure (its most interior
  voxel), each later one at the centre of the largest error left by the
  previous answer (foreground if the model missed it, background if it
  over-grew); Dice after the third click;
- deepgrow 3-D, `--protocol spread` (as Tests/LumenInferenceTests/InteractiveModelTests.swift):
  3 foreground clicks inside the structure (2 voxels in from its edge), at 20 %,
  50 % and 80 % along its longest axis;
- deepgrow 2-D: 1 click in the middle of the structure on its median slice;
  Dice on that slice;
- DExtr3D: the 6 extreme points of the structure's largest piece.

  python scripts/evaluation/evaluate_interactive.py --model mmar/deepgrow_3d --seed 2000 --count 4 [--markdown FILE]
"""
import argparse, json, os, subprocess, tempfile

import nibabel as nib
import numpy as np
from scipy import ndimage

NAMES = {1: "liver", 2: "spleen", 3: "kidney_left", 4: "kidney_right", 5: "pancreas", 6: "stomach", 7: "aorta",
         8: "portal_vein_and_splenic_vein", 11: "hip"}


def dice(a, b):
    s = a.sum() + b.sum()
    return 1.0 if s == 0 else 2.0 * np.logical_and(a, b).sum() / s


def interior(mask):
    inner = ndimage.binary_erosion(mask, iterations=2)
    return inner if inner.any() else mask


def three_clicks(mask):
    idx = np.argwhere(interior(mask))
    extent = idx.max(0) - idx.min(0)
    order = idx[np.argsort(idx[:, int(extent.argmax())], kind="stable")]
    return [order[int(q * (len(order) - 1))].tolist() for q in (0.2, 0.5, 0.8)]


def centre(mask):
    """The most interior voxel: the maximum of the distance to the outside."""
    distance = ndimage.distance_transform_edt(np.pad(mask, 1))[1:-1, 1:-1, 1:-1]
    return [int(v) for v in np.unravel_index(int(distance.argmax()), mask.shape)]


def next_click(out, mask):
    """(click, is_foreground) at the centre of the largest connected error, or None when there is none."""
    errors = out != mask
    parts, n = ndimage.label(errors)
    if n == 0:
        return None
    largest = parts == (np.bincount(parts.ravel())[1:].argmax() + 1)
    q = centre(largest)
    return q, bool(mask[tuple(q)])


def extreme_points(mask):
    parts, n = ndimage.label(mask)
    if n > 1:
        mask = parts == (np.bincount(parts.ravel())[1:].argmax() + 1)
    idx = np.argwhere(mask)
    out = []
    for axis in range(3):
        out += [idx[idx[:, axis].argmin()].tolist(), idx[idx[:, axis].argmax()].tolist()]
    return out


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--model", required=True)
    p.add_argument("--lumen", default=".build/release/lumen")
    p.add_argument("--seed", type=int, default=2000)
    p.add_argument("--count", type=int, default=4)
    p.add_argument("--size", default="small")
    p.add_argument("--markdown")
    p.add_argument("--protocol", choices=["error", "spread"], default="error")
    p.add_argument("--clicks", type=int, default=3)
    p.add_argument("--scan-protocol", default="portal-venous", help="the phantoms' contrast phase (lumen phantom --protocol)")
    p.add_argument("--structures", help="comma-separated structure names to score (default: all)")
    args = p.parse_args()
    kind = json.load(open(os.path.join(args.model, "config", "config_aiaa.json")))
    mode = "dextr3d" if kind["type"] == "annotation" else kind["inference"]["meta_data"]["deepgrow"].lower()
    scores = {}
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([args.lumen, "phantom", "--output", tmp, "--count", str(args.count), "--seed", str(args.seed),
                        "--size", args.size, "--protocol", args.scan_protocol], check=True, capture_output=True)
        for case in json.load(open(os.path.join(tmp, "dataset.json")))["training"]:
            image = os.path.join(tmp, case["image"])
            truth = np.asarray(nib.load(os.path.join(tmp, case["label"])).dataobj)
            for value, name in NAMES.items():
                if args.structures and name not in args.structures.split(","):
                    continue
                mask = truth == value
                if mask.sum() < 50:
                    continue
                cmd = [args.lumen, "segment", "--model", args.model, "--image", image, "--output", os.path.join(tmp, "out.nii.gz")]
                if mode == "dextr3d":
                    cmd += ["--points"] + [",".join(map(str, q)) for q in extreme_points(mask)]
                elif mode == "3d" and args.protocol == "error":
                    fg, bg, out = [centre(mask)], [], None
                    for n in range(args.clicks):
                        if n > 0:
                            step = next_click(out, mask)
                            if step is None:
                                break
                            (fg if step[1] else bg).append(step[0])
                        run = cmd + ["--foreground"] + [",".join(map(str, q)) for q in fg]
                        if bg:
                            run += ["--background"] + [",".join(map(str, q)) for q in bg]
                        subprocess.run(run, check=True, capture_output=True)
                        out = np.asarray(nib.load(os.path.join(tmp, "out.nii.gz")).dataobj) > 0
                    scores.setdefault(name, []).append(dice(out, mask))
                    continue
                elif mode == "3d":
                    cmd += ["--foreground"] + [",".join(map(str, q)) for q in three_clicks(mask)]
                else:
                    k = int(np.median(np.argwhere(mask)[:, 2]))
                    plane = interior(mask[:, :, k])
                    idx = np.argwhere(plane)
                    q = idx[len(idx) // 2].tolist() + [k]
                    cmd += ["--foreground", ",".join(map(str, q))]
                subprocess.run(cmd, check=True, capture_output=True)
                out = np.asarray(nib.load(os.path.join(tmp, "out.nii.gz")).dataobj) > 0
                if mode == "2d":
                    scores.setdefault(name, []).append(dice(out[:, :, k], mask[:, :, k]))
                else:
                    scores.setdefault(name, []).append(dice(out, mask))
    rows = [(n, float(np.mean(v)), len(v)) for n, v in scores.items()]
    mean = float(np.mean([r[1] for r in rows]))
    how = f"{mode}, {args.protocol} protocol, {args.clicks} clicks" if mode == "3d" else mode
    lines = [f"| structure | Dice ({how}, seed {args.seed}, {args.count} {args.size} {args.scan_protocol} phantoms) | cases |",
             "|---|---|---|"]
    lines += [f"| {n} | {d:.3f} | {c} |" for n, d, c in rows] + [f"| **mean** | **{mean:.3f}** | |"]
    print("\n".join(lines))
    if args.markdown:
        open(args.markdown, "w").write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
