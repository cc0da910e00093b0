#!/usr/bin/env python3
"""Lumen against PyTorch, ONNX Runtime and OpenVINO, side by side in one run.

Every row's network is built in MONAI 1.6.1 with random weights and non-trivial
norm statistics, saved as model.pt + net.json + x.npy in a temp dir, exported to
ONNX (opset 17, TorchScript exporter), and then timed in each runtime, never
concurrently, each limited to --threads threads:

  PyTorch           torch.set_num_threads(N), torch.inference_mode()
  ONNX Runtime      CPUExecutionProvider, intra_op_num_threads=N
  OpenVINO f32      compile_model(onnx, "CPU", INFERENCE_NUM_THREADS=N,
                    INFERENCE_PRECISION_HINT=f32): the same arithmetic as the
                    other columns, so the Lumen/OpenVINO ratio uses this one
  OpenVINO default  compile_model(onnx, "CPU", INFERENCE_NUM_THREADS=N) with no
                    precision hint: what OpenVINO picks by itself (bf16 on CPUs
                    with AVX512-BF16 or AMX); the precision it chose, read back
                    with get_property("INFERENCE_PRECISION_HINT"), is reported
  Lumen             lumen bench --network net.json --weights model.pt
                          --shape 1,1,96,96,96 --runs 1 --json   (LUMEN_THREADS=N)

Rounds. Per row the network, the reference output, the ONNX export, the ONNX
Runtime session and both OpenVINO compiled models are made once and every
in-process runtime is warmed up with one untimed call. Then --rounds rounds
(default 5) each time ONE call of every runtime, one after the other, and the
order rotates every round (round r starts with the r mod k-th of the k
runtimes), so that no runtime always runs first or last, right after a
particular neighbour, or only in a quiet or busy stretch of the machine. Lumen
runs one `lumen bench --runs 1` subprocess per round, which does its own
warm-up; its reported seconds (not the subprocess's wall time) are used. Each
cell is "median (min–max)" over the rounds; ratios use the medians. The load
average is sampled before and after every row and after every round.

`lumen forward` runs once per row and its output is compared with PyTorch's
(max abs diff; "ok" means |a-b| <= 1e-4 + 1e-4|b| everywhere, the tolerance
of docs/networks.md). The peers' own agreement with PyTorch is in the second
table (bf16 in "OpenVINO default" is expected to be over that tolerance).

GFLOP convention: 2 x multiply-adds of every Conv and ConvTranspose layer,
counted with forward hooks in PyTorch (norms, activations, pooling, additions
and upsampling are not counted). The same count divides every runtime's time,
so GFLOP/s columns are comparable across runtimes.

Ratios are Lumen's time / the peer's time: below 1 means Lumen is faster.
If Lumen is missing or fails, the peers are still measured and Lumen's cells
read "n/a (reason)". A runtime that fails in any round is reported as n/a for
the row (a median over fewer rounds would not be comparable).

Usage:
  scripts/env/setup_bench_python
  .venv-bench/bin/python scripts/bench/bench_peers.py [--rows anchors|families|served|all]
      [--rounds 5] [--threads 2] [--lumen .build/release/lumen]
      [--skip-peer torch|onnxruntime|openvino|openvino-f32|openvino-default|lumen ...]
      [--match TEXT] [--markdown FILE] [--json FILE] [--keep DIR]
"""
import argparse
import datetime
import gc
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import warnings

import numpy as np
import torch
from monai.networks import nets

PEERS = ["torch", "onnxruntime", "openvino", "openvino_default"]
RUNTIMES = ["lumen"] + PEERS
# The Lumen/peer ratio columns: OpenVINO's f32 column only, the same arithmetic.
RATIO_PEERS = ["torch", "onnxruntime", "openvino"]
TITLES = {"lumen": "Lumen", "torch": "PyTorch", "onnxruntime": "ONNX Runtime",
          "openvino": "OpenVINO f32", "openvino_default": "OpenVINO default"}
