#!/usr/bin/env python3
"""Cost of the tunnel: upload a volume and get its segmentation back with the real monailabel
client, directly and through `lumen tunnel`, interleaved rounds; prints median and range of each
and the ratio.

  scripts/bench/tunnel_perf.py --direct http://127.0.0.1:30001/<token> --tunnel http://127.0.0.1:18000/<token> \
      --image vol.nii.gz [--rounds 3] [--model abdominal_organs]
"""
import argparse, json, statistics, tempfile, time

from monailabel.client import MONAILabelClient


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--direct", required=True)
    p.add_argument("--tunnel", required=True)
    p.add_argument("--image", required=True)
    p.add_argument("--model", default="abdominal_organs")
    p.add_argument("--rounds", type=int, default=3)
    a = p.parse_args()
    tmp = tempfile.mkdtemp()
    times = {"direct": [], "tunnel": []}
    for r in range(a.rounds):
        order = ["direct", "tunnel"] if r % 2 == 0 else ["tunnel", "direct"]
        for mode in order:
            client = MONAILabelClient(getattr(a, mode), tmpdir=tmp, client_id="tunnel-perf")
            t0 = time.perf_counter()
            label, params = client.infer(a.model, "perf", {}, file=a.image)
            dt = time.perf_counter() - t0
            times[mode].append(dt)
            print(f"round {r + 1} {mode}: {dt:.2f} s", flush=True)
    out = {m: {"median": statistics.median(v), "min": min(v), "max": max(v), "runs": v} for m, v in times.items()}
    out["ratio"] = out["tunnel"]["median"] / out["direct"]["median"]
    print(json.dumps(out))


if __name__ == "__main__":
    main()
