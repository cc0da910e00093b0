#!/usr/bin/env python3
"""Times what a radiologist waits for: a session upload, then deepgrow clicks
on it, against a running `lumen serve` (AIAA v1 routes, standard library only).
Prints each call's wall time and the server's per-stage timings.

  scripts/bench/time_clicks.py --server http://127.0.0.1:8000 --image ct.nii.gz --model deepgrow_3d --click 250,240,100 [--click ...]
"""
import argparse, json, os, time, urllib.request

BOUNDARY = "----------lImIt_of_THE_fIle_eW_$"


def multipart(params, path=None):
    body = f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"params\"\r\n\r\n{json.dumps(params)}\r\n".encode()
    if path:
        body += (f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"image\"; filename=\"{os.path.basename(path)}\"\r\n"
                 "Content-Type: application/octet-stream\r\n\r\n").encode() + open(path, "rb").read() + b"\r\n"
    return body + f"--{BOUNDARY}--\r\n\r\n".encode()


def call(method, url, body):
    request = urllib.request.Request(url, data=body, method=method,
                                     headers={"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"})
    start = time.perf_counter()
    with urllib.request.urlopen(request, timeout=600) as reply:
        data = reply.read()
    return time.perf_counter() - start, data


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--server", required=True)
    p.add_argument("--image", required=True)
    p.add_argument("--model", default="deepgrow_3d")
    p.add_argument("--click", action="append", required=True)
    args = p.parse_args()
    seconds, data = call("PUT", f"{args.server}/session/", multipart({}, args.image))
    session = json.loads(data)["session_id"]
    print(f"session upload: {seconds:.3f} s")
    placed = []
    for click in args.click:
        placed.append([int(v) for v in click.split(",")])
        params = {"foreground": placed, "background": [], "current_point": [placed[-1]]}
        seconds, data = call("POST", f"{args.server}/v1/inference?model={args.model}&session_id={session}&output=json",
                             multipart(params))
        timings = json.loads(data)["timings"]
        stages = ", ".join(f"{k} {timings[k]:.0f}" for k in ("pre", "infer", "post", "invert", "write") if k in timings)
        print(f"click {len(placed)} {placed[-1]}: {seconds:.3f} s wall ({stages} ms; server total {timings['total']:.0f} ms)")


if __name__ == "__main__":
    main()