# --skip-peer names: "openvino" skips both OpenVINO columns.
SKIP_NAMES = {"lumen": ["lumen"], "torch": ["torch"], "pytorch": ["torch"],
              "onnxruntime": ["onnxruntime"], "ort": ["onnxruntime"],
              "openvino": ["openvino", "openvino_default"], "ov": ["openvino", "openvino_default"],
              "openvino-f32": ["openvino"], "openvino_f32": ["openvino"],
              "openvino-default": ["openvino_default"], "openvino_default": ["openvino_default"]}

UNET_16_128 = {"channels": [16, 32, 64, 128], "strides": [2, 2, 2], "num_res_units": 2, "norm": "batch"}

# (group, label, net.json, input shape). The anchors are exactly those of
# /work/shared/docs/anchors.md; the families rows cover the network families
# the anchors leave out (DynUNet, a 2-D UNet). The served rows are every bundled model, with the
# network of mmar/<name>/config/config_train.json and the input of
# config_aiaa.json: the sliding-window roi ("roi" in inference.AIAA.args) for
# the segmentation bundles, the Resized spatial_size for the interactive ones
# (deepgrow 3D: 64³, DExtr3D: 64³, deepgrow 2D: 128², one window each).
ROWS = [
    ("anchors", "UNet (16,32,64,128,256) s2 res2 batch",
     {"name": "UNet", "args": {"spatial_dims": 3, "in_channels": 1, "out_channels": 2,
                               "channels": [16, 32, 64, 128, 256], "strides": [2, 2, 2, 2],
                               "num_res_units": 2, "norm": "batch"}},
     [1, 1, 96, 96, 96]),
    ("anchors", "BasicUNet (32,64,128,256,512,32) 3→1",
     {"name": "BasicUNet", "args": {"spatial_dims": 3, "in_channels": 3, "out_channels": 1,
                                    "features": [32, 64, 128, 256, 512, 32]}},
     [1, 3, 64, 96, 96]),
    ("anchors", "SegResNet 32 (1,2,2,4) 105 classes",
     {"name": "SegResNet", "args": {"spatial_dims": 3, "init_filters": 32, "in_channels": 1,
                                    "out_channels": 105, "blocks_down": [1, 2, 2, 4],
                                    "blocks_up": [1, 1, 1]}},
     [1, 1, 64, 64, 64]),
    ("families", "DynUNet 3D k3×5 s(1,2,2,2,2)",
     {"name": "DynUNet", "args": {"spatial_dims": 3, "in_channels": 1, "out_channels": 2,
                                  "kernel_size": [3, 3, 3, 3, 3], "strides": [1, 2, 2, 2, 2],
                                  "upsample_kernel_size": [2, 2, 2, 2]}},
     [1, 1, 96, 96, 96]),
    ("families", "UNet 2D (16,32,64,128,256) s2 res2 batch",
     {"name": "UNet", "args": {"spatial_dims": 2, "in_channels": 1, "out_channels": 2,
                               "channels": [16, 32, 64, 128, 256], "strides": [2, 2, 2, 2],
                               "num_res_units": 2, "norm": "batch"}},
     [1, 1, 256, 256]),
    ("served", "abdominal_organs: UNet 3D (16,32,64,128) s2 res2 batch 1→7, roi",
     {"name": "UNet", "args": {"spatial_dims": 3, "in_channels": 1, "out_channels": 7, **UNET_16_128}},
     [1, 1, 96, 96, 64]),
    ("served", "bones: UNet 3D (16,32,64,128) s2 res2 batch 1→4, roi",
     {"name": "UNet", "args": {"spatial_dims": 3, "in_channels": 1, "out_channels": 4, **UNET_16_128}},
     [1, 1, 96, 96, 64]),
    ("served", "hepatic_arteries: BasicUNet (8,8,16,32,64,8) 1→2, roi",
     {"name": "BasicUNet", "args": {"spatial_dims": 3, "in_channels": 1, "out_channels": 2,
                                    "features": [8, 8, 16, 32, 64, 8]}},
     [1, 1, 96, 96, 64]),
    ("served", "deepgrow 3D: UNet 3D (16,32,64,128) s2 res2 batch 3→1",
     {"name": "UNet", "args": {"spatial_dims": 3, "in_channels": 3, "out_channels": 1, **UNET_16_128}},
     [1, 3, 64, 64, 64]),
    ("served", "DExtr3D: UNet 3D (16,32,64,128) s2 res2 batch 2→1",
     {"name": "UNet", "args": {"spatial_dims": 3, "in_channels": 2, "out_channels": 1, **UNET_16_128}},
     [1, 2, 64, 64, 64]),
    ("served", "deepgrow 2D: UNet 2D (16,32,64,128) s2 res2 batch 3→1",
     {"name": "UNet", "args": {"spatial_dims": 2, "in_channels": 3, "out_channels": 1, **UNET_16_128}},
     [1, 3, 128, 128]),
]

