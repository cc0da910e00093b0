#!/usr/bin/env python3
"""Held-out Dice of a bundled model, scored through `lumen segment`.

Generates phantoms with seeds disjoint from training (or uses --data), runs the
bundle on each image with the real Lumen binary, and compares with the phantom's
ground truth, label by label, in the image's own geometry.

  python scripts/evaluate.py --model mmar/abdominal_organs --seed 2000 --count 10 [--markdown FILE]
"""
import argparse, json, os, subprocess, sys, tempfile, time

import nibabel as nib
import numpy as np

PHANTOM = {"liver": 1, "spleen": 2, "kidney_left": 3, "kidney_right": 4, "pancreas": 5, "stomach": 6, "aorta": 7,
           "portal_vein_and_splenic_vein": 8, "vertebrae": 9, "ribs": 10, "hip": 11, "hepatic_artery": 12}


def dice(a, b):
    s = a.sum() + b.sum()
    return 1.0 if s == 0 else 2.0 * np.logical_and(a, b).sum() / s


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--model", required=True)
    p.add_argument("--lumen", default=".build/release/lumen")
    p.add_argument("--seed", type=int, default=2000)
    p.add_argument("--count", type=int, default=10)
    p.add_argument("--size", default="small")
    p.add_argument("--data", help="an existing phantom directory instead of generating one")
    p.add_argument("--markdown")
    args = p.parse_args()
    labels = json.load(open(os.path.join(args.model, "config", "config_aiaa.json")))["labels"]
    tmp = tempfile.mkdtemp(prefix="lumen-eval-")
    data = args.data or os.path.join(tmp, "phantoms")
    if not args.data:
        subprocess.run([args.lumen, "phantom", "--output", data, "--count", str(args.count), "--seed", str(args.seed),
                        "--size", args.size], check=True, stdout=subprocess.DEVNULL)
    cases = json.load(open(os.path.join(data, "dataset.json")))["training"]
    scores = {name: [] for name in labels}
    times = []
    for c in cases:
        image, truth = os.path.join(data, c["image"]), os.path.join(data, c["label"])
        out = os.path.join(tmp, "pred_" + os.path.basename(c["image"]))
        t = time.time()
        subprocess.run([args.lumen, "segment", "--model", args.model, "--image", image, "--output", out], check=True)
        times.append(time.time() - t)
        pred = np.asarray(nib.load(out).dataobj)
        gt = np.asarray(nib.load(truth).dataobj)
        for i, name in enumerate(labels):
            scores[name].append(dice(pred == i + 1, gt == PHANTOM[name]))
    lines = ["| label | mean Dice | min | max |", "|---|---|---|---|"]
    for name in labels:
        v = np.array(scores[name])
        lines.append(f"| {name} | {v.mean():.3f} | {v.min():.3f} | {v.max():.3f} |")
    mean = np.mean([np.mean(v) for v in scores.values()])
    lines.append(f"| **mean** | **{mean:.3f}** | | |")
    text = "\n".join(lines) + f"\n\n{len(cases)} held-out phantoms (seed {args.seed}, size {args.size}); " \
        f"`lumen segment` median {np.median(times):.2f} s per case on this machine.\n"
    print(text)
    if args.markdown:
        open(args.markdown, "w").write(text)


if __name__ == "__main__":
    main()
