#!/usr/bin/env python3
"""Lumen against PyTorch, ONNX Runtime and OpenVINO, side by side in one run.

Each row's network is built in MONAI 1.6.1 with random weights (non-trivial
BatchNorm statistics), saved as model.pt, exported to ONNX (opset 17), and
timed in every runtime one after the other on the same machine, 2 threads
each. Lumen runs as a subprocess (`lumen bench --network … --weights …`), and
`lumen forward` checks that its output equals PyTorch's for the same weights.

GFLOP counts conv and transposed-conv multiply-adds × 2 (forward hooks).
Ratios are Lumen's time / the peer's time: below 1 means Lumen is faster.

Usage: scripts/setup_bench_python && .venv-bench/bin/python scripts/bench_peers.py [--rows anchors|served|all] [--runs 3] [--markdown FILE]
"""
import argparse, json, os, statistics, subprocess, sys, tempfile, time

import numpy as np
import torch
from monai.networks import nets

ROWS = {
    "anchors": [
        ("UNet 16-256 res2 batch (spleen)", {"name": "UNet", "args": {"spatial_dims": 3, "in_channels": 1, "out_channels": 2,
            "channels": [16, 32, 64, 128, 256], "strides": [2, 2, 2, 2], "num_res_units": 2, "norm": "batch"}}, [1, 1, 96, 96, 96]),
        ("BasicUNet 32-512 (deepgrow 3D)", {"name": "BasicUNet", "args": {"spatial_dims": 3, "in_channels": 3, "out_channels": 1,
            "features": [32, 64, 128, 256, 512, 32]}}, [1, 3, 64, 96, 96]),
        ("SegResNet 32 (1,2,2,4) 105 classes", {"name": "SegResNet", "args": {"spatial_dims": 3, "init_filters": 32,
            "in_channels": 1, "out_channels": 105, "blocks_down": [1, 2, 2, 4], "blocks_up": [1, 1, 1]}}, [1, 1, 64, 64, 64]),
    ],
    "served": [
        ("UNet 16-128 res2 batch", {"name": "UNet", "args": {"spatial_dims": 3, "in_channels": 1, "out_channels": 7,
            "channels": [16, 32, 64, 128], "strides": [2, 2, 2], "num_res_units": 2, "norm": "batch"}}, [1, 1, 96, 96, 96]),
        ("DynUNet 3D k3 s(1,2,2,2,2)", {"name": "DynUNet", "args": {"spatial_dims": 3, "in_channels": 1, "out_channels": 2,
            "kernel_size": [3, 3, 3, 3, 3], "strides": [1, 2, 2, 2, 2], "upsample_kernel_size": [2, 2, 2, 2]}}, [1, 1, 96, 96, 96]),
        ("UNet 2D 16-256 res2 batch", {"name": "UNet", "args": {"spatial_dims": 2, "in_channels": 1, "out_channels": 2,
            "channels": [16, 32, 64, 128, 256], "strides": [2, 2, 2, 2], "num_res_units": 2, "norm": "batch"}}, [1, 1, 256, 256]),
    ],
}


def build(spec):
    net = getattr(nets, spec["name"])(**spec["args"]).eval()
    g = torch.Generator().manual_seed(3)
    with torch.no_grad():
        for name, t in net.state_dict().items():
            if name.endswith("running_var"):
                t.copy_(torch.rand(t.shape, generator=g) + 0.5)
            elif name.endswith("running_mean"):
                t.copy_(torch.randn(t.shape, generator=g) * 0.1)
    return net


def gflop(net, x):
    macs = [0]
    def hook(m, inp, out):
        w = m.weight
        if isinstance(m, (torch.nn.ConvTranspose2d, torch.nn.ConvTranspose3d)):
            macs[0] += inp[0].numel() // inp[0].shape[1] * w.numel()
        else:
            macs[0] += out.numel() // out.shape[1] * w.numel()
    hs = [m.register_forward_hook(hook) for m in net.modules()
          if isinstance(m, (torch.nn.Conv2d, torch.nn.Conv3d, torch.nn.ConvTranspose2d, torch.nn.ConvTranspose3d))]
    with torch.no_grad():
        net(x)
    for h in hs:
        h.remove()
    return 2 * macs[0] / 1e9


def timed(fn, runs):
    fn()  # warm-up
    times = []
    for _ in range(runs):
        t = time.perf_counter(); fn(); times.append(time.perf_counter() - t)
    return statistics.median(times)


