#!/usr/bin/env python3
"""The previews in docs/models.md: one per bundle, on phantoms none of the bundles was trained on
(seed 90210; the training scripts use seeds below 10000), at the size users meet (full; the
artery model at its 1 mm medium size), and the organ model once more on a non-contrast phantom,
the protocol a model trained on portal-venous phantoms alone fails on (docs/models.md). Interactive models get the clicks a user
would give: one foreground click at the spleen's centre (deepgrow), its six extreme points (DExtr3D).

  .venv-client/bin/python scripts/evaluation/make_doc_previews.py --lumen .build/debug/lumen [--out docs/images]
"""
import argparse, os, subprocess, sys, tempfile

import nibabel as nib
import numpy as np

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
SPLEEN = 2   # LumenPhantom's label value


def phantom(lumen, work, name, size, protocol=None):
    out = os.path.join(work, name)
    cmd = [lumen, "phantom", "--output", out, "--count", "1", "--seed", "90210", "--size", size]
    if protocol:
        cmd += ["--protocol", protocol]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return os.path.join(out, "image00.nii.gz"), os.path.join(out, "label00.nii.gz")


def segment(lumen, model, image, png, extra=()):
    result = os.path.join(os.path.dirname(image), os.path.basename(png).replace(".png", ".nii.gz"))
    subprocess.run([lumen, "segment", "--model", os.path.join(ROOT, "mmar", model), "--image", image,
                    "--output", result, "--preview", png, *extra], check=True, stdout=subprocess.DEVNULL)
    print(f"{png}: {os.path.getsize(png)} bytes")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--lumen", required=True)
    p.add_argument("--out", default=os.path.join(ROOT, "docs", "images"))
    args = p.parse_args()
    lumen = os.path.abspath(args.lumen)
    os.makedirs(args.out, exist_ok=True)
    work = tempfile.mkdtemp(prefix="lumen-doc-previews-")
    full, full_label = phantom(lumen, work, "full", "full")
    segment(lumen, "abdominal_organs", full, os.path.join(args.out, "abdominal_organs.png"))
    segment(lumen, "bones", full, os.path.join(args.out, "bones.png"))
    plain, _ = phantom(lumen, work, "noncontrast", "full", "non-contrast")
    segment(lumen, "abdominal_organs", plain, os.path.join(args.out, "abdominal_organs_noncontrast.png"))
    medium, _ = phantom(lumen, work, "medium", "medium")
    segment(lumen, "hepatic_arteries", medium, os.path.join(args.out, "hepatic_arteries.png"))

    spleen = np.argwhere(np.asarray(nib.load(full_label).dataobj) == SPLEEN)
    centre = np.round(spleen.mean(axis=0)).astype(int)
    # The centre of mass of a curved organ can fall outside it: take the spleen voxel nearest to it.
    click = spleen[np.argmin(((spleen - centre) ** 2).sum(axis=1))]
    point = ",".join(map(str, click))
    segment(lumen, "deepgrow_3d", full, os.path.join(args.out, "deepgrow_3d.png"), ["--foreground", point, "--current-point", point])
    segment(lumen, "deepgrow_2d", full, os.path.join(args.out, "deepgrow_2d.png"), ["--foreground", point, "--current-point", point])
    extremes = [spleen[spleen[:, a].argmin()] for a in range(3)] + [spleen[spleen[:, a].argmax()] for a in range(3)]
    segment(lumen, "dextr3d", full, os.path.join(args.out, "dextr3d.png"),
            ["--points", *[",".join(map(str, e)) for e in extremes]])


if __name__ == "__main__":
    sys.exit(main())
