#!/usr/bin/env python3
"""Crash test for Lumen's datastore: kill -9 during concurrent label submissions.

Starts `lumen serve` on a temporary store, uploads one image, then submits at
least 100 distinct labels from several threads while another thread kills the
server with SIGKILL at random moments and restarts it. Clients retry until each
label is acknowledged (HTTP 200). Afterwards:

  * every acknowledged submission is downloaded by (tag, version) and its
    SHA-256 must equal what was sent and what the server acknowledged;
  * no two acknowledgements share a (tag, version);
  * no temp/partial file is visible in the object directory, and every object
    file's content hashes to its name;
  * SQLite's integrity check passes and the server reported no missing file.

Standard library only. Exit status 0 = pass, 1 = a check failed, 2 = setup error.
Usage: scripts/live/crash_test.py [--lumen .build/debug/lumen] [--submissions 120] [--kills 5] [--seed N]
"""
import argparse
import hashlib
import http.client
import json
import os
import queue
import random
import signal
import socket
import sqlite3
import struct
import subprocess
import sys
import tempfile
import threading
import time

BOUNDARY = b"----------lImIt_of_THE_fIle_eW_$"   # the MONAI Label client's own boundary
DIMS = (8, 8, 4)
TAGS = ["final", "submitted", "reviewer-b"]
IMAGE_ID = "crash_ct"


def nifti(values):
    """A minimal uint8 NIfTI-1 file on a fixed oblique-free grid (sform code 1)."""
    hdr = bytearray(348)
    struct.pack_into("<i", hdr, 0, 348)
    struct.pack_into("<8h", hdr, 40, 3, DIMS[0], DIMS[1], DIMS[2], 1, 1, 1, 1)
    struct.pack_into("<h", hdr, 70, 2)      # DT_UINT8
    struct.pack_into("<h", hdr, 72, 8)      # bitpix
    struct.pack_into("<8f", hdr, 76, 1, 1.5, 1.5, 3, 0, 0, 0, 0)
    struct.pack_into("<f", hdr, 108, 352.0)  # vox_offset
    struct.pack_into("<f", hdr, 112, 1.0)    # scl_slope
    hdr[123] = 10                            # mm + s
    struct.pack_into("<h", hdr, 254, 1)      # sform_code
    struct.pack_into("<4f", hdr, 280, 1.5, 0, 0, -10)
    struct.pack_into("<4f", hdr, 296, 0, 1.5, 0, -20)
    struct.pack_into("<4f", hdr, 312, 0, 0, 3, 5)
    hdr[344:348] = b"n+1\0"
    return bytes(hdr) + b"\0\0\0\0" + bytes(values)


def label_for(index, rng):
    n = DIMS[0] * DIMS[1] * DIMS[2]
    values = [rng.randint(0, 1) for _ in range(n)]
    for bit in range(16):                    # the index in the first voxels makes each label unique
        values[bit] = (index >> bit) & 1
    return nifti(values)


def form(parts):
    body = b""
    for name, filename, data in parts:
        body += b"--" + BOUNDARY + b"\r\nContent-Disposition: form-data; name=\"" + name + b"\""
        if filename:
            body += b"; filename=\"" + filename + b"\"\r\nContent-Type: application/octet-stream"
        body += b"\r\n\r\n" + data + b"\r\n"
    return body + b"--" + BOUNDARY + b"--\r\n\r\n"


def request(port, method, path, body=None, timeout=30):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        headers = {}
        if body is not None:
            headers["content-type"] = "multipart/form-data; boundary=" + BOUNDARY.decode()
            headers["content-length"] = str(len(body))
        conn.request(method, path, body=body, headers=headers)
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