NORMS = (torch.nn.modules.batchnorm._BatchNorm, torch.nn.modules.instancenorm._InstanceNorm,
         torch.nn.GroupNorm, torch.nn.LayerNorm)
CONVS = (torch.nn.Conv1d, torch.nn.Conv2d, torch.nn.Conv3d)
CONV_TS = (torch.nn.ConvTranspose1d, torch.nn.ConvTranspose2d, torch.nn.ConvTranspose3d)


def build(spec, seed):
    """MONAI's own init for convolutions, but norm layers randomised too:
    with identity BN (mean 0, var 1, γ 1, β 0) a runtime that skipped or
    mis-folded BatchNorm would still match PyTorch."""
    torch.manual_seed(seed)
    net = getattr(nets, spec["name"])(**spec["args"]).eval()
    g = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():
        for m in net.modules():
            if not isinstance(m, NORMS):
                continue
            if getattr(m, "weight", None) is not None:
                m.weight.copy_(1 + 0.2 * torch.randn(m.weight.shape, generator=g))
                m.bias.copy_(0.1 * torch.randn(m.bias.shape, generator=g))
            if getattr(m, "running_mean", None) is not None:
                m.running_mean.copy_(0.1 * torch.randn(m.running_mean.shape, generator=g))
                m.running_var.copy_(0.5 + torch.rand(m.running_var.shape, generator=g))
    return net


def count_gflop(net, x):
    macs = [0]

    def hook(m, inputs, out):
        if isinstance(m, CONV_TS):
            # Every input voxel scatters Cin·Cout/groups·k multiply-adds.
            inp = inputs[0]
            macs[0] += inp.numel() // inp.shape[1] * m.weight.numel()
        else:
            # Every output voxel gathers Cin/groups·k per output channel.
            macs[0] += out.numel() // out.shape[1] * m.weight.numel()

    hooks = [m.register_forward_hook(hook) for m in net.modules() if isinstance(m, CONVS + CONV_TS)]
    with torch.inference_mode():
        net(x)
    for h in hooks:
        h.remove()
    return 2 * macs[0] / 1e9


def timed_call(fn):
    """Wall seconds of one call, plus the process's CPU seconds for it: on a
    shared machine the CPU time shows how much of a slow wall time was the
    runtime's own work and how much was waiting for a core."""
    gc.collect()  # not inside someone else's timed call
    c, t = time.process_time(), time.perf_counter()
    fn()
    return time.perf_counter() - t, time.process_time() - c


def check(out, ref):
    out = np.asarray(out, dtype=np.float32)
    if out.shape != ref.shape:
        return {"error": f"output shape {list(out.shape)} != PyTorch's {list(ref.shape)}"}
    diff = np.abs(out - ref)
    return {"max_abs_diff": float(diff.max()), "ref_max": float(np.abs(ref).max()),
            "ok": bool((diff <= 1e-4 + 1e-4 * np.abs(ref)).all())}


