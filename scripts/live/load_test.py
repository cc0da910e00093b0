#!/usr/bin/env python3
"""A bounded load test against a running `lumen serve`: N clients (default 50),
each with its own session, for D seconds (default 60), alternating the model
listing and a deepgrow 3-D click on their session. The only failure a client may
see is 503 from the full inference queue, with Retry-After, which it honours in
full before sending the same click again, as a patient client would; anything
else, a dropped connection included, fails the run. A click's latency is the
user's wait: from its first attempt to its answer, refusals and waits included.
The share of attempts refused is reported, the p99 click latency must stay under
--click-bound-s, and the server's resident memory (sampled from /proc) under --rss-mib.

  scripts/live/load_test.py --server http://127.0.0.1:8000 --pid <lumen pid> --image ct.nii.gz --label label.nii.gz

Prints p50/p99 per request kind and writes them as JSON with --report.
"""
import argparse, http.client, json, random, sys, threading, time, urllib.parse

import nibabel as nib
import numpy as np

BOUNDARY = "----------lImIt_of_THE_fIle_eW_$"


def body(fields, files):
    lines = []
    for key, value in fields.items():
        lines += [f"--{BOUNDARY}".encode(), f'Content-Disposition: form-data; name="{key}"'.encode(), b"", value.encode()]
    for key, (name, data) in files.items():
        lines += [f"--{BOUNDARY}".encode(), f'Content-Disposition: form-data; name="{key}"; filename="{name}"'.encode(),
                  b"Content-Type: application/octet-stream", b"", data]
    return b"\r\n".join(lines + [f"--{BOUNDARY}--".encode(), b""])


def rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def percentile(values, q):
    return float(np.percentile(values, q)) if values else float("nan")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--server", required=True)
    p.add_argument("--pid", type=int, required=True)
    p.add_argument("--image", required=True)
    p.add_argument("--label", required=True)
    p.add_argument("--value", type=int, default=2, help="label value to click on (2 = spleen)")
    p.add_argument("--clients", type=int, default=50)
    p.add_argument("--seconds", type=float, default=60)
    p.add_argument("--rss-mib", type=float, default=3072)
    p.add_argument("--click-bound-s", type=float, default=60,
                   help="p99 of a click's whole wait (refusals and Retry-After included) must stay under this")
    p.add_argument("--report", default=None)
    args = p.parse_args()
    url = urllib.parse.urlparse(args.server)
    image = open(args.image, "rb").read()
    voxels = np.argwhere(np.asarray(nib.load(args.label).dataobj) == args.value)
    lock = threading.Lock()
    samples, errors, refused, peak = {"models": [], "deepgrow": [], "click_wait": []}, [], [0], [rss_mib(args.pid)]
    stop = time.monotonic() + args.seconds
    start_gate = threading.Barrier(args.clients + 1)

    def request(conn, method, path, payload=None):
        headers = {}
        if payload is not None:
            headers = {"content-type": f"multipart/form-data; boundary={BOUNDARY}", "content-length": str(len(payload))}
        began = time.monotonic()
        conn.request(method, path, payload, headers)
        response = conn.getresponse()
        data = response.read()
        return response, data, (time.monotonic() - began) * 1000

    def client(n):
        rng = random.Random(n)
        try:
            conn = http.client.HTTPConnection(url.hostname, url.port, timeout=300)
            response, data, _ = request(conn, "PUT", "/session/", body({}, {"image": (f"client{n}.nii.gz", image)}))
            if response.status != 200:
                raise RuntimeError(f"session upload: {response.status} {data[:200]!r}")
            sid = json.loads(data)["session_id"]
        except Exception as e:  # noqa: BLE001 - every failure is reported
            with lock:
                errors.append(f"client {n}: {e}")
            start_gate.wait()
            return
        start_gate.wait()
        clicks = []
        while time.monotonic() < stop:
            try:
                response, data, ms = request(conn, "GET", "/v1/models")
                with lock:
                    if response.status == 200:
                        samples["models"].append(ms)
                    else:
                        errors.append(f"GET /v1/models: {response.status} {data[:200]!r}")
                clicks = clicks[-2:] + [voxels[rng.randrange(len(voxels))].tolist()]
                params = json.dumps({"foreground": clicks, "background": []})
                first = time.monotonic()
                while True:   # the same click until it is answered: what the user waits for
                    response, data, ms = request(conn, "POST", f"/v1/inference?model=deepgrow_3d&session_id={sid}",
                                                 body({"params": params}, {}))
                    if response.status != 503:
                        break
                    retry = response.getheader("retry-after")
                    with lock:
                        refused[0] += 1
                        if retry is None:
                            errors.append("503 without Retry-After")
                    if time.monotonic() >= stop:
                        break
                    time.sleep(min(float(retry or 1), 30.0))
                if response.status == 503:
                    continue
                with lock:
                    if response.status == 200:
                        samples["deepgrow"].append(ms)
                        samples["click_wait"].append((time.monotonic() - first) * 1000)
                    else:
                        errors.append(f"deepgrow: {response.status} {data[:200]!r}")
            except Exception as e:  # noqa: BLE001
                with lock:
                    errors.append(f"client {n}: {type(e).__name__}: {e}")
                conn = http.client.HTTPConnection(url.hostname, url.port, timeout=300)

    threads = [threading.Thread(target=client, args=(n,), daemon=True) for n in range(args.clients)]
    for t in threads:
        t.start()
    start_gate.wait()
    stop = time.monotonic() + args.seconds
    while any(t.is_alive() for t in threads):
        peak[0] = max(peak[0], rss_mib(args.pid))
        time.sleep(0.25)
    report = {
        "clients": args.clients, "seconds": args.seconds,
        "models": {"ok": len(samples["models"]), "p50_ms": percentile(samples["models"], 50),
                   "p99_ms": percentile(samples["models"], 99)},
        "deepgrow": {"ok": len(samples["deepgrow"]), "p50_ms": percentile(samples["deepgrow"], 50),
                     "p99_ms": percentile(samples["deepgrow"], 99), "refused_503": refused[0],
                     "refused_share": round(refused[0] / max(refused[0] + len(samples["deepgrow"]), 1), 3),
                     "click_wait_p50_ms": percentile(samples["click_wait"], 50),
                     "click_wait_p99_ms": percentile(samples["click_wait"], 99), "click_bound_s": args.click_bound_s},
        "peak_rss_mib": round(peak[0], 1), "rss_bound_mib": args.rss_mib, "errors": errors[:20], "error_count": len(errors),
    }
    print(json.dumps(report, indent=2))
    if args.report:
        with open(args.report, "w") as f:
            json.dump(report, f, indent=2)
    if errors:
        print(f"FAILED: {len(errors)} errors other than 503", flush=True)
        sys.exit(1)
    if peak[0] > args.rss_mib:
        print(f"FAILED: peak RSS {peak[0]:.0f} MiB over the {args.rss_mib:.0f} MiB bound", flush=True)
        sys.exit(1)
    if samples["click_wait"] and percentile(samples["click_wait"], 99) > args.click_bound_s * 1000:
        print(f"FAILED: p99 click wait {percentile(samples['click_wait'], 99) / 1000:.1f} s over the {args.click_bound_s:.0f} s bound", flush=True)
        sys.exit(1)
    if not samples["deepgrow"] or not samples["models"]:
        print("FAILED: no request succeeded", flush=True)
        sys.exit(1)
    print("load test passed", flush=True)


if __name__ == "__main__":
    main()
