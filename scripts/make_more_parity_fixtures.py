#!/usr/bin/env python3
"""More MONAI 1.6.1 reference outputs for the engine: the corners the first
set (make_parity_fixtures.py) leaves out — batch size 2, kernel 5, residual
units 4 with dropout and surplus strides, affine instance norm, bias=False,
SegResNet's deprecated norm_name/num_groups, DynUNet deep supervision with
trans_bias, a strided DynUNet input block, group norm in BasicUNet/DynUNet, per-dim UNet kernels,
UNet adn_ordering other than NDA.

Writes Tests/LumenNNTests/Fixtures/parity-more/<name>/{net.json, model.pt, x.npy, y.npy} + index.json.
Run: .venv-ref/bin/python scripts/make_more_parity_fixtures.py
"""
import importlib.util, json, os, shutil, sys

import numpy as np
import torch
import monai

HERE = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location("base", os.path.join(HERE, "make_parity_fixtures.py"))
base = importlib.util.module_from_spec(spec)
spec.loader.exec_module(base)

OUT = sys.argv[1] if len(sys.argv) > 1 else "Tests/LumenNNTests/Fixtures/parity-more"

CONFIGS = [
    ("unet3d_res4_batch_dropout_batch2", {"name": "UNet", "args": {"spatial_dims": 3, "in_channels": 2, "out_channels": 3,
        "channels": [4, 8, 16, 16], "strides": [2, 2, 2, 2, 2], "num_res_units": 4, "norm": "batch", "dropout": 0.15}},
        [2, 2, 16, 8, 16]),
    ("unet3d_res1_k5_relu_nobias", {"name": "monai.networks.nets.UNet", "args": {"spatial_dims": 3, "in_channels": 1,
        "out_channels": 2, "channels": [4, 8, 8], "strides": [2, 1], "kernel_size": 5, "up_kernel_size": 5,
        "num_res_units": 1, "norm": ["batch", {}], "act": "relu", "bias": False}}, [1, 1, 12, 8, 10]),
    ("unet2d_res0_instance_affine_batch2", {"name": "Unet", "args": {"spatial_dims": 2, "in_channels": 3, "out_channels": 2,
        "channels": [8, 16, 16, 32], "strides": [2, 2, 1], "norm": ["INSTANCE", {"affine": True}],
        "act": ["LeakyReLU", {"negative_slope": 0.3}]}}, [2, 3, 20, 28]),
    ("segresnet3d_oldargs_batch2", {"name": "SegResNet", "args": {"spatial_dims": 3, "init_filters": 4, "in_channels": 1,
        "out_channels": 2, "blocks_down": [1, 1, 1, 1], "blocks_up": [1, 1, 1], "norm_name": "group", "num_groups": 2,
        "dropout_prob": 0.2}}, [2, 1, 16, 8, 16]),
    ("segresnet2d_nofinal", {"name": "SegResNet", "args": {"spatial_dims": 2, "init_filters": 4, "in_channels": 2,
        "out_channels": 2, "blocks_down": [2, 1], "blocks_up": [2], "use_conv_final": False,
        "norm": ["instance", {"affine": True}]}}, [1, 2, 14, 18]),
    ("dynunet3d_deepsup_transbias", {"name": "DynUnet", "args": {"spatial_dims": 3, "in_channels": 2, "out_channels": 3,
        "kernel_size": [3, [3, 3, 1], 3, 3], "strides": [1, [2, 2, 1], 2, 2], "upsample_kernel_size": [[2, 2, 1], 2, 2],
        "filters": [4, 8, 16, 16], "deep_supervision": True, "deep_supr_num": 2, "trans_bias": True}}, [1, 2, 16, 16, 8]),
    ("dynunet3d_stride2_first_res_group", {"name": "DynUNet", "args": {"spatial_dims": 3, "in_channels": 1, "out_channels": 2,
        "kernel_size": [3, 3, 3], "strides": [2, 2, 1], "upsample_kernel_size": [2, 1], "filters": [4, 8, 8],
        "norm_name": ["group", {"num_groups": 2}], "act_name": ["relu", {}], "res_block": True}}, [1, 1, 16, 12, 8]),
    ("basicunet3d_group_relu_nobias", {"name": "basicunet", "args": {"spatial_dims": 3, "in_channels": 1, "out_channels": 3,
        "features": [4, 4, 8, 8, 8, 4], "norm": ["group", {"num_groups": 2}], "act": "relu", "bias": False}}, [1, 1, 17, 19, 16]),
    ("unet3d_res2_aniso_kernels", {"name": "UNet", "args": {"spatial_dims": 3, "in_channels": 1, "out_channels": 2,
        "channels": [4, 8, 8], "strides": [2, 2], "kernel_size": [3, 3, 1], "up_kernel_size": [1, 3, 3], "num_res_units": 2,
        "norm": "batch"}}, [1, 1, 8, 12, 16]),
    ("unet3d_res1_adn_AN_instance_affine", {"name": "UNet", "args": {"spatial_dims": 3, "in_channels": 1, "out_channels": 2,
        "channels": [4, 8, 8], "strides": [2, 2], "num_res_units": 1, "adn_ordering": "AN",
        "norm": ["instance", {"affine": True}]}}, [1, 1, 8, 8, 8]),
    ("unet2d_res2_adn_ADN_batch", {"name": "UNet", "args": {"spatial_dims": 2, "in_channels": 1, "out_channels": 2,
        "channels": [4, 8, 8], "strides": [2, 2], "num_res_units": 2, "adn_ordering": "ADN", "norm": "batch"}}, [1, 1, 16, 12]),
]

RENAMES = {"dimensions": "spatial_dims"}


def build(spec):
    from monai.networks import nets
    args = {RENAMES.get(k, k): v for k, v in spec["args"].items()}
    return getattr(nets, spec["name"].split(".")[-1])(**args).eval()


def main():
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(4321)
    if os.path.isdir(OUT):
        shutil.rmtree(OUT)
    os.makedirs(OUT)
    index = {"monai": monai.__version__, "torch": torch.__version__, "configs": []}
    for name, spec, shape in CONFIGS:
        d = os.path.join(OUT, name)
        os.makedirs(d)
        net = build(spec)
        base.randomize(net, gen)
        x = torch.randn(shape, generator=gen)
        with torch.no_grad():
            y = net(x)
        torch.save(net.state_dict(), os.path.join(d, "model.pt"))
        json.dump(spec, open(os.path.join(d, "net.json"), "w"), indent=1)
        np.save(os.path.join(d, "x.npy"), x.numpy().astype(np.float32))
        np.save(os.path.join(d, "y.npy"), y.numpy().astype(np.float32))
        index["configs"].append({"name": name, "input": shape, "output": list(y.shape),
                                 "keys": len(net.state_dict()), "max_abs_output": float(y.abs().max())})
        print(f"{name:36s} {str(shape):20s} -> {list(y.shape)}  {len(net.state_dict())} keys")
    json.dump(index, open(os.path.join(OUT, "index.json"), "w"), indent=1)


if __name__ == "__main__":
    main()
