#!/usr/bin/env python3
"""Lumen fine-tuning job: MONAI 1.6.1 + PyTorch DDP, started by torchrun (slurm/finetune.sbatch.template).

Starts from the serving bundle's network and weights (an MMAR: config/config_train.json holds
train.model {name,args} and train.pre_transforms; models/model.pt the weights) and trains on the
output of `lumen dataset export` (dataset.json + imagesTr/ + labelsTr/), with a deterministic
train/validation split recorded in <run-dir>/split.json.

Distributed: torchrun's environment (RANK, LOCAL_RANK, WORLD_SIZE, MASTER_ADDR/PORT); NCCL when
CUDA is available, gloo otherwise; runs as a single process without torchrun too.

Checkpoints <run-dir>/checkpoint.pt after every epoch (temp file, fsync, rename) and resumes
from it. Stops early, after saving, when
  * <run-dir>/checkpoint-now appears (the batch script's USR1 trap creates it: time limit near), or
  * the process gets SIGUSR1 or SIGTERM (preemption, scancel; torchrun forwards TERM),
then writes <run-dir>/requeue and exits with EXIT_REQUEUE (85); the batch script requeues the job.

Rank 0 validates (sliding window, mean Dice over foreground labels), writes
<run-dir>/train_stats.json in MONAI Label's shape and POSTs it to --report-url with
`Authorization: Bearer <token>` (failures are logged and ignored). At the end it writes a complete
MMAR candidate to --out: config/ (copied), models/model.pt (same wrapper format as the bundle's,
best validation weights), docs/metrics.json.
"""
import argparse
import copy
import datetime
import gc
import json
import os
import random
import shutil
import signal
import socket
import sys
import tempfile
import time
import urllib.request

import warnings

import numpy as np
import torch
import torch.distributed as dist

EXIT_REQUEUE = 85   # checkpoint saved on request; the batch script requeues the job
EXIT_BAD_INPUT = 2

_stop_signal = None


def _on_signal(signum, _frame):
    global _stop_signal
    _stop_signal = signal.Signals(signum).name


