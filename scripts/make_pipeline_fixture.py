#!/usr/bin/env python3
"""A tiny Clara-style MMAR and MONAI's own end-to-end result on one image.

Writes Tests/LumenInferenceTests/Fixtures/mmar_tiny/ (config/config_aiaa.json,
config/config_train.json, models/model.pt with random weights) plus image.nii.gz
(LPS, anisotropic: 1.2 × 1.2 × 2.77 mm) and expected.nii.gz: MONAI 1.6.1's label map after
LoadImage → EnsureChannelFirst → Orientation(RAS) → Spacing(2 mm) →
ScaleIntensityRange → sliding window → softmax → argmax → Invert (nearest).
This checks the whole segmentation task, not only its parts.
"""
import json, os, sys
import nibabel as nib
import numpy as np
import torch
from monai.inferers import sliding_window_inference
from monai.networks.nets import UNet
from monai.transforms import (Activationsd, AsDiscreted, Compose, EnsureChannelFirstd, Invertd, LoadImaged,
                              Orientationd, ScaleIntensityRanged, Spacingd)

OUT = sys.argv[1] if len(sys.argv) > 1 else "Tests/LumenInferenceTests/Fixtures/mmar_tiny"
os.makedirs(os.path.join(OUT, "config"), exist_ok=True)
os.makedirs(os.path.join(OUT, "models"), exist_ok=True)
torch.manual_seed(1)
rng = np.random.default_rng(0)

spec = {"name": "UNet", "args": {"spatial_dims": 3, "in_channels": 1, "out_channels": 3, "channels": [8, 16, 32],
                                  "strides": [2, 2], "num_res_units": 1, "norm": "batch"}}
net = UNet(**spec["args"]).eval()
with torch.no_grad():
    for name, t in net.state_dict().items():
        if name.endswith("running_var"): t.copy_(torch.rand(t.shape) + 0.5)
        elif name.endswith("running_mean"): t.copy_(torch.randn(t.shape) * 0.1)
        elif name.endswith("bias"): t.copy_(torch.randn(t.shape) * 0.01)
torch.save(net.state_dict(), os.path.join(OUT, "models", "model.pt"))
json.dump({"train": {"model": spec}}, open(os.path.join(OUT, "config", "config_train.json"), "w"), indent=1)
aiaa = {
    "version": 1, "type": "segmentation", "labels": ["organ_a", "organ_b"], "description": "Parity fixture, random weights",
    "pre_transforms": [
        {"name": "monai.transforms.LoadImaged", "args": {"keys": "image"}},
        {"name": "monai.transforms.EnsureChannelFirstd", "args": {"keys": "image"}},
        {"name": "monai.transforms.Orientationd", "args": {"keys": "image", "axcodes": "RAS"}},
        {"name": "monai.transforms.Spacingd", "args": {"keys": "image", "pixdim": [2.0, 2.0, 2.0], "mode": "bilinear"}},
        {"name": "monai.transforms.ScaleIntensityRanged", "args": {"keys": "image", "a_min": -100, "a_max": 300,
                                                                   "b_min": 0.0, "b_max": 1.0, "clip": True}},
    ],
    "inference": {"input": "image", "output": "pred",
                  "AIAA": {"name": "aiaa.inference.PyTorchInference", "args": {"scanning_window": True, "roi": [32, 32, 16], "overlap": 0.25}}},
    "post_transforms": [
        {"name": "monai.transforms.Activationsd", "args": {"keys": "pred", "softmax": True}},
        {"name": "monai.transforms.AsDiscreted", "args": {"keys": "pred", "argmax": True}},
        {"name": "aiaa.transforms.Restored", "args": {"keys": "pred", "ref_image": "image"}},
    ],
    "writer": {"name": "aiaa.transforms.Writer", "args": {"image": "pred", "json": "result"}},
}
json.dump(aiaa, open(os.path.join(OUT, "config", "config_aiaa.json"), "w"), indent=1)

# A smooth "CT" with blobs, LPS header, 1.2 × 1.2 × 3.0 mm.
shape = (46, 40, 15)
grid = np.stack(np.meshgrid(*[np.arange(s) for s in shape], indexing="ij"), -1).astype(np.float32)
img = np.full(shape, -80.0, np.float32)
for _ in range(6):
    c = rng.uniform([0, 0, 0], shape); r = rng.uniform(4, 12)
    d = np.sqrt((((grid - c) * [1.2, 1.2, 2.77]) ** 2).sum(-1))
    img += rng.uniform(80, 300) * np.exp(-(d / (r * 1.2)) ** 2)
img += rng.normal(0, 10, shape).astype(np.float32)
# z spacing 2.77 mm: no output voxel maps exactly onto a .5 source coordinate, where nearest
# interpolation ties are broken by float rounding and MONAI and Lumen may legitimately differ.
affine = np.array([[-1.2, 0, 0, 30.0], [0, -1.2, 0, 25.0], [0, 0, 2.77, -20.0], [0, 0, 0, 1]])
nib.save(nib.Nifti1Image(img.astype(np.int16), affine), os.path.join(OUT, "image.nii.gz"))

pre = Compose([LoadImaged(keys="image"), EnsureChannelFirstd(keys="image"), Orientationd(keys="image", axcodes="RAS"),
               Spacingd(keys="image", pixdim=[2.0, 2.0, 2.0], mode="bilinear"),
               ScaleIntensityRanged(keys="image", a_min=-100, a_max=300, b_min=0.0, b_max=1.0, clip=True)])
data = pre({"image": os.path.join(OUT, "image.nii.gz")})
with torch.no_grad():
    data["pred"] = sliding_window_inference(data["image"][None], [32, 32, 16], 1, net, overlap=0.25)[0]
post = Compose([Activationsd(keys="pred", softmax=True), AsDiscreted(keys="pred", argmax=True),
                Invertd(keys="pred", transform=pre, orig_keys="image", nearest_interp=True)])
out = post(data)["pred"]
label = out[0].numpy().astype(np.uint8)
assert label.shape == shape, (label.shape, shape)
nib.save(nib.Nifti1Image(label, affine), os.path.join(OUT, "expected.nii.gz"))
print("labels present:", np.unique(label, return_counts=True))