def run_row(label, spec, shape, args, tmp):
    row = {"network": label, "shape": shape}
    net = build(spec)
    x = torch.randn(shape, generator=torch.Generator().manual_seed(5))
    row["gflop"] = gflop(net, x)
    torch.set_num_threads(args.threads)
    with torch.no_grad():
        ref = net(x).numpy()
        if "torch" not in args.skip_peer:
            row["torch"] = timed(lambda: net(x), args.runs)
    d = tempfile.mkdtemp(dir=tmp)
    spec_path, weights, xin, yout = (os.path.join(d, n) for n in ("net.json", "model.pt", "x.npy", "y.npy"))
    json.dump(spec, open(spec_path, "w"))
    torch.save(net.state_dict(), weights)
    np.save(xin, x.numpy())
    onnx_path = os.path.join(d, "net.onnx")
    if not {"onnxruntime", "openvino"} <= set(args.skip_peer):
        torch.onnx.export(net, x, onnx_path, opset_version=17, dynamo=False)
    if "onnxruntime" not in args.skip_peer:
        import onnxruntime as ort
        so = ort.SessionOptions(); so.intra_op_num_threads = args.threads; so.inter_op_num_threads = 1
        sess = ort.InferenceSession(onnx_path, so, providers=["CPUExecutionProvider"])
        name = sess.get_inputs()[0].name
        xn = x.numpy()
        row["onnxruntime"] = timed(lambda: sess.run(None, {name: xn}), args.runs)
    if "openvino" not in args.skip_peer:
        import openvino as ov
        core = ov.Core()
        # f32 explicitly: on CPUs with AVX512-BF16 OpenVINO otherwise runs bf16, which is not the same arithmetic.
        config = {"INFERENCE_NUM_THREADS": args.threads, "INFERENCE_PRECISION_HINT": args.openvino_precision}
        compiled = core.compile_model(onnx_path, "CPU", config)
        req = compiled.create_infer_request()
        xn = x.numpy()
        row["openvino"] = timed(lambda: req.infer({0: xn}), args.runs)
    env = dict(os.environ, LUMEN_THREADS=str(args.threads))
    if not os.path.exists(args.lumen):
        row["lumen_error"] = f"{args.lumen} not built"
        return row
    out = subprocess.run([args.lumen, "bench", "--network", spec_path, "--weights", weights, "--shape",
                          ",".join(map(str, shape)), "--runs", str(args.runs), "--json"],
                         capture_output=True, text=True, env=env)
    if out.returncode != 0:
        row["lumen_error"] = out.stderr.strip()[-200:]
        return row
    result = json.loads(out.stdout.strip().splitlines()[-1])
    row["lumen"] = result["median_s"]
    row["lumen_peak_rss_mib"] = result["peak_rss_bytes"] / 2**20
    fwd = subprocess.run([args.lumen, "forward", "--network", spec_path, "--weights", weights, "--input", xin,
                          "--output", yout], capture_output=True, text=True, env=env)
    if fwd.returncode == 0:
        y = np.load(yout)
        row["max_abs_diff"] = float(np.abs(y - ref).max())
        row["ref_max"] = float(np.abs(ref).max())
    else:
        row["lumen_error"] = fwd.stderr.strip()[-200:]
    return row


def table(rows):
    peers = ["torch", "onnxruntime", "openvino"]
    head = "| network (input) | GFLOP | Lumen s | PyTorch s | ONNX Runtime s | OpenVINO s | Lumen GFLOP/s | Lumen/PyTorch | Lumen/ORT | Lumen/OpenVINO | max abs diff | Lumen peak RSS |"
    lines = [head, "|" + "---|" * head.count("|")[:-1] if False else "|" + "---|" * (head.count("|") - 1)]
    for r in rows:
        lum = r.get("lumen")
        def f(k):
            return f"{r[k]:.3f}" if k in r else "n/a"
        ratios = [f"{lum / r[p]:.2f}" if lum and p in r else "n/a" for p in peers]
        lines.append("| {} ({}) | {:.1f} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |".format(
            r["network"], "×".join(map(str, r["shape"])), r["gflop"], f("lumen") if lum else "n/a (" + r.get("lumen_error", "?") + ")",
            f("torch"), f("onnxruntime"), f("openvino"), f"{r['gflop'] / lum:.1f}" if lum else "n/a", *ratios,
            f"{r['max_abs_diff']:.1e} (of {r['ref_max']:.2f})" if "max_abs_diff" in r else "n/a",
            f"{r['lumen_peak_rss_mib']:.0f} MiB" if "lumen_peak_rss_mib" in r else "n/a"))
    return "\n".join(lines)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rows", default="all", choices=["anchors", "served", "all"])
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--lumen", default=".build/release/lumen")
    p.add_argument("--skip-peer", action="append", default=[], choices=["torch", "onnxruntime", "openvino"])
    p.add_argument("--openvino-precision", default="f32", choices=["f32", "bf16"])
    p.add_argument("--markdown")
    p.add_argument("--json")
    args = p.parse_args()
    selected = ROWS["anchors"] + ROWS["served"] if args.rows == "all" else ROWS[args.rows]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for label, spec, shape in selected:
            print(f"… {label}", file=sys.stderr, flush=True)
            rows.append(run_row(label, spec, shape, args, tmp))
    text = table(rows)
    print(text)
    if args.markdown:
        open(args.markdown, "w").write(text + "\n")
    if args.json:
        json.dump(rows, open(args.json, "w"), indent=1)


if __name__ == "__main__":
    main()
