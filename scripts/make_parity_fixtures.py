#!/usr/bin/env python3
"""Reference outputs for Lumen's native engine, from MONAI 1.6.1 on CPU float32.

For each configuration it writes Tests/LumenNNTests/Fixtures/parity/<name>/:
net.json (the `lumen forward --network` form), model.pt (random weights with
non-trivial statistics, so layout and ordering bugs cannot hide behind identity
BatchNorm or default PReLU slopes), x.npy and y.npy.

Run: scripts/setup_python && .venv-ref/bin/python scripts/make_parity_fixtures.py
"""
import json, os, shutil, sys

import numpy as np
import torch
import monai
from monai.networks import nets

OUT = sys.argv[1] if len(sys.argv) > 1 else "Tests/LumenNNTests/Fixtures/parity"

# (directory, net.json, input shape, how model.pt is saved). Sizes are small so
# the committed fixtures stay well under 4 MB; odd sizes only where the network
# allows them (BasicUNet pads; UNet and DynUNet need divisible sizes).
# Some net.json files use the old spellings MMARs carry (`dimensions`, `BasicUnet`,
# SegResNet `norm_name` + `num_groups`): Lumen must read them as MONAI did.
CONFIGS = [
    ("unet3d_res2_batch", {"name": "UNet", "args": {"dimensions": 3, "in_channels": 1, "out_channels": 2, "channels": [4, 8, 16],
        "strides": [2, 2], "num_res_units": 2, "norm": "batch"}}, [1, 1, 16, 16, 16], "zip"),
    ("unet3d_res0_instance_prelu", {"name": "UNet", "args": {"spatial_dims": 3, "in_channels": 1, "out_channels": 2,
        "channels": [4, 8, 16], "strides": [2, 2], "num_res_units": 0}}, [1, 1, 16, 12, 8], "zip"),
    ("unet3d_res1_instance_affine", {"name": "Unet", "args": {"spatial_dims": 3, "in_channels": 1, "out_channels": 3,
        "channels": [4, 8, 16], "strides": [2, 2], "num_res_units": 1, "norm": ["instance", {"affine": True}],
        "dropout": 0.1}}, [1, 1, 12, 16, 8], "zip"),
    ("unet3d_res1_group_leaky", {"name": "UNet", "args": {"spatial_dims": 3, "in_channels": 2, "out_channels": 4,
        "channels": [4, 8, 16, 32], "strides": [2, 2, 2], "num_res_units": 1, "norm": ["group", {"num_groups": 2}],
        "act": ["leakyrelu", {"negative_slope": 0.2}]}}, [1, 2, 16, 16, 8], "zip"),
    ("unet2d_res2_batch", {"name": "UNet", "args": {"spatial_dims": 2, "in_channels": 1, "out_channels": 2,
        "channels": [8, 16, 32], "strides": [2, 2], "num_res_units": 2, "norm": "batch"}}, [1, 1, 32, 24], "zip"),
    ("basicunet3d_odd_legacy", {"name": "BasicUnet", "args": {"dimensions": 3, "in_channels": 2, "out_channels": 1,
        "features": [4, 8, 8, 16, 16, 4]}}, [1, 2, 35, 33, 17], "legacy"),
    ("basicunet2d_odd", {"name": "BasicUNet", "args": {"spatial_dims": 2, "in_channels": 1, "out_channels": 2,
        "features": [4, 4, 8, 8, 16, 4]}}, [1, 1, 33, 30], "zip"),
    ("basicunet3d_batch_prelu_wrapped", {"name": "BasicUNet", "args": {"spatial_dims": 3, "in_channels": 1, "out_channels": 2,
        "features": [4, 8, 8, 16, 16, 8], "norm": "batch", "act": "prelu"}}, [1, 1, 18, 20, 22], "wrapped"),
    ("segresnet3d_nontrainable", {"name": "SegResNet", "args": {"spatial_dims": 3, "init_filters": 4, "in_channels": 1,
        "out_channels": 3, "blocks_down": [1, 2, 2], "blocks_up": [1, 1], "norm_name": "group", "num_groups": 2}},
        [1, 1, 16, 16, 12], "zip"),
    ("segresnet3d_deconv", {"name": "SegResNet", "args": {"spatial_dims": 3, "init_filters": 4, "in_channels": 2,
        "out_channels": 2, "upsample_mode": "deconv", "blocks_down": [1, 1, 2], "blocks_up": [1, 1],
        "norm": ["group", {"num_groups": 4}]}}, [1, 2, 16, 16, 16], "zip"),
    ("segresnet2d_batch_leaky", {"name": "SegResNet", "args": {"spatial_dims": 2, "init_filters": 4, "blocks_down": [1, 2, 2], "blocks_up": [1, 1], "in_channels": 1,
        "out_channels": 2, "norm": "batch", "act": ["leakyrelu", {"negative_slope": 0.05}]}}, [1, 1, 32, 32], "zip"),
    ("dynunet3d_aniso_res", {"name": "DynUNet", "args": {"spatial_dims": 3, "in_channels": 1, "out_channels": 2,
        "kernel_size": [[3, 3, 1], 3, 3], "strides": [1, [2, 2, 1], 2], "upsample_kernel_size": [[2, 2, 1], 2],
        "filters": [8, 16, 32], "res_block": True}}, [1, 1, 16, 16, 8], "zip"),
    ("dynunet3d_aniso_plain", {"name": "DynUNet", "args": {"spatial_dims": 3, "in_channels": 2, "out_channels": 2,
        "kernel_size": [[3, 3, 1], [3, 3, 1], 3], "strides": [1, [2, 2, 1], 2], "upsample_kernel_size": [[2, 2, 1], 2],
        "filters": [4, 8, 16], "res_block": False, "act_name": ["leakyrelu", {"negative_slope": 0.1}]}}, [1, 2, 16, 12, 6], "zip"),
    ("dynunet3d_basic_instance", {"name": "DynUNet", "args": {"spatial_dims": 3, "in_channels": 1, "out_channels": 2,
        "kernel_size": [3, 3, 3, 3], "strides": [1, 2, 2, 2], "upsample_kernel_size": [2, 2, 2], "filters": [4, 8, 16, 32],
        "norm_name": "instance"}}, [1, 1, 16, 16, 16], "zip"),
    ("dynunet2d_batch_res", {"name": "DynUNet", "args": {"spatial_dims": 2, "in_channels": 1, "out_channels": 3,
        "kernel_size": [3, 3, 3], "strides": [1, 2, 2], "upsample_kernel_size": [2, 2], "filters": [8, 16, 32],
        "norm_name": "batch", "res_block": True}}, [1, 1, 32, 32], "zip"),
]

