#!/usr/bin/env python3
"""Lumen against PyTorch, ONNX Runtime and OpenVINO, side by side in one run.

Every row's network is built in MONAI 1.6.1 with random weights and non-trivial
norm statistics, saved as model.pt + net.json + x.npy in a temp dir, exported to
ONNX (opset 17, TorchScript exporter), and then timed in each runtime one after
the other, never concurrently, each limited to --threads threads:

  PyTorch       torch.set_num_threads(N), torch.inference_mode()
  ONNX Runtime  CPUExecutionProvider, intra_op_num_threads=N
  OpenVINO      compile_model(onnx, "CPU", INFERENCE_NUM_THREADS=N,
                INFERENCE_PRECISION_HINT=f32)
  Lumen         lumen bench --network net.json --weights model.pt
                      --shape 1,1,96,96,96 --runs R --json   (LUMEN_THREADS=N)

Seconds are the median of --runs timed calls after one untimed warm-up (Lumen
does its own warm-up). `lumen forward` runs once per row and its output is
compared with PyTorch's (max abs diff; "ok" means |a-b| <= 1e-4 + 1e-4|b|
everywhere, the tolerance of docs/networks.md).

GFLOP convention: 2 x multiply-adds of every Conv and ConvTranspose layer,
counted with forward hooks in PyTorch (norms, activations, pooling, additions
and upsampling are not counted). The same count divides every runtime's time,
so GFLOP/s columns are comparable across runtimes.

Ratios are Lumen's time / the peer's time: below 1 means Lumen is faster.
If Lumen is missing or fails, the peers are still measured and Lumen's cells
read "n/a (reason)".

Usage:
  scripts/env/setup_bench_python
  .venv-bench/bin/python scripts/bench/bench_peers.py [--rows anchors|served|all]
      [--runs 3] [--threads 2] [--lumen .build/release/lumen]
      [--skip-peer torch|onnxruntime|openvino|lumen ...]
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

PEERS = ["torch", "onnxruntime", "openvino"]
TITLES = {"lumen": "Lumen", "torch": "PyTorch", "onnxruntime": "ONNX Runtime", "openvino": "OpenVINO"}
ALIASES = {"pytorch": "torch", "ort": "onnxruntime", "ov": "openvino"}

# (group, label, net.json, input shape). The anchors are exactly those of
# /work/shared/docs/anchors.md; the served rows are the shapes Lumen serves
# per request (deepgrow's full 3x128x192x192 BasicUNet is left out: too slow
# for three runtimes x several runs on two cores).
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
    ("served", "UNet 3D (16,32,64,128) s2 res2 batch",
     {"name": "UNet", "args": {"spatial_dims": 3, "in_channels": 1, "out_channels": 7,
                               "channels": [16, 32, 64, 128], "strides": [2, 2, 2],
                               "num_res_units": 2, "norm": "batch"}},
     [1, 1, 96, 96, 96]),
    ("served", "DynUNet 3D k3×5 s(1,2,2,2,2)",
     {"name": "DynUNet", "args": {"spatial_dims": 3, "in_channels": 1, "out_channels": 2,
                                  "kernel_size": [3, 3, 3, 3, 3], "strides": [1, 2, 2, 2, 2],
                                  "upsample_kernel_size": [2, 2, 2, 2]}},
     [1, 1, 96, 96, 96]),
    ("served", "UNet 2D (16,32,64,128,256) s2 res2 batch",
     {"name": "UNet", "args": {"spatial_dims": 2, "in_channels": 1, "out_channels": 2,
                               "channels": [16, 32, 64, 128, 256], "strides": [2, 2, 2, 2],
                               "num_res_units": 2, "norm": "batch"}},
     [1, 1, 256, 256]),
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


def timed(fn, runs):
    """Wall seconds per call, plus the process's CPU seconds per call: on a
    shared machine the CPU time shows how much of a slow wall time was the
    runtime's own work and how much was waiting for a core."""
    fn()  # warm-up: first calls allocate, JIT-select kernels and fault pages in
    walls, cpus = [], []
    for _ in range(runs):
        c, t = time.process_time(), time.perf_counter()
        fn()
        walls.append(time.perf_counter() - t)
        cpus.append(time.process_time() - c)
    return walls, cpus


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


def run_torch(net, x, args):
    with torch.inference_mode():
        return timed(lambda: net(x), args.runs)


def run_onnxruntime(onnx_path, xn, ref, args, row):
    import onnxruntime as ort
    so = ort.SessionOptions()
    so.intra_op_num_threads = args.threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    sess = ort.InferenceSession(onnx_path, so, providers=["CPUExecutionProvider"])
    name = sess.get_inputs()[0].name
    row["checks"]["onnxruntime"] = check(sess.run(None, {name: xn})[0], ref)
    return timed(lambda: sess.run(None, {name: xn}), args.runs)


