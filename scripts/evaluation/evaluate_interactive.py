#!/usr/bin/env python3
"""Held-out Dice of the interactive bundles (deepgrow 3-D/2-D, DExtr3D), scored through the real
`lumen segment` binary on phantoms it never saw, at the size users meet (`--size full` by default:
0.6-1 mm in-plane, 1-5 mm slices, resampled by the bundle itself), the same cached phantoms as
scripts/evaluation/evaluate.py (seed 6000, 10 cases).

Simulated user, with every click in the image's own voxels:
- deepgrow 3-D, `--protocol error` (the default, the one the targets are stated for): the first
  click at the centre of the structure (its most interior voxel), each later one at the centre of
  the largest error left by the previous answer (foreground if the model missed it, background if
  it over-grew); Dice after the last click, and after each click in the JSON;
- deepgrow 3-D, `--protocol spread` (as Tests/LumenInferenceTests/InteractiveModelTests.swift):
  3 foreground clicks inside the structure (2 voxels in from its edge), at 20 %, 50 % and 80 %
  along its longest axis;
- deepgrow 2-D: 1 click at the centre of the structure on its median slice; Dice on that slice;
- DExtr3D: the 6 extreme points of the structure's largest piece.

Structures under 50 voxels in a case are skipped there; the table counts the cases each was scored on.

  python scripts/evaluation/evaluate_interactive.py --model mmar/deepgrow_3d --cache /tmp/lumen-eval-cache \
      [--scan-protocol non-contrast] [--json FILE] [--docs docs/models.md --section deepgrow_3d_full_portal-venous]
"""
import argparse, json, os, subprocess, sys, tempfile, time

import nibabel as nib
import numpy as np
from scipy import ndimage

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from evaluate import default_lumen, phantoms, replace_section  # noqa: E402

NAMES = {1: "liver", 2: "spleen", 3: "kidney_left", 4: "kidney_right", 5: "pancreas", 6: "stomach", 7: "aorta",
         8: "portal_vein_and_splenic_vein", 11: "hip"}


def dice(a, b):
    s = a.sum() + b.sum()
    return 1.0 if s == 0 else 2.0 * np.logical_and(a, b).sum() / s


def box(mask, margin=2):
    """The bounding box of `mask`, grown by `margin`: the geometry below works inside it, because
    distance transforms over a whole 0.7 mm volume cost seconds per click."""
    idx = np.argwhere(mask)
    lo = np.maximum(idx.min(0) - margin, 0)
    hi = np.minimum(idx.max(0) + margin + 1, mask.shape)
    return tuple(slice(a, b) for a, b in zip(lo, hi)), lo


def interior(mask):
    inner = ndimage.binary_erosion(mask, iterations=2)
    return inner if inner.any() else mask


def three_clicks(mask):
    sl, lo = box(mask)
    idx = np.argwhere(interior(mask[sl])) + lo
    extent = idx.max(0) - idx.min(0)
    order = idx[np.argsort(idx[:, int(extent.argmax())], kind="stable")]
    return [order[int(q * (len(order) - 1))].tolist() for q in (0.2, 0.5, 0.8)]


def centre(mask):
    """The most interior voxel: the maximum of the distance to the outside."""
    sl, lo = box(mask)
    part = mask[sl]
    distance = ndimage.distance_transform_edt(np.pad(part, 1))[tuple(slice(1, -1) for _ in part.shape)]
    return [int(v + o) for v, o in zip(np.unravel_index(int(distance.argmax()), part.shape), lo)]


def next_click(out, mask):
    """(click, is_foreground) at the centre of the largest connected error, or None when there is none."""
    errors = out != mask
    if not errors.any():
        return None
    sl, lo = box(errors, margin=0)
    parts, n = ndimage.label(errors[sl])
    largest = np.zeros_like(errors)
    largest[sl] = parts == (np.bincount(parts.ravel())[1:].argmax() + 1)
    q = centre(largest)
    return q, bool(mask[tuple(q)])


def extreme_points(mask):
    sl, lo = box(mask, margin=0)
    part = mask[sl]
    parts, n = ndimage.label(part)
    if n > 1:
        part = parts == (np.bincount(parts.ravel())[1:].argmax() + 1)
    idx = np.argwhere(part) + lo
    out = []
    for axis in range(3):
        out += [idx[idx[:, axis].argmin()].tolist(), idx[idx[:, axis].argmax()].tolist()]
    return out


def points(qs):
    return [",".join(map(str, q)) for q in qs]


