"""Appearance randomisation for training on phantoms (SynthSeg-style, around real protocols).

A model trained on one scan protocol learns that protocol's grey values rather than the anatomy:
the organ model trained on portal-venous phantoms scored 0.31 Dice on non-contrast ones. The
training sets mix `lumen phantom --protocol` phases (each phase redraws every tissue's HU from
its published range, per case), and this module perturbs each sample further, in HU, before the
bundle's own intensity transform. Every draw is per sample; the ranges are the whole contract:

- each labelled structure (phantom label values 1-12) shifted by U(-20, 20) HU on its own,
  so organ contrasts are not memorised;
- the whole image shifted by U(-15, 15) HU and its contrast about 40 HU scaled by U(0.85, 1.15);
- a smooth additive bias field, a 4 x 4 x 4 grid of U(-20, 20) HU trilinearly upsampled;
- with probability 0.5, Gaussian blur with sigma U(0.3, 1.2) voxels in-plane and U(0.3, 1.5)
  along the slices (partial volume of thicker slices and softer kernels);
- Gaussian noise with sigma U(0, 20) HU on top of the phantom's own 12 HU.

With the trainers' `--wide P` and a phantom's tissue map (`tissueNN.nii.gz`, written by `lumen phantom`),
`synthesize` first throws the phantom's grey values away, with probability P per fresh draw, and
paints a new image from the tissue map alone, SynthSeg-style (Billot et al., Medical Image Analysis
2023): every tissue's mean is drawn on its own from a wide range, so no contrast between two
tissues (spleen against kidney, liver against fat) can be relied on, only shape and context:

- every soft tissue, fluid and blood pool (fat and muscle included) U(-150, 250) HU;
- cortical and cancellous bone U(80, 1200) HU each (so trabecular bone may be darker than
  some soft tissue, or brighter than its own shell);
- lung and gas U(-1000, -700) HU, and the air outside the body stays -1000 HU: CT is calibrated
  there, and no scan shows bright air;
- inside each tissue, Gaussian texture with sigma U(0, 15) HU, then partial volume as the phantom
  renders it (in-plane Gaussian sigma U(0.5, 1) voxels).

`randomise` (and `coarsen`) then run on the painted image as on any other.

The intensity window is jittered separately by the trainers (`window`).

With the trainers' `--resolution`, `coarsen` then simulates a coarser acquisition, with probability
0.5 per sample: slices U(1, 2.4) times thicker than the training grid's (2.5 mm for the segmentation bundles:
up to 6 mm; 2 mm for deepgrow 3-D: up to 4.8 mm) and pixels U(1, 1.5) times larger in-plane, sampled either as point samples (as `lumen phantom` renders its
slices) or as averages over the slice (as a scanner's slice profile does), then interpolated
back to the grid linearly, as the bundle's Spacing transform does at inference. The labels stay
on the fine grid, so the network learns the anatomy behind the partial volume.
"""
import numpy as np
import torch
import torch.nn.functional as F

STRUCTURE_SHIFT_HU = 20.0
GLOBAL_SHIFT_HU = 15.0
CONTRAST = (0.85, 1.15)
BIAS_HU = 20.0
BLUR_PROBABILITY = 0.5
BLUR_IN_PLANE = (0.3, 1.2)
BLUR_SLICE = (0.3, 1.5)
NOISE_HU = (0.0, 20.0)


def _gaussian(sigma):
    radius = max(1, int(np.ceil(2.5 * sigma)))
    x = torch.arange(-radius, radius + 1, dtype=torch.float32)
    k = torch.exp(-0.5 * (x / sigma) ** 2)
    return k / k.sum()


def _blur(image, sigmas):
    """Separable Gaussian blur of a [1, ...] tensor, one sigma (voxels) per spatial axis."""
    x = image.unsqueeze(0)
    dims = image.dim() - 1
    conv = F.conv3d if dims == 3 else F.conv2d
    for axis, sigma in enumerate(sigmas):
        k = _gaussian(sigma)
        shape = [1, 1] + [1] * dims
        shape[2 + axis] = len(k)
        pad = [0, 0] * dims
        pad[2 * (dims - 1 - axis)] = pad[2 * (dims - 1 - axis) + 1] = len(k) // 2
        x = conv(F.pad(x, pad, mode="replicate"), k.reshape(shape))
    return x[0]