def short(text, limit=90):
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def last_line(stderr, stdout=""):
    lines = [l for l in (stderr or stdout or "").strip().splitlines() if l.strip()]
    return lines[-1] if lines else "no output"


def prepare_torch(net, x):
    def call():
        with torch.inference_mode():
            net(x)
    return call


def prepare_onnxruntime(onnx_path, xn, ref, args, row):
    import onnxruntime as ort
    so = ort.SessionOptions()
    so.intra_op_num_threads = args.threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    sess = ort.InferenceSession(onnx_path, so, providers=["CPUExecutionProvider"])
    name = sess.get_inputs()[0].name
    row["checks"]["onnxruntime"] = check(sess.run(None, {name: xn})[0], ref)
    return lambda: sess.run(None, {name: xn})


def precision_name(value):
    """OpenVINO answers with an ov.Type (bf16, f32, f16); older builds with a string."""
    for attr in ("get_type_name", "to_string"):
        if hasattr(value, attr):
            return str(getattr(value, attr)())
    return str(value)


def prepare_openvino(onnx_path, xn, ref, args, row, key, precision):
    """precision "f32": the hint set explicitly, since on CPUs with AVX512-BF16
    or AMX OpenVINO would otherwise run bf16, different (and cheaper) arithmetic
    than every other column. precision None: OpenVINO's own choice."""
    import openvino as ov
    config = {"INFERENCE_NUM_THREADS": args.threads}
    if precision:
        config["INFERENCE_PRECISION_HINT"] = precision
    compiled = ov.Core().compile_model(onnx_path, "CPU", config)
    try:
        row["openvino_precision"][key] = precision_name(compiled.get_property("INFERENCE_PRECISION_HINT"))
    except Exception as e:
        row["openvino_precision"][key] = precision or f"unknown ({type(e).__name__})"
    req = compiled.create_infer_request()
    row["checks"][key] = check(req.infer({0: xn})[0], ref)
    return lambda: req.infer({0: xn})


class LumenFailure(Exception):
    pass


def lumen_missing(lumen):
    return shutil.which(lumen) is None and not os.access(lumen, os.X_OK)


def lumen_env(args):
    return dict(os.environ, LUMEN_THREADS=str(args.threads))


def lumen_bench_once(paths, shape, args, row):
    """One `lumen bench --runs 1` subprocess (it warms up by itself): the
    engine's own seconds for its one timed call, not the subprocess's wall time,
    which includes loading the weights and the warm-up."""
    cmd = [args.lumen, "bench", "--network", paths["net"], "--weights", paths["weights"],
           "--shape", ",".join(map(str, shape)), "--runs", "1", "--json"]
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, env=lumen_env(args), timeout=args.lumen_timeout)
    except subprocess.TimeoutExpired:
        raise LumenFailure(f"bench timed out after {args.lumen_timeout} s")
    except OSError as e:
        raise LumenFailure(f"cannot run {args.lumen}: {e}")
    if out.returncode != 0:
        raise LumenFailure(f"bench exit {out.returncode}: {last_line(out.stderr, out.stdout)}")
    try:
        objects = [l for l in out.stdout.strip().splitlines() if l.lstrip().startswith("{")]
        if not objects:
            raise ValueError(f"bench printed no JSON object: {last_line(out.stdout)}")
        result = json.loads(objects[-1])
        if "median_s" in result:
            seconds = float(result["median_s"])
        elif isinstance(result.get("seconds"), list) and result["seconds"]:
            seconds = float(result["seconds"][0])
        else:
            raise ValueError("bench JSON has neither median_s nor seconds")
        cpu = result.get("cpu_seconds")  # optional in the bench contract
        cpu = float(cpu[0]) if isinstance(cpu, list) and cpu else None
    except (ValueError, TypeError, KeyError) as e:
        raise LumenFailure(f"bench output unreadable: {e}")
    if not row["lumen_results"]:
        their = result.get("gflop")
        if isinstance(their, (int, float)) and abs(their - row["gflop"]) > 0.02 * row["gflop"]:
            print(f"    note: lumen counts {their:.1f} GFLOP, this script {row['gflop']:.1f}; "
                  "GFLOP/s columns use this script's count", file=sys.stderr)
    row["lumen_results"].append(result)
    return seconds, cpu