# ---------------------------------------------------------------- small helpers
def log(msg):
    rank = int(os.environ.get("RANK", 0))
    world = int(os.environ.get("WORLD_SIZE", 1))
    print(f"[rank {rank}/{world} {socket.gethostname()} {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def fsync_dir(path):
    try:
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError:
        pass


def atomic_write(path, write):
    """write(fileobj) into a temp file next to path, fsync, rename over path, fsync the folder."""
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=os.path.basename(path) + ".", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        fsync_dir(folder)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def atomic_json(path, obj):
    data = (json.dumps(obj, indent=2, sort_keys=True, allow_nan=False) + "\n").encode()
    atomic_write(path, lambda f: f.write(data))


def atomic_torch_save(path, obj):
    atomic_write(path, lambda f: torch.save(obj, f))


def hms(seconds):
    return str(datetime.timedelta(seconds=int(max(0, seconds))))


def finite(x):
    return x is not None and isinstance(x, (int, float)) and np.isfinite(x)


def parse_patch(text):
    parts = [int(p) for p in str(text).replace("x", ",").split(",") if p.strip()]
    if len(parts) == 1:
        parts *= 3
    if len(parts) != 3 or min(parts) < 1:
        raise SystemExit(f"--patch: expected N or X,Y,Z, got {text!r}")
    return tuple(parts)


# ---------------------------------------------------------------- bundle and data
def load_bundle(bundle):
    with open(os.path.join(bundle, "config", "config_train.json")) as f:
        train_conf = json.load(f)
    aiaa = {}
    aiaa_path = os.path.join(bundle, "config", "config_aiaa.json")
    if os.path.exists(aiaa_path):
        with open(aiaa_path) as f:
            aiaa = json.load(f)
    saved = torch.load(os.path.join(bundle, "models", "model.pt"), map_location="cpu", weights_only=False)
    if isinstance(saved, dict) and isinstance(saved.get("model"), dict):
        state, extras, wrapper_key = saved["model"], {k: v for k, v in saved.items() if k != "model"}, "model"
    elif isinstance(saved, dict) and isinstance(saved.get("state_dict"), dict):
        state, extras, wrapper_key = saved["state_dict"], {k: v for k, v in saved.items() if k != "state_dict"}, "state_dict"
    elif isinstance(saved, dict):
        state, extras, wrapper_key = saved, {}, None
    else:
        raise SystemExit("models/model.pt: expected a state dict or a {'model': state_dict, ...} wrapper")
    spec = (train_conf.get("train") or {}).get("model") or (extras.get("train_conf") or {}).get("train", {}).get("model")
    if not spec:
        raise SystemExit("config/config_train.json has no train.model {name, args}")
    labels = aiaa.get("labels") or extras.get("labels")
    if isinstance(labels, dict):                          # {name: value}
        label_values = {str(k): int(v) for k, v in labels.items()}
    elif isinstance(labels, list):                        # names; value i+1 (Lumen's label_names)
        label_values = {str(n): i + 1 for i, n in enumerate(labels)}
    else:
        out = int(spec["args"].get("out_channels", 2))
        label_values = {f"label_{i}": i for i in range(1, out)}
    pre = (train_conf.get("train") or {}).get("pre_transforms") or []
    return {"train_conf": train_conf, "spec": spec, "state": state, "extras": extras, "wrapper_key": wrapper_key,
            "label_values": label_values, "pre_transforms": pre}


def build_network(spec):
    import monai.networks.nets as nets
    name = spec["name"].split(".")[-1]
    return getattr(nets, name)(**spec["args"])


def build_transform(entry):
    import monai.transforms as mt
    name = entry["name"].split(".")[-1]
    return getattr(mt, name)(**(entry.get("args") or {}))


def read_dataset(data_dir):
    path = os.path.join(data_dir, "dataset.json")
    with open(path) as f:
        doc = json.load(f)
    cases = []
    for item in doc.get("training", []):
        image = os.path.normpath(os.path.join(data_dir, item["image"]))
        label = os.path.normpath(os.path.join(data_dir, item["label"]))
        for p in (image, label):
            if not os.path.exists(p):
                raise SystemExit(f"{path}: missing file {p}")
        cases.append({"image": image, "label": label})
    cases.sort(key=lambda c: c["image"])
    return cases


def make_split(cases, data_dir, val_split, seed, path):
    rel = [{"image": os.path.relpath(c["image"], data_dir), "label": os.path.relpath(c["label"], data_dir)} for c in cases]
    order = list(range(len(rel)))
    random.Random(seed).shuffle(order)
    n_val = 0 if len(rel) < 2 or val_split <= 0 else min(len(rel) - 1, max(1, int(round(len(rel) * val_split))))
    val = sorted(order[:n_val])
    train = sorted(order[n_val:])
    split = {"seed": seed, "val_split": val_split, "data": os.path.abspath(data_dir),
             "train": [rel[i] for i in train], "val": [rel[i] for i in val],
             "created": datetime.datetime.now().isoformat(timespec="seconds")}
    atomic_json(path, split)
    return split


# ---------------------------------------------------------------- reporting
class Reporter:
    def __init__(self, path, url, token):
        self.path, self.url, self.token = path, url, token

    def __call__(self, stats):
        atomic_json(self.path, stats)
        if not self.url:
            return
        body = json.dumps(stats, allow_nan=False).encode()
        req = urllib.request.Request(self.url, data=body, method="POST",
                                     headers={"Content-Type": "application/json",
                                              **({"Authorization": f"Bearer {self.token}"} if self.token else {})})
        try:
            with urllib.request.urlopen(req, timeout=5) as resp:
                resp.read()
        except Exception as e:  # progress reports are best effort
            log(f"progress report to {self.url} failed (ignored): {e}")


# ---------------------------------------------------------------- main
def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--bundle", required=True, help="MMAR of the serving version (config/, models/model.pt)")
    p.add_argument("--data", required=True, help="folder written by `lumen dataset export` (dataset.json)")
    p.add_argument("--run-dir", required=True, help="job run directory (checkpoint, stats, split, logs)")
    p.add_argument("--out", required=True, help="where to write the candidate MMAR")
    p.add_argument("--max-epochs", type=int, default=50)
    p.add_argument("--val-split", type=float, default=0.2)
    p.add_argument("--val-every", type=int, default=1, help="validate every N epochs (and after the last)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--batch-size", type=int, default=2, help="volumes per rank per step (times --samples-per-volume patches)")
    p.add_argument("--samples-per-volume", type=int, default=2, help="random crops drawn from each volume per epoch")
    p.add_argument("--lr", type=float, default=1e-4)
    p.add_argument("--patch", default="96,96,64", help="training crop and sliding-window ROI: N or X,Y,Z")
    p.add_argument("--cache-rate", type=float, default=1.0,
                   help="share of training volumes each process keeps pre-transformed in memory")
    p.add_argument("--crop", choices=["posneg", "random"], default="posneg",
                   help="RandCropByPosNegLabeld (default) or RandSpatialCropd")
    p.add_argument("--label-map", default=None,
                   help="JSON {name: value} of label values in the exported files (default: value i+1 for "
                        "the bundle's i-th label, as Lumen writes them)")
    p.add_argument("--report-url", default=None)
    p.add_argument("--report-token", default=None, help="bearer token (prefer --report-token-file or $LUMEN_REPORT_TOKEN)")
    p.add_argument("--report-token-file", default=None)
    p.add_argument("--job-id", default=os.environ.get("SLURM_JOB_ID", ""))
    p.add_argument("--amp", choices=["auto", "on", "off"], default="auto", help="mixed precision (auto: on with CUDA)")
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    warnings.filterwarnings("ignore", category=FutureWarning)
    patch = parse_patch(args.patch)
    for s in (signal.SIGUSR1, signal.SIGTERM):
        signal.signal(s, _on_signal)

    # ---- distributed setup (torchrun env; single process without it)
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    use_cuda = torch.cuda.is_available()
    if use_cuda:
        torch.cuda.set_device(local_rank % torch.cuda.device_count())
        device = torch.device("cuda", torch.cuda.current_device())
    else:
        device = torch.device("cpu")
        torch.set_num_threads(max(1, int(os.environ.get("OMP_NUM_THREADS", "1"))))
    backend = "nccl" if use_cuda else "gloo"
    distributed = world > 1
    if distributed:
        dist.init_process_group(backend=backend, timeout=datetime.timedelta(minutes=30))
    log(f"start: rank {rank} of world size {world}, local rank {local_rank}, backend {backend if distributed else 'none'}, "
        f"device {device}, threads {torch.get_num_threads()}, job {args.job_id or '-'} "
        f"restart {os.environ.get('SLURM_RESTART_COUNT', '0')}, node {os.environ.get('SLURMD_NODENAME', '-')}")

    from monai.data import CacheDataset, DataLoader, Dataset, decollate_batch
    from monai.inferers import sliding_window_inference
    from monai.losses import DiceCELoss
    from monai.metrics import DiceMetric
    from monai.transforms import (AsDiscrete, Compose, Lambdad, RandCropByPosNegLabeld, RandFlipd,
                                  RandSpatialCropd, SpatialPadd)

    run_dir = os.path.abspath(args.run_dir)
    os.makedirs(run_dir, exist_ok=True)
    ckpt_path = os.path.join(run_dir, "checkpoint.pt")
    best_path = os.path.join(run_dir, "best_model.pt")
    split_path = os.path.join(run_dir, "split.json")
    flag_path = os.path.join(run_dir, "checkpoint-now")
    token = args.report_token or os.environ.get("LUMEN_REPORT_TOKEN")
    if args.report_token_file:
        with open(args.report_token_file) as f:
            token = f.read().strip()
    report = Reporter(os.path.join(run_dir, "train_stats.json"), args.report_url, token)

    bundle = load_bundle(args.bundle)
    label_values = bundle["label_values"]
    if args.label_map:
        text = open(args.label_map).read() if os.path.exists(args.label_map) else args.label_map
        file_values = {str(k): int(v) for k, v in json.loads(text).items()}
    else:
        file_values = label_values
    out_channels = int(bundle["spec"]["args"].get("out_channels", len(label_values) + 1))
    # exported value -> output channel (by label name); anything else is background
    lut = {}
    for name, channel in label_values.items():
        if name in file_values and 0 < channel < out_channels:
            lut[file_values[name]] = channel
    names_by_channel = {c: n for n, c in label_values.items()}

    # ---- deterministic split: rank 0 writes it once, everyone (and every restart) reads it
    cases = read_dataset(args.data)
    if rank == 0 and not os.path.exists(split_path):
        make_split(cases, args.data, args.val_split, args.seed, split_path)
        log(f"wrote {split_path}")
    if distributed:
        dist.barrier()
    with open(split_path) as f:
        split = json.load(f)
    data_dir = split.get("data") or args.data
    train_files = [{k: os.path.join(data_dir, v) for k, v in c.items()} for c in split["train"]]
    val_files = [{k: os.path.join(data_dir, v) for k, v in c.items()} for c in split["val"]]
    if not train_files:
        log("no training cases")
        return EXIT_BAD_INPUT
    if rank == 0:
        log(f"{len(cases)} exported pairs; split: {len(train_files)} train, {len(val_files)} validation (seed {split['seed']})")

    def remap(x):
        out = torch.zeros_like(x)
        for value, channel in lut.items():
            out[x == value] = channel
        return out

    pre = [build_transform(t) for t in bundle["pre_transforms"]]
    pre += [Lambdad(keys="label", func=remap), SpatialPadd(keys=["image", "label"], spatial_size=patch)]
    if args.crop == "posneg":
        crop = RandCropByPosNegLabeld(keys=["image", "label"], label_key="label", spatial_size=patch, pos=1, neg=1,
                                      num_samples=args.samples_per_volume, image_key="image", image_threshold=0)
    else:
        crop = RandSpatialCropd(keys=["image", "label"], roi_size=patch, random_size=False)
    train_tf = Compose(pre + [crop] + [RandFlipd(keys=["image", "label"], prob=0.5, spatial_axis=a) for a in range(3)])
    val_tf = Compose([build_transform(t) for t in bundle["pre_transforms"]] + [Lambdad(keys="label", func=remap)])

    repeat = 1 if args.crop == "posneg" else args.samples_per_volume
    train_ds = CacheDataset(train_files * repeat, transform=train_tf, cache_rate=args.cache_rate,
                            num_workers=0, progress=False)
    sampler = torch.utils.data.distributed.DistributedSampler(train_ds, num_replicas=world, rank=rank,
                                                              shuffle=True, seed=args.seed) if distributed else None
    train_loader = DataLoader(train_ds, batch_size=args.batch_size, sampler=sampler, shuffle=sampler is None,
                              num_workers=0)
    val_loader = DataLoader(Dataset(val_files, transform=val_tf), batch_size=1, num_workers=0) if rank == 0 and val_files else None

    # ---- network from the serving bundle
    net = build_network(bundle["spec"])
    net.load_state_dict(bundle["state"])
    net.to(device)
    model = torch.nn.parallel.DistributedDataParallel(net, device_ids=[device.index] if use_cuda else None) if distributed else net
    loss_fn = DiceCELoss(to_onehot_y=True, softmax=True)
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    amp = use_cuda if args.amp == "auto" else args.amp == "on" and use_cuda
    scaler = torch.amp.GradScaler("cuda", enabled=amp)

    state = {"epoch": 0, "iteration": 0, "best_metric": None, "best_metric_epoch": None, "elapsed": 0.0,
             "start_ts": int(time.time()), "history": []}
    if os.path.exists(ckpt_path):
        ckpt = torch.load(ckpt_path, map_location="cpu", weights_only=False)
        net.load_state_dict(ckpt["model"])
        opt.load_state_dict(ckpt["optimizer"])
        if ckpt.get("scaler") and amp:
            scaler.load_state_dict(ckpt["scaler"])
        state.update(ckpt["state"])
        rng = ckpt.get("rng") or {}
        if "torch" in rng:
            torch.set_rng_state(rng["torch"])
        if "numpy" in rng:
            np.random.set_state(rng["numpy"])
        if "python" in rng:
            random.setstate(rng["python"])
        log(f"resuming from {ckpt_path}: {state['epoch']} epochs done, iteration {state['iteration']}, "
            f"best metric {state['best_metric']}")
    else:
        torch.manual_seed(args.seed)
        np.random.seed(args.seed)
        random.seed(args.seed)
        log(f"starting from the bundle's weights ({args.bundle}), epoch 0")

    def checkpoint(reason):
        if rank != 0:
            return
        atomic_torch_save(ckpt_path, {
            "model": {k: v.detach().cpu() for k, v in net.state_dict().items()},
            "optimizer": opt.state_dict(), "scaler": scaler.state_dict() if amp else None,
            "state": state, "args": vars(args),
            "rng": {"torch": torch.get_rng_state(), "numpy": np.random.get_state(), "python": random.getstate()}})
        log(f"checkpoint saved ({reason}): {state['epoch']} epochs done, iteration {state['iteration']} -> {ckpt_path}")

    def stats(status, train_loss=None, val=None, epoch_seconds=None):
        done = state["epoch"]
        s = {"rank": 0, "current_epoch": done, "epoch": done, "total_epochs": args.max_epochs,
             "current_iteration": state["iteration"], "total_iterations": state["iteration"],
             "start_ts": state["start_ts"], "status": status, "job_id": args.job_id, "world_size": world,
             "best_metric": state["best_metric"] if finite(state["best_metric"]) else 0.0}
        if status in ("DONE", "FAILED"):
            s["total_time"] = hms(state["elapsed"])
        else:
            s["current_time"] = hms(state["elapsed"])
        if epoch_seconds:
            s["eta_seconds"] = int(epoch_seconds * max(0, args.max_epochs - done))
            s["eta"] = hms(s["eta_seconds"])
        if train_loss is not None:
            s["train"] = {"metrics": {"train_loss": train_loss}, "key_metric_name": "train_loss",
                          "loss": train_loss}
        if val is not None:
            s["eval"] = {"metrics": {"val_mean_dice": val["mean"], **{f"val_{k}_dice": v for k, v in val["per_label"].items() if v is not None}},
                         "key_metric_name": "val_mean_dice",
                         "best_metric": state["best_metric"] if finite(state["best_metric"]) else 0.0,
                         "best_metric_epoch": state["best_metric_epoch"] or 0}
        return s

    def validate():
        net.eval()
        # DiceMetric's per-call result only: its aggregate() all-gathers the buffer across ranks when a
        # process group exists, and only rank 0 validates (the other ranks would never join: a hang).
        metric = DiceMetric(include_background=False, reduction="none", ignore_empty=True)
        to_pred = AsDiscrete(argmax=True, to_onehot=out_channels)
        to_label = AsDiscrete(to_onehot=out_channels)
        rows = []
        with torch.no_grad():
            for batch in val_loader:
                x = batch["image"].to(device)
                with torch.autocast("cuda", enabled=amp):
                    logits = sliding_window_inference(x, patch, 1, net, overlap=0.25, mode="gaussian")
                preds = torch.stack([to_pred(p) for p in decollate_batch(logits.float())])
                labels = torch.stack([to_label(y) for y in decollate_batch(batch["label"].to(device))])
                d = metric(y_pred=preds, y=labels)          # case x foreground channel
                rows.append(d.cpu().numpy().astype(float))
        rows = np.concatenate(rows, axis=0)          # nan: the label is absent from that case
        with np.errstate(all="ignore"):
            per = np.array([np.nanmean(col) if np.isfinite(col).any() else np.nan for col in rows.T])
        net.train()
        per_label = {names_by_channel.get(c, f"label_{c}"): (float(v) if np.isfinite(v) else None)
                     for c, v in zip(range(1, out_channels), per)}
        vals = [v for v in per_label.values() if v is not None]
        return {"mean": float(np.mean(vals)) if vals else 0.0, "per_label": per_label}

    stop_local = torch.zeros(1, device=device)

    def should_stop():
        """Agreed by all ranks at the same step, so no rank is left waiting in an all-reduce."""
        stop_local.fill_(1.0 if (_stop_signal or os.path.exists(flag_path)) else 0.0)
        if distributed:
            try:
                dist.all_reduce(stop_local, op=dist.ReduceOp.MAX)
            except Exception as e:   # a peer is gone (preemption): rank 0 still saves
                log(f"stop consensus failed ({e}); stopping")
                return True
        return bool(stop_local.item())

    def stop_and_requeue():
        why = _stop_signal or "checkpoint-now flag"
        log(f"stop requested ({why}) during epoch {state['epoch'] + 1}: checkpointing for requeue")
        checkpoint(f"stop: {why}")
        if rank == 0:
            report(stats("REQUEUED"))
            atomic_json(os.path.join(run_dir, "requeue"), {"job_id": args.job_id, "epoch": state["epoch"], "reason": why})
        return EXIT_REQUEUE

    val_result = None
    if rank == 0:
        report(stats("RUNNING"))
    net.train()
    first_step_logged = state["iteration"] > 0
    epoch_times = []
    rc = 0
    try:
        while state["epoch"] < args.max_epochs:
            epoch = state["epoch"]
            t0 = time.time()
            if sampler is not None:
                sampler.set_epoch(epoch)
            train_tf.set_random_state(seed=(args.seed * 1000003 + epoch * 1009 + rank) % (2 ** 32))
            losses = []
            stopped = False
            for batch in train_loader:
                if should_stop():
                    stopped = True
                    break
                x, y = batch["image"].to(device), batch["label"].to(device)
                opt.zero_grad(set_to_none=True)
                with torch.autocast("cuda", enabled=amp):
                    loss = loss_fn(model(x), y)
                scaler.scale(loss).backward()
                scaler.step(opt)
                scaler.update()
                state["iteration"] += 1
                losses.append(float(loss.item()))
                if not first_step_logged:
                    first_step_logged = True
                    with torch.no_grad():
                        pcs = sum(float(p.detach().double().sum()) for p in net.parameters())
                        gcs = sum(float(p.grad.detach().double().sum()) for p in net.parameters() if p.grad is not None)
                    log(f"first step: local loss {losses[-1]:.6f} on this rank's own batch; "
                        f"gradient checksum {gcs:.12e}; parameter checksum {pcs:.12e} "
                        + ("(all-reduced gradients: identical on every rank)" if distributed else "(single process)"))
                    if distributed:
                        mine = torch.tensor([pcs], dtype=torch.float64, device=device)
                        gathered = [torch.zeros(1, dtype=torch.float64, device=device) for _ in range(world)]
                        dist.all_gather(gathered, mine)
                        if rank == 0:
                            vals = [float(g.item()) for g in gathered]
                            ok = all(v == vals[0] for v in vals)
                            log(f"parameter checksums after step 1 on all {world} ranks: {vals} -> "
                                f"{'IDENTICAL (gradient all-reduce works)' if ok else 'DIFFERENT'}")
                        del gathered, mine
            if stopped:
                rc = stop_and_requeue()
                break
            seconds = time.time() - t0
            epoch_times.append(seconds)
            state["elapsed"] += seconds
            mean_loss = float(np.mean(losses)) if losses else 0.0
            if distributed:
                t = torch.tensor([mean_loss], device=device)
                dist.all_reduce(t)
                mean_loss = float(t.item()) / world
                del t
            state["epoch"] = epoch + 1
            entry = {"epoch": epoch + 1, "train_loss": mean_loss, "seconds": round(seconds, 2)}
            if rank == 0 and val_loader is not None and ((epoch + 1) % args.val_every == 0 or epoch + 1 == args.max_epochs):
                val_result = validate()
                entry["val_mean_dice"] = val_result["mean"]
                if state["best_metric"] is None or val_result["mean"] > state["best_metric"]:
                    state["best_metric"], state["best_metric_epoch"] = val_result["mean"], epoch + 1
                    atomic_torch_save(best_path, {"model": {k: v.detach().cpu() for k, v in net.state_dict().items()},
                                                  "epoch": epoch + 1, "val": val_result})
            state["history"].append(entry)
            if rank == 0:
                log(f"epoch {epoch + 1}/{args.max_epochs} loss {mean_loss:.4f}"
                    + (f" val mean dice {val_result['mean']:.4f}" if "val_mean_dice" in entry else "")
                    + f" ({seconds:.1f} s)")
            checkpoint(f"epoch {epoch + 1}")
            if rank == 0:
                report(stats("RUNNING", mean_loss, val_result, float(np.mean(epoch_times))))
            if distributed:
                dist.barrier()   # rank 0 validated and saved; everyone moves on together

        if rc == 0 and rank == 0:
            write_candidate(args, bundle, net, state, split, val_result, best_path, world)
            report(stats("DONE", state["history"][-1]["train_loss"] if state["history"] else None, val_result))
            log(f"done: {state['epoch']} epochs, best val mean dice {state['best_metric']}, candidate in {args.out}")
    finally:
        # Gloo's worker threads may free tensors during interpreter shutdown (SIGABRT at exit, cluster.md §9):
        # drop everything that took part in a collective, then barrier and destroy the group.
        del model, opt, stop_local
        gc.collect()
        if distributed:
            try:
                if rc == 0:
                    dist.barrier()
                dist.destroy_process_group()
            except Exception as e:
                log(f"process group teardown: {e}")
    return rc


def write_candidate(args, bundle, net, state, split, val_result, best_path, world):
    out = os.path.abspath(args.out)
    tmp = out + ".partial"
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.copytree(os.path.join(args.bundle, "config"), os.path.join(tmp, "config"))
    os.makedirs(os.path.join(tmp, "models"))
    os.makedirs(os.path.join(tmp, "docs"))
    weights, chosen = {k: v.detach().cpu().contiguous() for k, v in net.state_dict().items()}, "last"
    best_val = None
    if os.path.exists(best_path):
        best = torch.load(best_path, map_location="cpu", weights_only=False)
        weights, chosen, best_val = best["model"], f"best (epoch {best['epoch']})", best.get("val")
    # Same wrapper as the bundle's file: the Swift loader finds the state dict and train_conf where it expects them.
    extras = copy.deepcopy(bundle["extras"])
    if bundle["wrapper_key"] is None:
        saved = weights
    else:
        extras.setdefault("train_conf", {"train": {"model": bundle["spec"]}})
        extras["finetune_job"] = str(args.job_id or "")
        extras["finetune_epochs"] = int(state["epoch"])
        if finite(state["best_metric"]):
            extras["val_mean_dice"] = float(state["best_metric"])
        saved = {bundle["wrapper_key"]: weights, **extras}
    with open(os.path.join(tmp, "models", "model.pt"), "wb") as f:
        torch.save(saved, f)
        f.flush()
        os.fsync(f.fileno())
    val = best_val or val_result
    metrics = {"job_id": args.job_id, "epochs": state["epoch"], "iterations": state["iteration"], "world_size": world,
               "weights": chosen, "val_mean_dice": val["mean"] if val else None,
               "val_dice_per_label": val["per_label"] if val else {},
               "best_metric": state["best_metric"], "best_metric_epoch": state["best_metric_epoch"],
               "split": {"seed": split["seed"], "val_split": split["val_split"],
                         "train": [c["image"] for c in split["train"]], "val": [c["image"] for c in split["val"]]},
               "history": state["history"], "base_bundle": os.path.abspath(args.bundle),
               "patch": list(parse_patch(args.patch)), "lr": args.lr, "batch_size": args.batch_size,
               "total_time": hms(state["elapsed"]),
               "created": datetime.datetime.now().isoformat(timespec="seconds")}
    with open(os.path.join(tmp, "docs", "metrics.json"), "w") as f:
        json.dump(metrics, f, indent=2, sort_keys=True)
    readme = os.path.join(args.bundle, "docs", "README.md")
    if os.path.exists(readme):
        shutil.copy(readme, os.path.join(tmp, "docs", "README.base.md"))
    if os.path.exists(out):
        shutil.rmtree(out)
    os.replace(tmp, out)
    fsync_dir(os.path.dirname(out))


if __name__ == "__main__":
    sys.exit(main())