def randomise(hu, raw_labels, rng):
    """`hu`: [1, ...] float tensor in HU; `raw_labels`: same shape, phantom label values."""
    out = hu.clone()
    shifts = torch.zeros(256)
    shifts[1:13] = torch.as_tensor(rng.uniform(-STRUCTURE_SHIFT_HU, STRUCTURE_SHIFT_HU, 12), dtype=torch.float32)
    out += shifts[raw_labels.long().clamp(0, 255)]
    out = (out - 40.0) * float(rng.uniform(*CONTRAST)) + 40.0 + float(rng.uniform(-GLOBAL_SHIFT_HU, GLOBAL_SHIFT_HU))
    dims = out.dim() - 1
    grid = torch.as_tensor(rng.uniform(-BIAS_HU, BIAS_HU, [1, 1] + [4] * dims), dtype=torch.float32)
    mode = "trilinear" if dims == 3 else "bilinear"
    out += F.interpolate(grid, size=tuple(out.shape[1:]), mode=mode, align_corners=True)[0]
    if rng.random() < BLUR_PROBABILITY:
        sigmas = [rng.uniform(*BLUR_IN_PLANE)] * min(dims, 2) + ([rng.uniform(*BLUR_SLICE)] if dims == 3 else [])
        out = _blur(out, sigmas)
    out += torch.as_tensor(rng.normal(0.0, rng.uniform(*NOISE_HU), tuple(out.shape)), dtype=torch.float32)
    return out


RESOLUTION_PROBABILITY = 0.5
SLICE_FACTOR = (1.0, 2.4)
IN_PLANE_FACTOR = (1.0, 1.5)


def coarsen(hu, rng):
    """`hu`: [1, ...] float tensor; the last axis is the slice axis of a 3-D sample."""
    if rng.random() >= RESOLUTION_PROBABILITY:
        return hu
    dims = hu.dim() - 1
    shape = tuple(hu.shape[1:])
    factors = [rng.uniform(*IN_PLANE_FACTOR)] * min(dims, 2) + ([rng.uniform(*SLICE_FACTOR)] if dims == 3 else [])
    small = [max(2, int(round(s / f))) for s, f in zip(shape, factors)]
    x = F.interpolate(hu.unsqueeze(0), size=small, mode="area" if rng.random() < 0.5 else "nearest")
    x = F.interpolate(x, size=shape, mode="trilinear" if dims == 3 else "bilinear", align_corners=True)
    return x[0]


def window(hu, a_min, a_max, rng, jitter=(25.0, 40.0)):
    """ScaleIntensityRange(a_min..a_max → 0..1, clip) with the window's ends moved at random."""
    lo = a_min + rng.uniform(-jitter[0], jitter[0])
    hi = a_max + rng.uniform(-jitter[1], jitter[1])
    return ((hu - lo) / (hi - lo)).clamp(0.0, 1.0)


WIDE_SOFT_HU = (-150.0, 250.0)
WIDE_BONE_HU = (80.0, 1200.0)
WIDE_GAS_HU = (-1000.0, -700.0)
WIDE_TEXTURE_HU = (0.0, 15.0)
WIDE_BLUR = (0.5, 1.0)
TISSUE_COUNT = 21   # PhantomTissue's cases (Sources/LumenPhantom/Tissue.swift)
AIR, GAS, LUNG = 0, 13, 17
BONE = (14, 15)


def synthesize(tissue, rng):
    """A new HU image from a [1, ...] tissue map alone, every tissue's mean drawn at random."""
    means = torch.as_tensor(rng.uniform(*WIDE_SOFT_HU, TISSUE_COUNT), dtype=torch.float32)
    texture = torch.as_tensor(rng.uniform(*WIDE_TEXTURE_HU, TISSUE_COUNT), dtype=torch.float32)
    for t in BONE:
        means[t] = float(rng.uniform(*WIDE_BONE_HU))
    for t in (GAS, LUNG):
        means[t] = float(rng.uniform(*WIDE_GAS_HU))
    means[AIR], texture[AIR] = -1000.0, 0.0
    index = tissue.long().clamp(0, TISSUE_COUNT - 1)
    out = means[index] + texture[index] * torch.as_tensor(rng.standard_normal(tuple(tissue.shape)), dtype=torch.float32)
    dims = tissue.dim() - 1
    sigma = rng.uniform(*WIDE_BLUR)
    return _blur(out, [sigma] * min(dims, 2) + ([0.3] if dims == 3 else []))