def run_openvino(onnx_path, xn, ref, args, row):
    import openvino as ov
    core = ov.Core()
    # f32 explicitly: on CPUs with AVX512-BF16 or AMX OpenVINO would otherwise
    # run bf16, which is different (and cheaper) arithmetic than every other column.
    config = {"INFERENCE_NUM_THREADS": args.threads, "INFERENCE_PRECISION_HINT": args.openvino_precision}
    compiled = core.compile_model(onnx_path, "CPU", config)
    req = compiled.create_infer_request()
    row["checks"]["openvino"] = check(req.infer({0: xn})[0], ref)
    return timed(lambda: req.infer({0: xn}), args.runs)


def run_lumen(paths, shape, ref, args, row):
    env = dict(os.environ, LUMEN_THREADS=str(args.threads))
    lumen = args.lumen
    if shutil.which(lumen) is None and not os.access(lumen, os.X_OK):
        row["errors"]["lumen"] = f"not built: {lumen}"
        row["errors"]["lumen_forward"] = f"not built: {lumen}"
        return
    cmd = [lumen, "bench", "--network", paths["net"], "--weights", paths["weights"],
           "--shape", ",".join(map(str, shape)), "--runs", str(args.runs), "--json"]
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=args.lumen_timeout)
        if out.returncode != 0:
            row["errors"]["lumen"] = f"bench exit {out.returncode}: {last_line(out.stderr, out.stdout)}"
        else:
            objects = [l for l in out.stdout.strip().splitlines() if l.lstrip().startswith("{")]
            if not objects:
                raise ValueError(f"bench printed no JSON object: {last_line(out.stdout)}")
            result = json.loads(objects[-1])
            missing = [k for k in ("median_s", "seconds") if k not in result]
            if missing:
                raise ValueError(f"bench JSON lacks {', '.join(missing)}")
            row["lumen_result"] = result
            row["seconds"]["lumen"] = [float(t) for t in result["seconds"]]
            row["median_s"]["lumen"] = float(result["median_s"])
            if isinstance(result.get("cpu_seconds"), list):  # optional in the bench contract
                row["cpu_seconds"]["lumen"] = [float(t) for t in result["cpu_seconds"]]
            their = result.get("gflop")
            if isinstance(their, (int, float)) and abs(their - row["gflop"]) > 0.02 * row["gflop"]:
                print(f"    note: lumen counts {their:.1f} GFLOP, this script {row['gflop']:.1f}; "
                      "GFLOP/s columns use this script's count", file=sys.stderr)
    except subprocess.TimeoutExpired:
        row["errors"]["lumen"] = f"bench timed out after {args.lumen_timeout} s"
    except (ValueError, TypeError, KeyError) as e:
        row["errors"]["lumen"] = f"bench output unreadable: {e}"
    except OSError as e:
        row["errors"]["lumen"] = f"cannot run {lumen}: {e}"
    if os.path.exists(paths["y"]):
        os.remove(paths["y"])  # with --keep, a stale y.npy must not pass for this run's output
    try:
        fwd = subprocess.run([lumen, "forward", "--network", paths["net"], "--weights", paths["weights"],
                              "--input", paths["x"], "--output", paths["y"]],
                             capture_output=True, text=True, env=env, timeout=args.lumen_timeout)
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


def run_row(index, group, label, spec, shape, args, workdir):
    row = {"group": group, "network": label, "spec": spec, "shape": shape, "seconds": {}, "cpu_seconds": {}, "median_s": {},
           "errors": {}, "checks": {}, "loadavg_before": os.getloadavg()}
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

    def attempt(name, fn):
        if name in args.skip_peer:
            row["errors"][name] = "skipped"
            return
        try:
            times, cpus = fn()
        except Exception as e:  # a peer that cannot run this network must not sink the others
            row["errors"][name] = short(f"{type(e).__name__}: {e}")
        else:
            row["seconds"][name] = times
            row["cpu_seconds"][name] = cpus
            row["median_s"][name] = statistics.median(times)
        finally:
            gc.collect()
        status = f"{row['median_s'][name]:.3f} s" if name in row["median_s"] else row["errors"][name]
        print(f"    {TITLES[name]:<13} {status}", file=sys.stderr, flush=True)

    attempt("torch", lambda: run_torch(net, x, args))
    if not {"onnxruntime", "openvino"} <= set(args.skip_peer):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                torch.onnx.export(net, (x,), paths["onnx"], opset_version=17, dynamo=False,
                                  input_names=["x"], output_names=["y"])
        except Exception as e:
            reason = short(f"ONNX export failed: {type(e).__name__}: {e}")
            for name in ("onnxruntime", "openvino"):
                if name not in args.skip_peer:
                    row["errors"][name] = reason
    for name, fn in (("onnxruntime", lambda: run_onnxruntime(paths["onnx"], xn, ref, args, row)),
                     ("openvino", lambda: run_openvino(paths["onnx"], xn, ref, args, row))):
        if name in row["errors"]:
            print(f"    {TITLES[name]:<13} {row['errors'][name]}", file=sys.stderr, flush=True)
        else:
            attempt(name, fn)
    del net
    gc.collect()
    if "lumen" in args.skip_peer:
        row["errors"]["lumen"] = row["errors"]["lumen_forward"] = "skipped"
    else:
        run_lumen(paths, shape, ref, args, row)
    status = f"{row['median_s']['lumen']:.3f} s" if "lumen" in row["median_s"] else row["errors"]["lumen"]
    print(f"    {'Lumen':<13} {status}", file=sys.stderr, flush=True)
    row["loadavg_after"] = os.getloadavg()
    return row