def lumen_forward(paths, ref, args, row):
    """The parity check, once per row."""
    if os.path.exists(paths["y"]):
        os.remove(paths["y"])  # with --keep, a stale y.npy must not pass for this run's output
    try:
        fwd = subprocess.run([args.lumen, "forward", "--network", paths["net"], "--weights", paths["weights"],
                              "--input", paths["x"], "--output", paths["y"]],
                             capture_output=True, text=True, env=lumen_env(args), timeout=args.lumen_timeout)
        if fwd.returncode != 0:
            row["errors"]["lumen_forward"] = f"forward exit {fwd.returncode}: {last_line(fwd.stderr, fwd.stdout)}"
            return
        result = check(np.load(paths["y"]), ref)
        if "error" in result:
            row["errors"]["lumen_forward"] = result["error"]
        else:
            row["checks"]["lumen"] = result
    except subprocess.TimeoutExpired:
        row["errors"]["lumen_forward"] = f"forward timed out after {args.lumen_timeout} s"
    except (ValueError, OSError) as e:
        row["errors"]["lumen_forward"] = f"forward failed: {e}"


def rotation(names, r):
    """Round r (1-based) starts with the (r mod k)-th of the k runtimes."""
    k = len(names)
    return names[r % k:] + names[:r % k] if k else []


