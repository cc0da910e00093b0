#!/usr/bin/env python3
"""Does fine-tuning on Slurm really learn? A "second hospital" experiment.

The bundled organ model was trained on portal-venous phantoms only. The second
hospital scans without contrast (`lumen phantom --protocol non-contrast`: the
same kind of anatomy, unenhanced grey values), which the model handles worse.
This script puts N of its scans with `final` labels into a real `lumen serve`'s
datastore, as doctors would after refining, fine-tunes through the real path
(`POST /train/abdominal_organs` -> Slurm -> slurm/finetune.py -> the version
gate), and scores held-out Dice before and after on fresh scans of both
hospitals, through the server's own segmentation route.

  .venv-train/bin/python scripts/live/second_hospital.py --lumen .build/debug/lumen --report out.json

Needs numpy and nibabel (the training venv has both) and root for the test Slurm.
"""
import argparse, json, os, socket, subprocess, sys, tempfile, time, urllib.error, urllib.request

import nibabel as nib
import numpy as np

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
BOUNDARY = "----lumen-second-hospital"
LABELS = ["liver", "spleen", "kidney_left", "kidney_right", "pancreas", "stomach"]


def request(port, method, path, body=None, content_type=None, timeout=1800):
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=body, method=method,
                                 headers={"Content-Type": content_type} if content_type else {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read(), dict(r.headers)
    except urllib.error.HTTPError as e:
        return e.code, e.read(), dict(e.headers)


def part(name, filename, data):
    return (f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{filename}\"\r\n"
            "Content-Type: application/octet-stream\r\n\r\n").encode() + data + b"\r\n"


def dice_per_label(pred, truth):
    out = {}
    for k, name in enumerate(LABELS, start=1):
        p, t = pred == k, truth == k
        if p.sum() + t.sum() == 0:
            continue   # nothing there, nothing predicted: no free point
        out[name] = float(2 * (p & t).sum() / (p.sum() + t.sum()))
    return out


def score(port, folder, count, work):
    """Mean Dice per label over the cases of `folder`, and the version that answered."""
    per_label, version = {n: [] for n in LABELS}, None
    for i in range(count):
        image = open(os.path.join(folder, f"image{i:02d}.nii.gz"), "rb").read()
        body = (f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"params\"\r\n\r\n{{}}\r\n").encode()
        body += part("datapoint", "ct.nii.gz", image) + f"--{BOUNDARY}--\r\n".encode()
        status, reply, headers = request(port, "POST", "/v1/segmentation?model=abdominal_organs&output=image", body,
                                         f"multipart/form-data; boundary={BOUNDARY}")
        assert status == 200, (status, reply[:300])
        version = headers.get("X-Lumen-Model-Version")
        out = os.path.join(work, "pred.nii.gz")
        open(out, "wb").write(reply)
        pred = np.asarray(nib.load(out).dataobj)
        truth = np.asarray(nib.load(os.path.join(folder, f"label{i:02d}.nii.gz")).dataobj)
        for name, d in dice_per_label(pred, truth).items():
            per_label[name].append(d)
    means = {n: float(np.mean(v)) for n, v in per_label.items() if v}
    return {"version": version, "dice": means, "mean": float(np.mean(list(means.values())))}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--lumen", required=True)
    p.add_argument("--train", type=int, default=10, help="second-hospital scans with final labels")
    p.add_argument("--test", type=int, default=6, help="fresh scans per hospital for scoring")
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--lr", type=float, default=1e-4)
    p.add_argument("--patch", default="96,96,64")
    p.add_argument("--size", default="small")
    p.add_argument("--report", default=None)
    args = p.parse_args()
    lumen = os.path.abspath(args.lumen)
    work = tempfile.mkdtemp(prefix="lumen-second-hospital-")
    sets = {"train": ("non-contrast", 61000, args.train), "nc_test": ("non-contrast", 62000, args.test),
            "pv_test": ("portal-venous", 62000, args.test)}
    for key, (protocol, seed, count) in sets.items():
        subprocess.run([lumen, "phantom", "--output", os.path.join(work, key), "--count", str(count), "--seed", str(seed),
                        "--size", args.size, "--protocol", protocol], check=True, stdout=subprocess.DEVNULL)
    venv = subprocess.run([os.path.join(ROOT, "scripts", "env", "setup_train_python")], cwd=ROOT, check=True, capture_output=True,
                          text=True).stdout.strip().splitlines()[-1]
    env_file = subprocess.run([os.path.join(ROOT, "scripts", "services"), "start", "slurm"], cwd=ROOT, check=True,
                              capture_output=True, text=True).stdout.strip().splitlines()[-1]
    s = socket.socket(); s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]; s.close()
    env = dict(os.environ, LUMEN_FINETUNE="on", LUMEN_SLURM_ENV=env_file,
               LUMEN_TRAIN_PYTHON=os.path.join(os.path.abspath(os.path.join(ROOT, venv)), "bin", "python"),
               LUMEN_SLURM_GPUS_PER_NODE="2", LUMEN_SLURM_CPUS_PER_TASK="1", LUMEN_SLURM_TIME="04:00:00")
    log = open(os.path.join(work, "serve.log"), "wb")
    server = subprocess.Popen([lumen, "serve", "--port", str(port), "--store", os.path.join(work, "store"),
                               "--models", os.path.join(ROOT, "mmar")], cwd=ROOT, env=env, stdout=log, stderr=log)
    try:
        for _ in range(300):
            time.sleep(0.1)
            try:
                if request(port, "GET", "/info/")[0] == 200:
                    break
            except OSError:
                pass
        before = {"second": score(port, os.path.join(work, "nc_test"), args.test, work),
                  "first": score(port, os.path.join(work, "pv_test"), args.test, work)}
        print("before:", json.dumps(before), flush=True)
        for i in range(args.train):
            folder = os.path.join(work, "train")
            for kind, path in (("image", f"/datastore/?image=nc{i:02d}"), ("label", f"/datastore/label?image=nc{i:02d}&tag=final")):
                data = open(os.path.join(folder, f"{kind}{i:02d}.nii.gz"), "rb").read()
                body = part("file", f"{kind}.nii.gz", data) + f"--{BOUNDARY}--\r\n".encode()
                status, reply, _ = request(port, "PUT", path, body, f"multipart/form-data; boundary={BOUNDARY}")
                assert status == 200, (status, reply[:300])
        train = {"max_epochs": args.epochs, "learning_rate": args.lr, "train_batch_size": 2,
                 "patch": [int(x) for x in args.patch.split(",")]}
        status, reply, _ = request(port, "POST", "/train/abdominal_organs", json.dumps(train).encode(), "application/json")
        assert status == 200, (status, reply)
        job = json.loads(reply)
        started = time.monotonic()
        while True:
            latest = json.loads(request(port, "GET", "/train/")[1])
            if latest["status"] in ("DONE", "ERROR", "STOPPED"):
                break
            stats = latest.get("train_stats") or {}
            print(f"  {latest['status']} epoch {stats.get('epoch')}/{stats.get('total_epochs')} best {stats.get('best_metric')}",
                  flush=True)
            time.sleep(30)
        minutes = (time.monotonic() - started) / 60
        gate = (latest.get("result") or {}).get("gate") or {}
        print("job:", latest["status"], "-", gate.get("message"), flush=True)
        after = {"second": score(port, os.path.join(work, "nc_test"), args.test, work),
                 "first": score(port, os.path.join(work, "pv_test"), args.test, work)}
        print("after:", json.dumps(after), flush=True)
        report = {"args": vars(args), "job": job["id"], "minutes": minutes, "gate": gate, "before": before, "after": after,
                  "train_stats": latest.get("train_stats")}
        if args.report:
            json.dump(report, open(args.report, "w"), indent=1)
        print(f"second hospital mean Dice {before['second']['mean']:.3f} -> {after['second']['mean']:.3f}; "
              f"first hospital {before['first']['mean']:.3f} -> {after['first']['mean']:.3f}; {minutes:.0f} min of training")
        return 0
    finally:
        server.terminate()
        server.wait(30)


if __name__ == "__main__":
    sys.exit(main())