# Old spellings → what MONAI 1.6.1 is given (net.json keeps the old ones).
ARG_RENAMES = {"dimensions": "spatial_dims"}
NAME_RENAMES = {"BasicUnet": "BasicUNet", "Basicunet": "BasicUNet", "basicunet": "BasicUNet", "Unet": "UNet",
                "DynUnet": "DynUNet", "Dynunet": "DynUNet"}


def build(spec):
    args = {ARG_RENAMES.get(k, k): v for k, v in spec["args"].items()}
    return getattr(nets, NAME_RENAMES.get(spec["name"], spec["name"]))(**args).eval()


def randomize(net, gen):
    """Non-trivial statistics everywhere (networks.md §11)."""
    with torch.no_grad():
        for name, t in net.state_dict().items():
            if not t.is_floating_point():
                continue
            if name.endswith("running_var"):
                t.copy_(torch.rand(t.shape, generator=gen) + 0.5)
            elif name.endswith("running_mean"):
                t.copy_(torch.randn(t.shape, generator=gen) * 0.1)
            elif name.endswith(".A.weight") or name.endswith("act.weight"):
                t.copy_(torch.rand(t.shape, generator=gen) * 0.5)
            elif t.dim() == 1 and name.endswith("weight"):
                t.copy_(1 + torch.randn(t.shape, generator=gen) * 0.1)
            elif name.endswith("bias"):
                t.copy_(torch.randn(t.shape, generator=gen) * 0.1)


def main():
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(1234)
    if os.path.isdir(OUT):
        shutil.rmtree(OUT)
    os.makedirs(OUT)
    index = {"monai": monai.__version__, "torch": torch.__version__, "numpy": np.__version__,
             "dtype": "float32", "device": "cpu", "configs": []}
    for name, spec, shape, fmt in CONFIGS:
        d = os.path.join(OUT, name)
        os.makedirs(d)
        net = build(spec)
        randomize(net, gen)
        x = torch.randn(shape, generator=gen)
        with torch.no_grad():
            y = net(x)
        sd = net.state_dict()
        path = os.path.join(d, "model.pt")
        if fmt == "legacy":
            torch.save(sd, path, _use_new_zipfile_serialization=False)
        elif fmt == "wrapped":
            torch.save({"model": sd, "epoch": 12, "train_conf": {"train": {"model": spec}}}, path)
        else:
            torch.save(sd, path)
        json.dump(spec, open(os.path.join(d, "net.json"), "w"), indent=1)
        np.save(os.path.join(d, "x.npy"), x.numpy().astype(np.float32))
        np.save(os.path.join(d, "y.npy"), y.numpy().astype(np.float32))
        index["configs"].append({"name": name, "network": spec["name"], "format": fmt, "input": shape,
                                 "output": list(y.shape), "max_abs_output": float(y.abs().max()),
                                 "parameters": sum(t.numel() for t in sd.values())})
        print(f"{name:34s} {str(shape):22s} -> {list(y.shape)}  {os.path.getsize(path) // 1024} KiB")
    json.dump(index, open(os.path.join(OUT, "index.json"), "w"), indent=1)


if __name__ == "__main__":
    main()