def run_row(index, group, label, spec, shape, args, workdir):
    row = {"group": group, "network": label, "spec": spec, "shape": shape, "rounds": args.rounds,
           "seconds": {}, "cpu_seconds": {}, "median_s": {}, "min_s": {}, "max_s": {},
           "errors": {}, "checks": {}, "openvino_precision": {}, "order": [], "lumen_results": [],
           "loadavg_before": os.getloadavg(), "loadavg_rounds": []}
    net = build(spec, seed=100 + index)
    x = torch.randn(shape, generator=torch.Generator().manual_seed(200 + index))
    row["gflop"] = count_gflop(net, x)
    with torch.inference_mode():
        ref = net(x).numpy()
    xn = np.ascontiguousarray(x.numpy())
    d = os.path.join(workdir, f"{index}-{spec['name']}")
    os.makedirs(d, exist_ok=True)
    paths = {k: os.path.join(d, n) for k, n in
             (("net", "net.json"), ("weights", "model.pt"), ("x", "x.npy"), ("y", "y.npy"), ("onnx", "net.onnx"))}
    with open(paths["net"], "w") as f:
        json.dump(spec, f)
    torch.save(net.state_dict(), paths["weights"])
    np.save(paths["x"], xn)

    # Everything is built once per row; `calls` maps a runtime to one call
    # returning (wall seconds, CPU seconds or None).
    calls = {}

    def prepare(name, make):
        if name in args.skip_peer:
            row["errors"][name] = "skipped"
        elif name not in row["errors"]:  # e.g. the ONNX export already failed
            try:
                fn = make()
            except Exception as e:  # a peer that cannot run this network must not sink the others
                row["errors"][name] = short(f"{type(e).__name__}: {e}")
            else:
                calls[name] = (lambda: timed_call(fn)) if name != "lumen" else fn
            gc.collect()
        if name in row["errors"]:
            print(f"    {TITLES[name]:<16} {row['errors'][name]}", file=sys.stderr, flush=True)

    prepare("torch", lambda: prepare_torch(net, x))
    onnx_users = [n for n in ("onnxruntime", "openvino", "openvino_default") if n not in args.skip_peer]
    if onnx_users:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                torch.onnx.export(net, (x,), paths["onnx"], opset_version=17, dynamo=False,
                                  input_names=["x"], output_names=["y"])
        except Exception as e:
            for name in onnx_users:
                row["errors"][name] = short(f"ONNX export failed: {type(e).__name__}: {e}")
    prepare("onnxruntime", lambda: prepare_onnxruntime(paths["onnx"], xn, ref, args, row))
    prepare("openvino", lambda: prepare_openvino(paths["onnx"], xn, ref, args, row, "openvino", "f32"))
    prepare("openvino_default", lambda: prepare_openvino(paths["onnx"], xn, ref, args, row, "openvino_default", None))
    if "lumen" in args.skip_peer:
        row["errors"]["lumen_forward"] = "skipped"
    elif lumen_missing(args.lumen):
        row["errors"]["lumen"] = row["errors"]["lumen_forward"] = f"not built: {args.lumen}"
    else:
        lumen_forward(paths, ref, args, row)
    prepare("lumen", lambda: lambda: lumen_bench_once(paths, shape, args, row))
    if row["openvino_precision"]:
        print("    OpenVINO precision: " + ", ".join(f"{TITLES[k]} → {v}" for k, v in row["openvino_precision"].items()),
              file=sys.stderr, flush=True)

    # One untimed warm-up per in-process runtime: first calls allocate,
    # JIT-select kernels and fault pages in. Lumen's bench warms up by itself.
    for name in [n for n in PEERS if n in calls]:
        try:
            calls[name]()
        except Exception as e:
            row["errors"][name] = short(f"warm-up: {type(e).__name__}: {e}")
            del calls[name]

    names = [n for n in RUNTIMES if n in calls]
    times = {n: [] for n in names}
    cpus = {n: [] for n in names}
    for r in range(1, args.rounds + 1):
        order = [n for n in rotation(names, r) if n in calls]
        row["order"].append(order)
        done = []
        for name in order:
            try:
                wall, cpu = calls[name]()
            except Exception as e:
                msg = str(e) if isinstance(e, LumenFailure) else f"{type(e).__name__}: {e}"
                row["errors"][name] = short(f"round {r}: {msg}")
                del calls[name]
                continue
            times[name].append(wall)
            cpus[name].append(cpu)
            done.append(f"{TITLES[name]} {wall:.3f}")
        row["loadavg_rounds"].append(os.getloadavg())
        print(f"    round {r}/{args.rounds}: " + " · ".join(done), file=sys.stderr, flush=True)
    for name in names:
        if name not in calls:
            continue  # failed in some round: no median over fewer rounds
        row["seconds"][name] = times[name]
        row["median_s"][name] = statistics.median(times[name])
        row["min_s"][name] = min(times[name])
        row["max_s"][name] = max(times[name])
        if all(c is not None for c in cpus[name]):
            row["cpu_seconds"][name] = cpus[name]
    for name in RUNTIMES:
        if name in row["median_s"]:
            status = f"{row['median_s'][name]:.3f} s ({row['min_s'][name]:.3f}–{row['max_s'][name]:.3f})"
        else:
            status = row["errors"].get(name, "?")
        print(f"    {TITLES[name]:<16} {status}", file=sys.stderr, flush=True)
    del net, calls
    gc.collect()
    row["loadavg_after"] = os.getloadavg()
    return row


def md(text):
    return str(text).replace("|", "\\|")


def seconds_cell(r, name):
    if name not in r["median_s"]:
        return f"n/a ({md(short(r['errors'].get(name, '?'), 80))})"
    return f"{r['median_s'][name]:.3f} ({r['min_s'][name]:.3f}–{r['max_s'][name]:.3f})"


def default_precision(rows):
    seen = sorted({r["openvino_precision"]["openvino_default"] for r in rows
                   if "openvino_default" in r.get("openvino_precision", {})})
    return "/".join(seen) if seen else None


def title(name, rows):
    if name == "openvino_default" and default_precision(rows):
        return f"{TITLES[name]} ({default_precision(rows)})"
    return TITLES[name]