def md(text):
    return str(text).replace("|", "\\|")


def table(rows):
    runtimes = ["lumen"] + PEERS
    head = (["network (input)", "GFLOP"] + [f"{TITLES[r]} s" for r in runtimes]
            + [f"{TITLES[r]} GFLOP/s" for r in runtimes]
            + [f"Lumen/{TITLES[p]}" for p in PEERS] + ["Lumen max abs diff", "Lumen peak RSS"])
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        t = r["median_s"]
        lum = t.get("lumen")
        cells = [f"{r['network']} ({'×'.join(map(str, r['shape']))})", f"{r['gflop']:.1f}"]
        for name in runtimes:
            cells.append(f"{t[name]:.3f}" if name in t else f"n/a ({md(short(r['errors'].get(name, '?'), 80))})")
        for name in runtimes:
            cells.append(f"{r['gflop'] / t[name]:.1f}" if name in t else "n/a")
        for p in PEERS:
            cells.append(f"{lum / t[p]:.2f}" if lum is not None and p in t else "n/a")
        c = r["checks"].get("lumen")
        if c:
            cells.append(f"{c['max_abs_diff']:.1e} of {c['ref_max']:.2f} ({'ok' if c['ok'] else 'FAIL'})")
        else:
            cells.append(f"n/a ({md(short(r['errors'].get('lumen_forward', '?'), 80))})")
        res = r.get("lumen_result", {})
        if "peak_rss_bytes" in res:
            rss = f"{res['peak_rss_bytes'] / 2**20:.0f} MiB"
            if "plan_peak_bytes" in res:
                rss += f" (plan {res['plan_peak_bytes'] / 2**20:.0f} MiB)"
            cells.append(rss)
        else:
            cells.append("n/a")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def noise_table(rows):
    """CPU seconds per call change far less than wall seconds when other jobs
    compete for the cores, so they tell a busy machine from a slow runtime."""
    runtimes = ["lumen"] + PEERS
    head = (["network", "load avg before (1/5/15 min)"] + [f"{TITLES[r]} CPU s/call" for r in runtimes]
            + [f"{TITLES[p]} max abs diff vs PyTorch" for p in PEERS[1:]])
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        cells = [r["network"], "/".join(f"{x:.1f}" for x in r["loadavg_before"])]
        for name in runtimes:
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


def header(info, args):
    v = info["versions"]
    return (f"{info['date']} · {info.get('Model name', '?')} (family {info.get('CPU family', '?')}, "
            f"{info['cpus_usable']} usable CPUs, {'/'.join(info.get('simd', []))}) · "
            f"{args.threads} threads each · median of {args.runs} after a warm-up · "
            f"PyTorch {v['torch']}, MONAI {v['monai']}, ONNX Runtime {v['onnxruntime']}, "
            f"OpenVINO {v['openvino']} ({args.openvino_precision})")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rows", default="all", choices=["anchors", "served", "all"])
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--lumen", default=".build/release/lumen")
    p.add_argument("--lumen-timeout", type=int, default=1800, help="seconds per lumen subprocess")
    p.add_argument("--skip-peer", action="append", default=[], metavar="NAME",
                   help="torch|onnxruntime|openvino|lumen (repeatable; pytorch, ort, ov also accepted)")
    p.add_argument("--openvino-precision", default="f32", choices=["f32", "bf16"])
    p.add_argument("--markdown", metavar="FILE", help="write the header line and table as Markdown")
    p.add_argument("--json", metavar="FILE", help="write every time, check and error as JSON")
    p.add_argument("--match", metavar="TEXT", help="only rows whose label contains TEXT (case-insensitive)")
    p.add_argument("--keep", metavar="DIR", help="keep net.json/model.pt/x.npy/net.onnx per row in DIR")
    args = p.parse_args()
    if args.runs < 1 or args.threads < 1:
        p.error("--runs and --threads must be at least 1")
    skip = []
    for name in args.skip_peer:
        name = ALIASES.get(name.lower(), name.lower())
        if name not in PEERS + ["lumen"]:
            p.error(f"--skip-peer {name!r}: expected one of torch, onnxruntime, openvino, lumen")
        skip.append(name)
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
    text = table(rows)
    print(text)
    noise = noise_table(rows)
    print("\n" + noise)
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(header(info, args) + "\n\n" + text + "\n\n" + noise + "\n")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"machine": info, "threads": args.threads, "runs": args.runs,
                       "openvino_precision": args.openvino_precision, "rows": rows}, f, indent=1)


if __name__ == "__main__":
    main()
