#!/usr/bin/env python3
"""Sliding-window references from MONAI 1.6.1 for Lumen's inferer tests.

The predictor adds each window's own mean (and a second channel), so every
window's output differs and the blending weights are really exercised.
Run: scripts/setup_python && .venv-ref/bin/python scripts/make_inference_fixtures.py
"""
import json, os, sys
import numpy as np
import torch
from monai.inferers import sliding_window_inference

OUT = sys.argv[1] if len(sys.argv) > 1 else "Tests/LumenInferenceTests/Fixtures/sliding_window"
os.makedirs(OUT, exist_ok=True)

def predictor(x):
    return torch.cat([x[:, :1] + x.mean(), 2 * x[:, -1:] - 1], dim=1)

CASES = [
    ("constant_overlap25", [1, 1, 37, 29, 21], [16, 16, 16], 0.25, "constant", "constant"),
    ("gaussian_overlap50", [1, 1, 37, 29, 21], [16, 16, 16], 0.5, "gaussian", "constant"),
    ("smaller_than_roi_replicate", [1, 2, 10, 20, 12], [16, 16, 16], 0.25, "gaussian", "replicate"),
    ("two_d_gaussian", [1, 1, 50, 41], [32, 32], 0.25, "gaussian", "constant"),
    ("roi_minus_one", [1, 1, 20, 18, 9], [16, 16, -1], 0.25, "gaussian", "constant"),
]
g = torch.Generator().manual_seed(0)
index = []
for name, shape, roi, overlap, mode, padding in CASES:
    x = torch.randn(shape, generator=g)
    with torch.no_grad():
        y = sliding_window_inference(x, roi, 1, predictor, overlap=overlap, mode=mode, padding_mode=padding)
    np.save(os.path.join(OUT, f"{name}_x.npy"), x.numpy().astype(np.float32))
    np.save(os.path.join(OUT, f"{name}_y.npy"), y.numpy().astype(np.float32))
    index.append({"name": name, "roi": roi, "overlap": overlap, "mode": mode, "padding": padding})
json.dump({"cases": index}, open(os.path.join(OUT, "index.json"), "w"), indent=1)
print("wrote", len(index), "cases")
