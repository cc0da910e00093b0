#!/usr/bin/env python3
"""The 512 x 512 x 200 timings of docs/performance.md, reproducibly: makes the CT (a full-size
phantom resampled to 512 x 512 x 200, 0.68 x 0.68 x 1.3 mm, nearest neighbour), times
`lumen segment --timings` for abdominal_organs and bones in interleaved rounds, then starts
`lumen serve` and times a session upload and three deepgrow clicks per model
(scripts/bench/time_clicks.py). Prints the median and range of every stage over the rounds.

  .venv-client/bin/python scripts/bench/time_512.py --lumen .build/debug/lumen [--rounds 3]
"""
import argparse, json, os, re, socket, statistics, subprocess, sys, tempfile, time, urllib.request

import nibabel as nib
import numpy as np

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))


def make_ct(lumen, work):
    subprocess.run([lumen, "phantom", "--output", work, "--count", "1", "--seed", "4242", "--size", "full"],
                   check=True, stdout=subprocess.DEVNULL)
    src = nib.load(os.path.join(work, "image00.nii.gz"))
    data = np.asarray(src.dataobj)
    shape = (512, 512, 200)
    index = [np.minimum((np.arange(n) * data.shape[a] / n).astype(int), data.shape[a] - 1) for a, n in enumerate(shape)]
    out = data[np.ix_(*index)].astype(np.int16)
    affine = src.affine.copy()
    for a in range(3):
        affine[:3, a] *= data.shape[a] / shape[a]
    path = os.path.join(work, "ct512.nii.gz")
    nib.save(nib.Nifti1Image(out, affine), path)
    return path, [round(float(np.linalg.norm(affine[:3, a])), 2) for a in range(3)]


def summary(values):
    return f"{statistics.median(values):.0f} ({min(values):.0f}-{max(values):.0f})"


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--lumen", required=True)
    p.add_argument("--rounds", type=int, default=3)
    args = p.parse_args()
    lumen = os.path.abspath(args.lumen)
    work = tempfile.mkdtemp(prefix="lumen-time512-")
    ct, spacing = make_ct(lumen, work)
    print(f"CT 512 x 512 x 200 at {spacing} mm: {ct}")
    stages = {}
    for r in range(args.rounds):
        for model in ("abdominal_organs", "bones"):   # interleaved: both see the same machine state
            out = subprocess.run([lumen, "segment", "--model", os.path.join(ROOT, "mmar", model), "--image", ct,
                                  "--output", os.path.join(work, f"{model}.nii.gz"), "--timings"],
                                 check=True, capture_output=True, text=True).stdout
            for name, ms in re.findall(r"([a-z ]+?) (\d+) ms", out):
                stages.setdefault(model, {}).setdefault(name.strip(), []).append(float(ms))
    for model, values in stages.items():
        print(f"lumen segment {model}: " + ", ".join(f"{k} {summary(v)}" for k, v in values.items()) + " ms")

    s = socket.socket(); s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]; s.close()
    log = open(os.path.join(work, "serve.log"), "wb")
    server = subprocess.Popen([lumen, "serve", "--port", str(port), "--store", os.path.join(work, "store"),
                               "--models", os.path.join(ROOT, "mmar")], cwd=work, stdout=log, stderr=log,
                              env=dict(os.environ, LUMEN_FINETUNE="off"))
    try:
        for _ in range(600):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/models", timeout=2).read()
                break
            except OSError:
                time.sleep(0.2)
        clicks = ["256,280,100", "250,270,104", "262,290,96"]
        for r in range(args.rounds):
            for model in ("deepgrow_3d", "deepgrow_2d"):
                out = subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "bench", "time_clicks.py"), "--server",
                                      f"http://127.0.0.1:{port}", "--image", ct, "--model", model]
                                     + [a for c in clicks for a in ("--click", c)], check=True, capture_output=True, text=True).stdout
                print(f"round {r + 1} {model}:\n  " + out.strip().replace("\n", "\n  "), flush=True)
    finally:
        server.terminate()
        server.wait(30)


if __name__ == "__main__":
    main()