class Server:
    def __init__(self, lumen, store, port, log):
        self.lumen, self.store, self.port, self.log = lumen, store, port, log
        self.proc = None
        self.lock = threading.Lock()

    def start(self):
        with self.lock:
            self.proc = subprocess.Popen(
                [self.lumen, "serve", "--store", self.store, "--port", str(self.port)],
                stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("lumen serve exited with status %s; see %s" % (self.proc.returncode, self.log.name))
            try:
                status, _ = request(self.port, "GET", "/datastore/?output=stats", timeout=2)
                if status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError("lumen serve did not answer within 60 s")

    def kill(self):
        with self.lock:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lumen", default=os.path.join(os.path.dirname(__file__), "..", "..", ".build", "debug", "lumen"))
    parser.add_argument("--submissions", type=int, default=120)
    parser.add_argument("--kills", type=int, default=5)
    parser.add_argument("--threads", type=int, default=12)
    parser.add_argument("--seed", type=int, default=int(time.time()))
    parser.add_argument("--time-limit", type=float, default=240, help="seconds before giving up")
    args = parser.parse_args()
    lumen = os.path.abspath(args.lumen)
    if not os.access(lumen, os.X_OK):
        print("crash test: no lumen binary at %s; build it first (swift build --product lumen)" % lumen)
        return 2
    rng = random.Random(args.seed)
    print("crash test: seed %d, %d submissions, %d kills" % (args.seed, args.submissions, args.kills))

    work = tempfile.mkdtemp(prefix="lumen-crash-")
    store = os.path.join(work, "store")
    log = open(os.path.join(work, "serve.log"), "wb")
    server = Server(lumen, store, free_port(), log)
    server.start()

    status, body = request(server.port, "PUT", "/datastore/?image=" + IMAGE_ID,
                           form([(b"params", None, b'{"client_id": "crash"}'),
                                 (b"file", b"C:\\scans\\crash.nii", nifti([i % 251 for i in range(256)]))]))
    if status != 200:
        print("crash test: image upload failed: %d %s" % (status, body[:300]))
        return 2

    tasks = queue.Queue()
    for i in range(args.submissions):
        data = label_for(i, rng)
        tasks.put((i, TAGS[i % len(TAGS)], data, hashlib.sha256(data).hexdigest()))
    acks = []            # (index, tag, version, sha_sent, sha_acked)
    acks_lock = threading.Lock()
    failures = []
    interrupted = [0]    # requests cut off by a kill (not acknowledged, retried)
    deadline = time.time() + args.time_limit
    done = threading.Event()
    inflight = [0]       # submissions sent and not yet answered: a kill must land on one

    def submitter():
        while time.time() < deadline:
            try:
                index, tag, data, sha = tasks.get_nowait()
            except queue.Empty:
                return
            body = form([(b"params", None, json.dumps({"client_id": "crash", "n": index}).encode()),
                         (b"label", b"/tmp/label_%d.nii" % index, data)])
            while time.time() < deadline:
                with acks_lock:
                    inflight[0] += 1
                try:
                    status, reply = request(server.port, "PUT", "/datastore/label?image=%s&tag=%s" % (IMAGE_ID, tag), body)
                except OSError:
                    with acks_lock:
                        interrupted[0] += 1
                        inflight[0] -= 1
                    time.sleep(0.05)          # server down or killed mid-request: not acknowledged, retry
                    continue
                with acks_lock:
                    inflight[0] -= 1
                if status == 200:
                    r = json.loads(reply)
                    with acks_lock:
                        acks.append((index, tag, r["version"], sha, r["sha256"]))
                    break
                if status >= 500:
                    time.sleep(0.05)
                    continue
                with acks_lock:
                    failures.append("submission %d got %d: %s" % (index, status, reply[:200]))
                break

    def killer():
        for k in range(args.kills):
            time.sleep(rng.uniform(0.02, 0.3) if k == 0 else rng.uniform(0.05, 0.6))
            # On a loaded node the timing alone can miss every request; wait for one in flight.
            while not done.is_set() and inflight[0] == 0:
                time.sleep(0.002)
            if done.is_set():
                return
            server.kill()
            server.start()

    threads = [threading.Thread(target=submitter) for _ in range(args.threads)]
    kthread = threading.Thread(target=killer)
    for t in threads:
        t.start()
    kthread.start()
    for t in threads:
        t.join()
    done.set()
    kthread.join()

    # One more kill with nothing in flight, then a fresh start for the checks.
    server.kill()
    server.start()

    if len(acks) < args.submissions:
        failures.append("only %d of %d submissions were acknowledged within %.0f s"
                        % (len(acks), args.submissions, args.time_limit))
    seen = {}
    for index, tag, version, sha, acked in acks:
        if sha != acked:
            failures.append("submission %d: acknowledged hash differs from the bytes sent" % index)
        if (tag, version) in seen:
            failures.append("%s v%d acknowledged twice (submissions %d and %d)" % (tag, version, seen[(tag, version)], index))
        seen[(tag, version)] = index
        status, data = request(server.port, "GET", "/datastore/label?label=%s&tag=%s&version=%d" % (IMAGE_ID, tag, version))
        if status != 200:
            failures.append("acknowledged %s v%d (submission %d) is missing: %d" % (tag, version, index, status))
        elif hashlib.sha256(data).hexdigest() != sha:
            failures.append("acknowledged %s v%d (submission %d) came back with different bytes" % (tag, version, index))
    for tag in TAGS:
        versions = [v for (t, v) in seen if t == tag]
        if versions:
            status, data = request(server.port, "GET", "/datastore/label?label=%s&tag=%s" % (IMAGE_ID, tag))
            newest = max(versions)
            if status != 200:
                failures.append("newest %s label not served: %d" % (tag, status))
            else:
                # The served newest is at least the newest acknowledged (an unacknowledged later commit may exist).
                served_version = None
                status2, meta = request(server.port, "GET", "/datastore/?output=all")
                served_version = json.loads(meta)["objects"][IMAGE_ID]["labels"][tag]["version"]
                if served_version < newest:
                    failures.append("newest %s is v%d but v%d was acknowledged" % (tag, served_version, newest))
    server.stop()

    objects = os.path.join(store, "objects")
    for root, _, files in os.walk(objects):
        for name in files:
            path = os.path.join(root, name)
            if name.startswith(".") or ".tmp-" in name:
                failures.append("temp file visible after restart: %s" % os.path.relpath(path, store))
                continue
            stem = name.split(".", 1)[0]
            with open(path, "rb") as f:
                if hashlib.sha256(f.read()).hexdigest() != stem:
                    failures.append("object %s does not hash to its name (torn or altered)" % os.path.relpath(path, store))
    db = sqlite3.connect("file:%s?mode=ro" % os.path.join(store, "lumen.sqlite"), uri=True)
    check = db.execute("PRAGMA integrity_check").fetchone()[0]
    rows = db.execute("SELECT COUNT(*) FROM label").fetchone()[0]
    db.close()
    if check != "ok":
        failures.append("SQLite integrity check: %s" % check)
    log.close()
    with open(log.name, "rb") as f:
        if b"is missing" in f.read():
            failures.append("a restart reported a row whose file is missing; see %s" % log.name)

    if interrupted[0] == 0:
        failures.append("no kill landed during a request, so nothing was tested; rerun (another --seed) or raise --submissions")
    if failures:
        print("crash test FAILED (store kept at %s):" % work)
        for line in failures[:50]:
            print("  " + line)
        return 1
    print("crash test: %d acknowledged submissions intact after %d kill -9s "
          "(%d requests cut off and retried, %d label rows, integrity ok)"
          % (len(acks), args.kills + 1, interrupted[0], rows))

    import shutil
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