def score_case(lumen, model, mode, args, image, truth, work):
    """{structure: [Dice after each click]} for one case."""
    result = {}
    output = os.path.join(work, "out.nii.gz")

    def segment(extra):
        subprocess.run([lumen, "segment", "--model", model, "--image", image, "--output", output] + extra,
                       check=True, capture_output=True)
        return np.asarray(nib.load(output).dataobj) > 0

    for value, name in NAMES.items():
        if args.structures and name not in args.structures.split(","):
            continue
        mask = truth == value
        if mask.sum() < 50:
            continue
        if mode == "dextr3d":
            result[name] = [dice(segment(["--points"] + points(extreme_points(mask))), mask)]
        elif mode == "3d" and args.protocol == "error":
            fg, bg, out, after = [centre(mask)], [], None, []
            for n in range(args.clicks):
                if n > 0:
                    step = next_click(out, mask)
                    if step is None:
                        after.append(after[-1])
                        continue
                    (fg if step[1] else bg).append(step[0])
                out = segment(["--foreground"] + points(fg) + (["--background"] + points(bg) if bg else []))
                after.append(dice(out, mask))
            result[name] = after
        elif mode == "3d":
            result[name] = [dice(segment(["--foreground"] + points(three_clicks(mask))), mask)]
        else:
            k = int(np.median(np.argwhere(mask)[:, 2]))
            q = centre(mask[:, :, k]) + [k]
            out = segment(["--foreground"] + points([q]))
            result[name] = [dice(out[:, :, k], mask[:, :, k])]
    return result


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", required=True)
    p.add_argument("--lumen", default=default_lumen())
    p.add_argument("--seed", type=int, default=6000)
    p.add_argument("--count", type=int, default=10)
    p.add_argument("--size", default="full", choices=["full", "medium", "small"])
    p.add_argument("--cache", help="keep the generated phantoms here, to share them with evaluate.py")
    p.add_argument("--protocol", choices=["error", "spread"], default="error")
    p.add_argument("--clicks", type=int, default=3)
    p.add_argument("--scan-protocol", default="portal-venous", help="the phantoms' contrast phase (lumen phantom --protocol)")
    p.add_argument("--structures", help="comma-separated structure names to score (default: all)")
    p.add_argument("--json")
    p.add_argument("--markdown")
    p.add_argument("--docs", action="append", default=[], help="markdown file whose section to rewrite (repeatable)")
    p.add_argument("--section")
    args = p.parse_args()
    kind = json.load(open(os.path.join(args.model, "config", "config_aiaa.json")))
    mode = "dextr3d" if kind["type"] == "annotation" else kind["inference"]["meta_data"]["deepgrow"].lower()
    started = time.time()
    per_case = []
    with tempfile.TemporaryDirectory() as work:
        data = os.path.abspath(args.cache) if args.cache else work
        for image, label in phantoms(args.lumen, data, args.seed, args.count, args.size, args.scan_protocol):
            truth = np.asarray(nib.load(label).dataobj)
            per_case.append(score_case(args.lumen, args.model, mode, args, image, truth, work))
            print(f"case {len(per_case)}: " + ", ".join(f"{n} {v[-1]:.3f}" for n, v in per_case[-1].items()), flush=True)
    names = [n for n in NAMES.values() if any(n in c for c in per_case)]
    how = f"{mode}, {args.protocol} protocol, {args.clicks} clicks" if mode == "3d" else mode
    per_click = mode == "3d" and args.protocol == "error"   # one Dice per click: a column of their means
    lines = [f"Dice ({how}) on {args.count} held-out `lumen phantom --seed {args.seed} --size {args.size} "
             f"--protocol {args.scan_protocol}` phantoms, at their native spacing.", "",
             "| structure | cases | mean Dice | median | min | max |" + (" mean after click 1 / 2 / … |" if per_click else ""),
             "|---|---|---|---|---|---|" + ("---|" if per_click else "")]
    summary = {}
    for name in names:
        runs = np.array([c[name] for c in per_case if name in c])
        last = runs[:, -1]
        summary[name] = {"cases": len(last), "mean": float(last.mean()), "median": float(np.median(last)),
                         "min": float(last.min()), "max": float(last.max()), "per_click_mean": runs.mean(0).tolist()}
        row = f"| {name} | {len(last)} | {last.mean():.3f} | {np.median(last):.3f} | {last.min():.3f} | {last.max():.3f} |"
        if per_click:
            row += " " + " / ".join(f"{v:.3f}" for v in runs.mean(0)) + " |"
        lines.append(row)
    mean = float(np.mean([s["mean"] for s in summary.values()]))
    lines.append(f"| **mean over structures** | | **{mean:.3f}** | | | |" + (" |" if per_click else ""))
    text = "\n".join(lines)
    print(text)
    print(f"({time.time() - started:.0f} s)")
    if args.markdown:
        open(args.markdown, "w").write(text + "\n")
    for doc in args.docs:
        replace_section(doc, args.section or f"{os.path.basename(args.model.rstrip('/'))}_{args.size}_{args.scan_protocol}", text)
    if args.json:
        json.dump({"model": args.model, "mode": how, "seed": args.seed, "count": args.count, "size": args.size,
                   "scan_protocol": args.scan_protocol, "summary": summary, "mean": mean, "per_case": per_case,
                   "seconds": time.time() - started}, open(args.json, "w"), indent=1)


if __name__ == "__main__":
    main()