def table(rows):
    head = (["network (input)", "GFLOP"] + [f"{title(r, rows)} s" for r in RUNTIMES]
            + [f"{title(r, rows)} GFLOP/s" for r in RUNTIMES]
            + [f"Lumen/{TITLES[p]}" for p in RATIO_PEERS] + ["Lumen max abs diff", "Lumen peak RSS"])
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        t = r["median_s"]
        lum = t.get("lumen")
        cells = [f"{r['network']} ({'×'.join(map(str, r['shape']))})", f"{r['gflop']:.1f}"]
        for name in RUNTIMES:
            cells.append(seconds_cell(r, name))
        for name in RUNTIMES:
            cells.append(f"{r['gflop'] / t[name]:.1f}" if name in t else "n/a")
        for p in RATIO_PEERS:
            cells.append(f"{lum / t[p]:.2f}" if lum is not None and p in t else "n/a")
        c = r["checks"].get("lumen")
        if c:
            cells.append(f"{c['max_abs_diff']:.1e} of {c['ref_max']:.2f} ({'ok' if c['ok'] else 'FAIL'})")
        else:
            cells.append(f"n/a ({md(short(r['errors'].get('lumen_forward', '?'), 80))})")
        results = r.get("lumen_results", [])
        rss = [res["peak_rss_bytes"] for res in results if isinstance(res.get("peak_rss_bytes"), (int, float))]
        plan = [res.get("planned_peak_bytes", res.get("plan_peak_bytes")) for res in results]
        plan = [p for p in plan if isinstance(p, (int, float))]
        if rss:
            cell = f"{max(rss) / 2**20:.0f} MiB"
            if plan:
                cell += f" (plan {max(plan) / 2**20:.0f} MiB)"
            cells.append(cell)
        else:
            cells.append("n/a")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def noise_table(rows):
    """CPU seconds per call change far less than wall seconds when other jobs
    compete for the cores, so they tell a busy machine from a slow runtime."""
    head = (["network", "load avg before → after (1/5/15 min)"]
            + [f"{title(r, rows)} CPU s/call (median)" for r in RUNTIMES]
            + [f"{title(p, rows)} max abs diff vs PyTorch" for p in PEERS[1:]])
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        load = " → ".join("/".join(f"{x:.1f}" for x in r[k]) for k in ("loadavg_before", "loadavg_after"))
        cells = [r["network"], load]
        for name in RUNTIMES:
            c = r["cpu_seconds"].get(name)
            cells.append(f"{statistics.median(c):.3f}" if c else "n/a")
        for p in PEERS[1:]:
            c = r["checks"].get(p)
            cells.append(f"{c['max_abs_diff']:.1e} of {c['ref_max']:.2f} ({'ok' if c['ok'] else 'over tol'})"
                         if c else "n/a")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def machine():
    info = {"python": platform.python_version(), "platform": platform.platform(),
            "cpus_usable": len(os.sched_getaffinity(0)), "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds")}
    try:
        lscpu = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        for line in lscpu.splitlines():
            key, _, value = line.partition(":")
            if key.strip() in ("Model name", "CPU(s)", "Core(s) per socket", "Thread(s) per core", "CPU family", "Model"):
                info[key.strip()] = value.strip()
        flags = next((l.split(":", 1)[1].split() for l in lscpu.splitlines() if l.startswith("Flags")), [])
        info["simd"] = [f for f in ("avx2", "fma", "avx512f", "avx512_bf16", "amx_tile") if f in flags]
    except OSError:
        pass
    versions = {"torch": torch.__version__}
    import monai
    versions["monai"] = monai.__version__
    for mod in ("onnx", "onnxruntime", "openvino", "numpy"):
        try:
            versions[mod] = __import__(mod).__version__
        except Exception as e:
            versions[mod] = f"unavailable ({type(e).__name__})"
    info["versions"] = versions
    return info


