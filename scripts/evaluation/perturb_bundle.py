#!/usr/bin/env python3
"""A copy of a bundle whose weights carry Gaussian noise (relative `--scale` of each tensor's own
standard deviation): a model made worse on purpose, to show that the quality tests notice.

  .venv-train/bin/python scripts/evaluation/perturb_bundle.py --model mmar/abdominal_organs --out /tmp/worse/abdominal_organs --scale 0.3
  LUMEN_QUALITY_MMAR=/tmp/worse swift test --skip-build --filter QualityTests   # must fail
"""
import argparse, os, shutil

import torch


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--model", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--scale", type=float, default=0.3)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    shutil.rmtree(args.out, ignore_errors=True)
    shutil.copytree(args.model, args.out)
    path = os.path.join(args.out, "models", "model.pt")
    checkpoint = torch.load(path, map_location="cpu", weights_only=False)
    weights = checkpoint["model"] if isinstance(checkpoint, dict) and "model" in checkpoint else checkpoint
    g = torch.Generator().manual_seed(args.seed)
    for name, t in weights.items():
        if t.is_floating_point() and t.numel() > 1 and "running_" not in name:
            t.add_(torch.randn(t.shape, generator=g) * args.scale * t.std())
    torch.save(checkpoint, path)
    print(f"{args.out}: weights perturbed by {args.scale} x each tensor's std")


if __name__ == "__main__":
    main()
