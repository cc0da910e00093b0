#!/usr/bin/env python3
"""While long inferences run, the cheap routes must still answer at once: this
keeps whole-volume segmentations running back to back on a session and probes
`GET /v1/models` (AIAA) and `GET /info/` (MONAI Label) every 50 ms meanwhile.
Every probe taken while an inference was in flight must answer within --limit-ms
(default 100). MONAI Label's own server blocks its event loop during inference,
so there the same probes wait for the inference to end.

  scripts/live/responsiveness_check.py --server http://127.0.0.1:8000 --image ct.nii.gz [--model abdominal_organs]
"""
import argparse, http.client, json, sys, threading, time, urllib.parse

import numpy as np

BOUNDARY = "----------lImIt_of_THE_fIle_eW_$"


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--server", required=True)
    p.add_argument("--image", required=True)
    p.add_argument("--model", default="abdominal_organs")
    p.add_argument("--inferences", type=int, default=3)
    p.add_argument("--limit-ms", type=float, default=100)
    args = p.parse_args()
    url = urllib.parse.urlparse(args.server)
    image = open(args.image, "rb").read()
    payload = b"\r\n".join([f"--{BOUNDARY}".encode(), b'Content-Disposition: form-data; name="image"; filename="ct.nii.gz"',
                            b"Content-Type: application/octet-stream", b"", image, f"--{BOUNDARY}--".encode(), b""])
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=600)
    conn.request("PUT", "/session/", payload, {"content-type": f"multipart/form-data; boundary={BOUNDARY}",
                                                "content-length": str(len(payload))})
    response = conn.getresponse()
    sid = json.loads(response.read())["session_id"]
    busy = threading.Event()
    done = threading.Event()
    durations = []

    def infer():
        c = http.client.HTTPConnection(url.hostname, url.port, timeout=600)
        empty = f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"params\"\r\n\r\n{{}}\r\n--{BOUNDARY}--\r\n\r\n".encode()
        for _ in range(args.inferences):
            began = time.monotonic()
            busy.set()
            c.request("POST", f"/v1/inference?model={args.model}&session_id={sid}&output=json", empty,
                      {"content-type": f"multipart/form-data; boundary={BOUNDARY}", "content-length": str(len(empty))})
            r = c.getresponse()
            r.read()
            busy.clear()
            durations.append((time.monotonic() - began, r.status))
        done.set()

    worker = threading.Thread(target=infer, daemon=True)
    worker.start()
    probes = {"/v1/models": [], "/info/": []}
    probe = http.client.HTTPConnection(url.hostname, url.port, timeout=60)
    time.sleep(0.3)  # let the first inference get past its queue slot and into the network
    while not done.is_set():
        for path in probes:
            if not busy.is_set():
                continue
            began = time.monotonic()
            probe.request("GET", path)
            r = probe.getresponse()
            r.read()
            ms = (time.monotonic() - began) * 1000
            if busy.is_set() and r.status == 200:
                probes[path].append(ms)
            time.sleep(0.05)
        time.sleep(0.01)
    worker.join()
    statuses = [s for _, s in durations]
    print(f"inferences: {', '.join(f'{d:.1f} s' for d, _ in durations)} (status {statuses})")
    ok = all(s == 200 for s in statuses)
    for path, values in probes.items():
        if not values:
            print(f"FAILED: no probe of {path} ran during an inference")
            ok = False
            continue
        worst = max(values)
        print(f"{path}: {len(values)} probes during inference, p50 {np.percentile(values, 50):.1f} ms, "
              f"p99 {np.percentile(values, 99):.1f} ms, max {worst:.1f} ms")
        if worst > args.limit_ms:
            print(f"FAILED: {path} took {worst:.1f} ms during an inference (limit {args.limit_ms:.0f} ms)")
            ok = False
    if not ok:
        sys.exit(1)
    print("responsiveness check passed", flush=True)


if __name__ == "__main__":
    main()