def load_range(rows):
    """The 1-minute load average's range over every sample of the run."""
    samples = [s[0] for r in rows for s in [r["loadavg_before"], *r["loadavg_rounds"], r["loadavg_after"]]]
    return (min(samples), max(samples)) if samples else None


def header(info, args, rows=None):
    v = info["versions"]
    text = (f"{info['date']} · {info.get('Model name', '?')} (family {info.get('CPU family', '?')}, "
            f"{info['cpus_usable']} usable CPUs, {'/'.join(info.get('simd', []))}) · "
            f"{args.threads} threads each · median (min–max) of {args.rounds} alternating rounds, "
            f"one call per runtime per round after a warm-up")
    if rows:
        lo, hi = load_range(rows)
        text += f" · load average (1 min) {lo:.1f}–{hi:.1f} over the run"
    chosen = default_precision(rows or [])
    return (text + f" · PyTorch {v['torch']}, MONAI {v['monai']}, ONNX Runtime {v['onnxruntime']}, "
            f"OpenVINO {v['openvino']} (f32, and its default" + (f": {chosen}" if chosen else "") + ")")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rows", default="all", choices=["anchors", "families", "served", "all"])
    p.add_argument("--rounds", type=int, default=5,
                   help="alternating rounds per row, one timed call of every runtime each (default 5)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--lumen", default=".build/release/lumen")
    p.add_argument("--lumen-timeout", type=int, default=1800, help="seconds per lumen subprocess")
    p.add_argument("--skip-peer", action="append", default=[], metavar="NAME",
                   help="torch|onnxruntime|openvino|openvino-f32|openvino-default|lumen (repeatable; "
                        "pytorch, ort, ov also accepted; openvino skips both OpenVINO columns)")
    p.add_argument("--markdown", metavar="FILE", help="write the header line and tables as Markdown")
    p.add_argument("--json", metavar="FILE", help="write every per-round time, check and error as JSON")
    p.add_argument("--match", metavar="TEXT", help="only rows whose label contains TEXT (case-insensitive)")
    p.add_argument("--keep", metavar="DIR", help="keep net.json/model.pt/x.npy/net.onnx per row in DIR")
    args = p.parse_args()
    if args.rounds < 1 or args.threads < 1:
        p.error("--rounds and --threads must be at least 1")
    skip = []
    for name in args.skip_peer:
        if name.lower() not in SKIP_NAMES:
            p.error(f"--skip-peer {name!r}: expected one of torch, onnxruntime, openvino, "
                    "openvino-f32, openvino-default, lumen")
        skip += [n for n in SKIP_NAMES[name.lower()] if n not in skip]
    args.skip_peer = skip

    torch.set_num_threads(args.threads)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass  # already fixed by an earlier parallel call; intra-op threads are what matter
    info = machine()
    print(header(info, args), file=sys.stderr, flush=True)
    selected = [r for r in ROWS if args.rows in ("all", r[0])
                and (not args.match or args.match.lower() in r[1].lower())]
    if not selected:
        p.error(f"no row matches --rows {args.rows} --match {args.match!r}")
    rows = []
    workdir = args.keep or tempfile.mkdtemp(prefix="lumen-bench-")
    try:
        for i, (group, label, spec, shape) in enumerate(selected):
            print(f"… {label} {'×'.join(map(str, shape))}", file=sys.stderr, flush=True)
            rows.append(run_row(i, group, label, spec, shape, args, workdir))
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    top = header(info, args, rows)
    text = table(rows)
    noise = noise_table(rows)
    print(top + "\n\n" + text + "\n\n" + noise)
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(top + "\n\n" + text + "\n\n" + noise + "\n")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"machine": info, "threads": args.threads, "rounds": args.rounds,
                       "load_average_1min_range": load_range(rows),
                       "openvino_precision": {"openvino": "f32 (hint)",
                                              "openvino_default": default_precision(rows)},
                       "rows": rows}, f, indent=1)


if __name__ == "__main__":
    main()
