#!/usr/bin/env python3
"""Small synthetic dataset in the layout `lumen dataset export` writes (for tests and admins' dry runs):

  <out>/dataset.json          Decathlon-style: training [{image: ./imagesTr/<id>.nii.gz, label: ./labelsTr/<id>.nii.gz}], provenance
  <out>/imagesTr/<id>.nii.gz  CT-like volume (HU), spacing 2 x 2 x 2.5 mm
  <out>/labelsTr/<id>.nii.gz  label map; value i+1 = the bundle's i-th label (Lumen's label_names)

Each case has a few ellipsoid "organs" with values 1 and 2 (liver, spleen of abdominal_organs).
"""
import argparse, json, os

import nibabel as nib
import numpy as np


def case(rng, size):
    z, y, x = np.meshgrid(*[np.arange(size)] * 3, indexing="ij")
    image = rng.normal(-60, 20, (size,) * 3).astype(np.float32)
    label = np.zeros((size,) * 3, np.uint8)
    for value, hu in ((1, 140.0), (2, 90.0)):
        c = rng.uniform(size * 0.3, size * 0.7, 3)
        r = rng.uniform(size * 0.12, size * 0.22, 3)
        inside = ((z - c[0]) / r[0]) ** 2 + ((y - c[1]) / r[1]) ** 2 + ((x - c[2]) / r[2]) ** 2 <= 1
        label[inside] = value
        image[inside] = rng.normal(hu, 15, int(inside.sum()))
    return image, label


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", required=True)
    p.add_argument("--cases", type=int, default=3)
    p.add_argument("--size", type=int, default=48)
    p.add_argument("--seed", type=int, default=7)
    a = p.parse_args()
    rng = np.random.default_rng(a.seed)
    os.makedirs(os.path.join(a.out, "imagesTr"), exist_ok=True)
    os.makedirs(os.path.join(a.out, "labelsTr"), exist_ok=True)
    affine = np.diag([2.0, 2.0, 2.5, 1.0])
    training, provenance = [], []
    for i in range(a.cases):
        cid = f"case{i:03d}"
        image, label = case(rng, a.size)
        nib.save(nib.Nifti1Image(image, affine), os.path.join(a.out, "imagesTr", cid + ".nii.gz"))
        nib.save(nib.Nifti1Image(label, affine), os.path.join(a.out, "labelsTr", cid + ".nii.gz"))
        training.append({"image": f"./imagesTr/{cid}.nii.gz", "label": f"./labelsTr/{cid}.nii.gz"})
        provenance.append({"image": cid, "tag": "final", "version": 1, "author": "synthetic", "sha256": ""})
    doc = {"name": "lumen-final", "description": "synthetic test export", "tensorImageSize": "3D",
           "numTraining": len(training), "numTest": 0, "training": training, "test": [], "provenance": provenance}
    with open(os.path.join(a.out, "dataset.json"), "w") as f:
        json.dump(doc, f, indent=2, sort_keys=True)
    print(os.path.join(a.out, "dataset.json"))


if __name__ == "__main__":
    main()
