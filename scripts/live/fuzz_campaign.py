#!/usr/bin/env python3
"""A hostile-client campaign against a real `lumen serve`, started here.

Throws --requests (default 10,000) malformed requests at the server, one at a
time so every death is pinned on the request that caused it, across six
families: NIfTI headers, multipart framing, params JSON and query strings,
admin zips, raw HTTP framing, and authentication. Per family it counts 2xx,
4xx, 5xx, requests without a reply, deliberate slow-client cut-offs and process
deaths; it also checks that no auth attempt got through, that no archive entry
landed outside the store, and that peak RSS stayed within the bound
docs/security.md states. Before and after, it times a listing, a segmentation
and a deepgrow click, so a server left degraded is caught too.

  scripts/live/fuzz_campaign.py [--binary .build/debug/lumen] [--requests 10000] [--report out.json]

Inputs that crashed the server are saved under --crash-dir (add them to
scripts/fixtures/make_crash_corpus.py). Exit status 0 only when every check holds.
Only loopback is ever contacted.
"""
import argparse
import concurrent.futures
import http.client
import io
import json
import os
import random
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time
import zipfile

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
BOUNDARY = "----------lImIt_of_THE_fIle_eW_$"
ADMIN, ANNOTATOR = "campaign-admin-token-5f1e", "campaign-annotator-token-77a2"
FAMILIES = {"nifti": 0.30, "multipart": 0.18, "json": 0.20, "zip": 0.08, "http": 0.12, "auth": 0.12}


# ---------------------------------------------------------------- inputs

def nifti(dims=(16, 14, 10), pixdim=(1.5, 1.5, 3.0), sform=True, values=None):
    h = bytearray(352)
    struct.pack_into("<i", h, 0, 348)
    struct.pack_into("<8h", h, 40, 3, *dims, 1, 1, 1, 1)
    struct.pack_into("<hh", h, 70, 2, 8)
    struct.pack_into("<8f", h, 76, 1.0, *pixdim, 0, 0, 0, 0)
    struct.pack_into("<ff", h, 108, 352.0, 1.0)
    h[123] = 10
    struct.pack_into("<hh", h, 252, 1 if sform else 0, 1 if sform else 0)
    for r in range(3):
        row = [0.0, 0.0, 0.0, [-10.0, -20.0, 5.0][r]]
        row[r] = pixdim[r]
        struct.pack_into("<4f", h, 280 + 16 * r, *row)
    h[344:348] = b"n+1\0"
    n = dims[0] * dims[1] * dims[2]
    if values is None:
        values = bytes(1 if 4 <= i % dims[0] < 12 and 3 <= (i // dims[0]) % dims[1] < 10 else 0 for i in range(n))
    return bytes(h) + values


FLOAT_FIELDS = [76, 80, 84, 88, 108, 112, 116, 256, 260, 264, 268, 272, 276] + [280 + 4 * k for k in range(12)]
SHORT_FIELDS = [40, 42, 44, 46, 48, 70, 72, 252, 254]
FLOATS = [float("nan"), float("inf"), float("-inf"), 0.0, -1.0, 1e-30, 1e-5, 1e3, 1e4, 1e30, 3e38, 351.0, 1e9, 30.0, 0.001]
SHORTS = [0, -1, 1, 2, 3, 7, 8, 16, 255, 1024, 32767, -32768, 512, 768, 4, 64]


def mutate_nifti(rng, base):
    b = bytearray(base)
    for _ in range(rng.randint(1, 4)):
        kind = rng.random()
        if kind < 0.45:
            struct.pack_into("<f", b, rng.choice(FLOAT_FIELDS), rng.choice(FLOATS))
        elif kind < 0.75:
            struct.pack_into("<h", b, rng.choice(SHORT_FIELDS), rng.choice(SHORTS))
        elif kind < 0.9:
            b[rng.randrange(348)] = rng.randrange(256)
        else:
            return bytes(b[:rng.randrange(len(b))])
    return bytes(b)


def form(fields, files, boundary=BOUNDARY):
    out = []
    for k, v in fields.items():
        out += [f"--{boundary}".encode(), f'Content-Disposition: form-data; name="{k}"'.encode(), b"", v.encode()]
    for k, (name, data) in files.items():
        out += [f"--{boundary}".encode(), f'Content-Disposition: form-data; name="{k}"; filename="{name}"'.encode(),
                b"Content-Type: application/octet-stream", b"", data]
    return b"\r\n".join(out + [f"--{boundary}--".encode(), b""])


def headers(token=ADMIN, content_type=f"multipart/form-data; boundary={BOUNDARY}"):
    h = {"Authorization": f"Bearer {token}"} if token else {}
    if content_type:
        h["Content-Type"] = content_type
    return h


def random_number(rng):
    return rng.choice([0, -1, 1, 2, 1e-300, 1e300, -1e300, 9.3e18, -9.3e18, 2.5, 1e15, 65536, 4294967296, 0.5, 1e9, 15, 7])


def random_value(rng, depth=0):
    r = rng.random()
    if r < 0.35 or depth > 2:
        return random_number(rng)
    if r < 0.5:
        return rng.choice(["", "nan", "[[1,2,3]]", "[1e309,0,0]", "{", "[[1e300,1,1]]", "[]", "x" * 5000])
    if r < 0.6:
        return None
    if r < 0.85:
        return [random_value(rng, depth + 1) for _ in range(rng.choice([0, 1, 2, 3, 3, 3, 6]))]
    return {f"k{i}": random_value(rng, depth + 1) for i in range(rng.randint(0, 3))}


PARAM_KEYS = ["foreground", "background", "current_point", "points", "extreme_points", "more_points", "dimension",
              "slice_index", "polygon_index", "vertex_index", "vertex_offset", "propagate_neighbor",
              "propagate_neighbor_3d", "poly", "label", "result_extension", "client_id"]


def mmar_zip(entries):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in entries:
            if data is None:
                z.writestr(zipfile.ZipInfo(name), b"")
            else:
                z.writestr(name, data)
    return buf.getvalue()


# ---------------------------------------------------------------- the families

class Campaign:
    def __init__(self, args):
        self.args = args
        self.rng = random.Random(args.seed)
        self.base = nifti()
        mmar = os.path.join(ROOT, "mmar", "abdominal_organs")
        self.mmar = {p: open(os.path.join(mmar, p), "rb").read()
                     for p in ["config/config_aiaa.json", "config/config_train.json", "models/model.pt"]}

    def make(self, family, n):
        """One request: ("http", method, path, headers, body) or ("raw", bytes, expect_cutoff)."""
        return getattr(self, "make_" + family)(n)

    def make_nifti(self, n):
        rng = self.rng
        data = mutate_nifti(rng, self.base) if rng.random() < 0.9 else self.base
        route = rng.choice(["session", "seg", "seg", "infer", "mask", "datastore", "label", "deepgrow"])
        params = {"foreground": [[8, 7, 5]], "background": [], "more_points": 0.5}
        if route == "session":
            return ("http", "PUT", "/session/", headers(), form({}, {"image": ("ct.nii", data)}))
        if route == "seg":
            model = rng.choice(["abdominal_organs", "bones"])
            return ("http", "POST", f"/v1/segmentation?model={model}", headers(), form({"params": "{}"}, {"datapoint": ("ct.nii", data)}))
        if route == "infer":
            return ("http", "POST", "/infer/bones?output=image", headers(), form({"params": "{}"}, {"file": ("ct.nii", data)}))
        if route == "mask":
            return ("http", "POST", "/v1/mask2polygon", headers(), form({"params": json.dumps(params)}, {"datapoint": ("m.nii", data)}))
        if route == "datastore":
            return ("http", "PUT", f"/datastore/?image=fz{n}", headers(), form({}, {"file": ("ct.nii", data)}))
        if route == "label":
            return ("http", "PUT", "/datastore/label?image=fz0&tag=final", headers(), form({}, {"label": ("l.nii", data)}))
        return ("http", "POST", "/v1/deepgrow?model=deepgrow_3d", headers(), form({"params": json.dumps(params)}, {"datapoint": ("ct.nii", data)}))

    def make_multipart(self, n):
        rng = self.rng
        body = bytearray(form({"params": '{"foreground": [[8,7,5]]}'}, {"datapoint": ("ct.nii", self.base)}))
        for _ in range(rng.randint(1, 5)):
            if not body:
                break
            at = rng.randrange(len(body))
            op = rng.random()
            if op < 0.3:
                body[at] = rng.randrange(256)
            elif op < 0.5:
                del body[at:at + rng.randint(1, 80)]
            elif op < 0.7:
                body[at:at] = rng.choice([b"\r\n", b"--", b"\r\n--" + BOUNDARY.encode(), b'"', b";", b"\x00"])
            else:
                body = body[:at]
        ctype = rng.choice([f"multipart/form-data; boundary={BOUNDARY}", "multipart/form-data", "multipart/form-data; boundary=",
                            'multipart/form-data; boundary="unterminated', "text/plain", "multipart/form-data; boundary=" + "b" * 300,
                            f"multipart/form-data; boundary={BOUNDARY}"])
        path = rng.choice(["/v1/segmentation?model=bones", "/session/", "/v1/mask2polygon", "/infer/bones", "/datastore/?image=mp"])
        method = "PUT" if path.startswith(("/session", "/datastore")) else "POST"
        return ("http", method, path, headers(content_type=ctype), bytes(body))

    def make_json(self, n):
        rng = self.rng
        params = {rng.choice(PARAM_KEYS): random_value(rng) for _ in range(rng.randint(1, 5))}
        text = json.dumps(params) if rng.random() < 0.9 else rng.choice(["{", "[]", '"{\\"a\\":1}"', "null", "1e999", "\"x\""])
        roll = rng.random()
        if roll < 0.08:
            q = rng.choice(["expiry=-5", "expiry=1e99", "expiry=abc", "expiry=99999999999999999999", "model=", "model=../../etc",
                            "model=%00", "version=0", "version=-1", "version=1e9", "image=../../x", "tag=" + "t" * 500])
            path = rng.choice(["/session/?", "/v1/segmentation?", "/datastore/label?image=fz0&", "/datastore/image?"]) + q
            method = "PUT" if path.startswith(("/session", "/datastore/label")) else ("GET" if "image?" in path else "POST")
            return ("http", method, path, headers(), form({"params": text}, {"datapoint": ("ct.nii", self.base)}))
        if roll < 0.55:
            path = "/v1/" + rng.choice(["deepgrow?model=deepgrow_3d", "deepgrow?model=deepgrow_2d", "dextr3d?model=dextr3d",
                                        "segmentation?model=bones"])
            return ("http", "POST", path, headers(), form({"params": text}, {"datapoint": ("ct.nii", self.base)}))
        if roll < 0.75:
            return ("http", "POST", "/v1/mask2polygon", headers(), form({"params": text}, {"datapoint": ("m.nii", self.base)}))
        png = b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + b"IHDR" + struct.pack(">IIBBBBB", rng.choice([16, 1, 32768, 0]),
                                                                                    rng.choice([14, 1, 32768, 9000]), 8, 0, 0, 0, 0) + b"\0" * 4
        params.update({"dimension": rng.choice([2, 2, 3, 7]), "polygon_index": rng.choice([0, 0, 5, -1]),
                       "vertex_index": rng.choice([0, 1, 99]), "vertex_offset": rng.choice([[1, 1], [1e300, 0], [-40, 3]])})
        if rng.random() < 0.5:
            params["poly"] = [[[rng.choice([0, 3, 15, 200, -7]), rng.choice([0, 4, 13, 900])] for _ in range(rng.randint(1, 6))]]
        file = ("s.png", png) if params["dimension"] == 2 else ("m.nii", self.base)
        return ("http", "POST", "/v1/fixpolygon", headers(), form({"params": json.dumps(params)}, {"datapoint": file}))

    def make_zip(self, n):
        rng = self.rng
        m = self.mmar
        good = [("config/config_aiaa.json", m["config/config_aiaa.json"]), ("config/config_train.json", m["config/config_train.json"]),
                ("models/model.pt", m["models/model.pt"])]
        choice = rng.random()
        if choice < 0.2:
            entries = [(rng.choice(["../lumen-canary-", "../../lumen-canary-", "/tmp/lumen-canary-", "a/../../lumen-canary-",
                                    "..\\lumen-canary-"]) + str(n), b"x")] + good
        elif choice < 0.35:
            entries = [("config", b"x"), ("config/config_aiaa.json", b"{}")]
        elif choice < 0.55:
            entries = [("config/config_aiaa.json", rng.choice([b"[]", b'{"type": "classification"}', b'{"type": 3}', b"{",
                                                                b'{"labels": 5}', b'{"inference": {"roi": [0, -1, 1e9]}}'])),
                       ("config/config_train.json", m["config/config_train.json"]), ("models/model.pt", m["models/model.pt"])]
        elif choice < 0.65:
            entries = good[:1] + good[2:]
        else:
            entries = good
        data = bytearray(mmar_zip(entries))
        if choice >= 0.65:   # byte damage, half of it in the central directory
            for _ in range(rng.randint(1, 6)):
                at = len(data) - 1 - rng.randrange(min(200, len(data))) if rng.random() < 0.5 else rng.randrange(len(data))
                data[at] = rng.randrange(256)
        token = ANNOTATOR if rng.random() < 0.1 else ADMIN
        return ("http", "PUT", f"/admin/model/fuzz{n % 7}", headers(token), form({}, {"data": ("m.zip", bytes(data))}))

    def make_http(self, n):
        rng = self.rng
        auth = f"Authorization: Bearer {ADMIN}\r\n"
        body = form({"params": "{}"}, {"datapoint": ("ct.nii", self.base)})
        kind = rng.choice(["chunk", "chunk", "halfclose", "barelf", "barelf", "header", "header", "method", "version", "huge",
                           "lengthless", "length", "slow"])
        ctype = f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n"
        if kind == "chunk":
            size = rng.choice(["zz", "-1", "ffffffffffffffffff", "1;" + "x" * 9000, ""])
            raw = f"POST /v1/segmentation?model=bones HTTP/1.1\r\nHost: x\r\n{auth}{ctype}Transfer-Encoding: chunked\r\n\r\n{size}\r\nabc\r\n0\r\n\r\n"
            return ("raw", raw.encode(), False, False)
        if kind == "halfclose":
            head = f"PUT /session/ HTTP/1.1\r\nHost: x\r\n{auth}{ctype}Content-Length: {len(body)}\r\n\r\n".encode()
            return ("raw", head + body[:rng.randrange(1, len(body))], False, True)
        if kind == "barelf":
            raw = rng.choice([f"GET /v1/models HTTP/1.1\nHost: x\n{auth.strip()}\n\n",
                              f"POST /v1/segmentation?model=bones HTTP/1.0\n{auth.strip()}\n{ctype.strip()}\n\n",
                              f"PUT /session/ HTTP/1.1\r\nHost: x\n{auth}Content-Length: 3\n\nabc"])
            return ("raw", raw.encode(), False, rng.random() < 0.5)
        if kind == "header":
            bad = rng.choice(["Bad Header Line", ": no-name", "X-\x01: y", "Content-Length: -5", "Content-Length: 1e3",
                              "Content-Length: 99999999999999999999999", "Content-Length: 5\r\nContent-Length: 6",
                              "Transfer-Encoding: gzip", "Host x"])
            return ("raw", f"POST /v1/segmentation?model=bones HTTP/1.1\r\nHost: x\r\n{auth}{bad}\r\n\r\n".encode(), False, False)
        if kind == "method":
            return ("raw", f"{rng.choice(['BREW', 'G ET', 'PUT/', 'TRACE'])} /v1/models HTTP/1.1\r\nHost: x\r\n{auth}\r\n".encode(), False, False)
        if kind == "version":
            return ("raw", f"GET /v1/models HTTP/{rng.choice(['9.9', '1', 'x.y', '1.1 extra'])}\r\nHost: x\r\n{auth}\r\n".encode(), False, False)
        if kind == "huge":
            return ("raw", f"GET /v1/models?{'a' * rng.choice([9000, 90000])} HTTP/1.1\r\nHost: x\r\n{auth}\r\n".encode(), False, False)
        if kind == "lengthless":
            garbage = bytes(rng.randrange(256) for _ in range(rng.randint(0, 300)))
            head = f"POST /v1/segmentation?model=bones HTTP/1.0\r\n{auth}{ctype}\r\n".encode()
            return ("raw", head + garbage, False, True)
        if kind == "length":
            head = f"PUT /session/ HTTP/1.1\r\nHost: x\r\n{auth}{ctype}Content-Length: {len(body) + rng.randint(1, 50)}\r\n\r\n".encode()
            return ("raw", head + body, True, False)   # the client then goes silent: the read timeout cuts it off
        return ("raw", f"POST /v1/segmentation?model=bones HTTP/1.1\r\nHost: x\r\n{auth}".encode(), True, False)

    def make_auth(self, n):
        rng = self.rng
        token = rng.choice([None, "", "wrong", ANNOTATOR + "x", ADMIN[:-1], "Bearer", ANNOTATOR.upper(), ADMIN + "\t0"])
        # /metrics and /openapi.json are open by design (no patient data; docs/security.md), so they are not targets.
        target = rng.choice(["/v1/models", "/info/", "/datastore/?output=all", "/session/", "/admin/model/bones"])
        kind = rng.random()
        if kind < 0.4:
            h = {} if token is None else {"Authorization": rng.choice([f"Bearer {token}", f"Basic {token}", token, f"bearer  {token}"])}
            return ("http", "GET", target, h, None, "must-refuse")
        if kind < 0.6:
            prefix = rng.choice(["wrong", ANNOTATOR + "x", "..", "%2e%2e", ADMIN.upper()])
            return ("http", "GET", f"/{prefix}{target}", {}, None, "must-refuse")
        # The annotator may never change models.
        method = rng.choice(["PUT", "PATCH", "DELETE"])
        body = form({}, {"data": ("m.zip", mmar_zip([("config/config_aiaa.json", b"{}")]))}) if method == "PUT" else b"{}"
        ctype = f"multipart/form-data; boundary={BOUNDARY}" if method == "PUT" else "application/json"
        return ("http", method, rng.choice(["/admin/model/bones", "/admin/model/new_one"]), headers(ANNOTATOR, ctype), body,
                "must-refuse")


# ---------------------------------------------------------------- the server

class Server:
    started = []

    def __init__(self, args, work):
        self.args, self.work, self.port = args, work, None
        self.store = os.path.join(work, "store")
        self.tokens = os.path.join(work, "tokens.json")
        with open(self.tokens, "w") as f:
            json.dump({ADMIN: {"user": "admin", "role": "admin"}, ANNOTATOR: {"user": "ann", "role": "annotator"}}, f)
        self.log = open(os.path.join(work, "server.log"), "ab")
        self.proc = None
        self.peak_kib = 0
        Server.started.append(self)
        self.start()

    def start(self):
        self.port = free_port()
        cmd = [self.args.binary, "serve", "--port", str(self.port), "--store", self.store, "--models", os.path.join(ROOT, "mmar"),
               "--tokens", self.tokens, "--max-voxels", str(self.args.max_voxels), "--read-timeout", str(self.args.read_timeout),
               "--max-concurrent", "1", "--max-upload-mib", "64"]
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=self.log)
        for _ in range(300):
            time.sleep(0.1)
            try:
                if request("GET", self.port, "/v1/models", {"Authorization": f"Bearer {ADMIN}"}, None, 5)[0] == 200:
                    self.base_kib = status_kib(self.proc.pid, "VmRSS")
                    return
            except OSError:
                pass
        raise SystemExit("lumen serve did not come up; see " + os.path.join(self.work, "server.log"))

    def alive(self):
        return self.proc.poll() is None

    def sample(self):
        if self.alive():
            self.peak_kib = max(self.peak_kib, status_kib(self.proc.pid, "VmHWM"))

    def stop(self):
        self.sample()
        if self.alive():
            self.proc.terminate()
            self.proc.wait(20)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def status_kib(pid, key):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def request(method, port, path, hdrs, body, timeout):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=hdrs or {})
        r = conn.getresponse()
        return r.status, r.read()
    finally:
        conn.close()


def raw_request(port, data, half_close, timeout):
    """Sends raw bytes; returns the status code, or None when no reply came."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        try:
            s.sendall(data)
            if half_close:
                s.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        reply = b""
        try:
            while b"\r\n" not in reply:
                chunk = s.recv(4096)
                if not chunk:
                    break
                reply += chunk
        except socket.timeout:
            return "timeout"
        except OSError:
            pass
    if not reply:
        return None
    try:
        return int(reply.split(b" ", 2)[1])
    except (IndexError, ValueError):
        return "garbage"


# ---------------------------------------------------------------- health

def health(port, image):
    """Median ms of a listing, a segmentation and a deepgrow click on a real phantom."""
    auth = {"Authorization": f"Bearer {ADMIN}"}
    times = {"list": [], "segment": [], "click": []}
    for _ in range(5):
        t = time.monotonic(); s, _ = request("GET", port, "/v1/models", auth, None, 30); times["list"].append((time.monotonic() - t) * 1e3)
        assert s == 200, (s, _[:300])
    for _ in range(3):
        t = time.monotonic()
        s, _ = request("POST", port, "/v1/segmentation?model=abdominal_organs", headers(), form({"params": "{}"}, {"datapoint": ("ct.nii.gz", image)}), 300)
        times["segment"].append((time.monotonic() - t) * 1e3)
        assert s == 200, (s, _[:300])
        t = time.monotonic()
        s, _ = request("POST", port, "/v1/deepgrow?model=deepgrow_3d", headers(),
                       form({"params": json.dumps({"foreground": [[40, 40, 30]]})}, {"datapoint": ("ct.nii.gz", image)}), 300)
        times["click"].append((time.monotonic() - t) * 1e3)
        assert s == 200, (s, _[:300])
    return {k: sorted(v)[len(v) // 2] for k, v in times.items()}


# ---------------------------------------------------------------- main

def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--binary", default=os.path.join(ROOT, ".build", "debug", "lumen"))
    p.add_argument("--requests", type=int, default=10_000)
    p.add_argument("--seed", type=int, default=2026)
    p.add_argument("--max-voxels", type=int, default=1 << 24)
    p.add_argument("--read-timeout", type=int, default=3)
    p.add_argument("--report", default=None)
    p.add_argument("--crash-dir", default=os.path.join(ROOT, "fuzz-crashes"))
    p.add_argument("--trace", type=argparse.FileType("w"), default=None, help="write each request before it is sent")
    args = p.parse_args()

    work = tempfile.mkdtemp(prefix="lumen-campaign-")
    phantom_dir = os.path.join(work, "phantom")
    subprocess.run([args.binary, "phantom", "--output", phantom_dir, "--count", "1", "--seed", "9090", "--size", "small"],
                   check=True, stdout=subprocess.DEVNULL)
    image = open(os.path.join(phantom_dir, "image00.nii.gz"), "rb").read()
    server = Server(args, work)
    before = health(server.port, image)
    # What legitimate work already holds (models, one sliding window's activations,
    # a real CT's buffers): hostile requests may add at most the per-request bound.
    server.sample()
    legit_kib = server.peak_kib
    campaign = Campaign(args)
    names = list(FAMILIES)
    counts = {f: {"sent": 0, "2xx": 0, "4xx": 0, "5xx": 0, "no reply": 0, "cut off": 0, "crash": 0, "bypass": 0} for f in names}
    fives = []
    seconds = {f: 0.0 for f in names}
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=16)
    slow, slow_family = [], []
    started = time.monotonic()
    for n in range(args.requests):
        family = campaign.rng.choices(names, weights=[FAMILIES[f] for f in names])[0]
        spec = campaign.make(family, n)
        c = counts[family]
        c["sent"] += 1
        if args.trace:
            args.trace.write(f"{n} {family} {repr(spec)[:2000]}\n")
            args.trace.flush()
        t0 = time.monotonic()
        if spec[0] == "raw" and spec[2]:
            # A slow client waits out the read timeout; it runs beside the others so the campaign does not wait too.
            slow.append(pool.submit(raw_request, server.port, spec[1], spec[3], args.read_timeout + 15))
            slow_family.append(family)
            continue
        if spec[0] == "raw":
            _, data, expect_cutoff, half = spec
            result = raw_request(server.port, data, half, timeout=args.read_timeout + 15)
            if isinstance(result, int):
                status = result
            elif expect_cutoff and result is None:
                c["cut off"] += 1
                status = None
            else:
                status = None
                if server.alive():
                    c["no reply"] += 1
                    fives.append((family, n, "raw", str(result), data[:200]))
        else:
            _, method, path, hdrs, body, *flag = spec
            try:
                status, reply = request(method, server.port, path, hdrs, body, timeout=120)
            except (OSError, http.client.HTTPException) as e:
                status, reply = None, str(e).encode()
                if server.alive():
                    c["no reply"] += 1
                    fives.append((family, n, method + " " + path, "no reply: " + str(e), b""))
            if status is not None and flag and 200 <= status < 300:
                c["bypass"] += 1
                fives.append((family, n, method + " " + path, f"auth bypass {status}", b""))
            if status is not None and status >= 500:
                fives.append((family, n, method + " " + path, status, reply[:300]))
        if status is not None:
            c["2xx" if status < 300 else "4xx" if status < 500 else "5xx"] += 1
        seconds[family] += time.monotonic() - t0
        if not server.alive():
            c["crash"] += 1
            os.makedirs(args.crash_dir, exist_ok=True)
            with open(os.path.join(args.crash_dir, f"{family}-{n}.json"), "w") as f:
                json.dump({"family": family, "spec": repr(spec)[:100000]}, f)
            print(f"server died on request {n} ({family}); restarting", flush=True)
            server.start()
        if n % 200 == 0:
            server.sample()
        if n % 1000 == 999:
            print(f"{n + 1} requests, {time.monotonic() - started:.0f} s", flush=True)
    for family, future in zip(slow_family, slow):
        result = future.result()
        if result is None:
            counts[family]["cut off"] += 1
        elif isinstance(result, int):
            counts[family]["2xx" if result < 300 else "4xx" if result < 500 else "5xx"] += 1
        else:
            counts[family]["no reply"] += 1
            fives.append((family, -1, "slow client", str(result), b""))
    pool.shutdown()
    elapsed = time.monotonic() - started
    server.sample()
    after = health(server.port, image)
    server.sample()
    # Nothing may be written outside the store by any archive entry.
    escaped = [os.path.join(d, f) for d in [work, os.path.dirname(work), "/tmp"] for f in os.listdir(d) if "lumen-canary" in f]
    for dirpath, _, files in os.walk(work):
        escaped += [os.path.join(dirpath, f) for f in files if "lumen-canary" in f]
    server.stop()

    # docs/security.md: 4 B x max_voxels x (C_in + 2 C_out + 2 on the working grid, 3 for the upload itself);
    # the largest bundled model has C_in 1 and C_out 7, so 80 B per voxel.
    bound_mib = legit_kib / 1024 + 4 * args.max_voxels * (1 + 2 * 7 + 2 + 3) / 2**20
    peak_mib = server.peak_kib / 1024
    total = {k: sum(c[k] for c in counts.values()) for k in counts[names[0]]}
    print(f"\n{'family':10} " + " ".join(f"{k:>9}" for k in total))
    for f in names + ["total"]:
        row = total if f == "total" else counts[f]
        print(f"{f:10} " + " ".join(f"{row[k]:>9}" for k in total))
    print("seconds per family: " + ", ".join(f"{f} {seconds[f]:.0f}" for f in names))
    print(f"\n{args.requests} requests in {elapsed:.0f} s; peak RSS {peak_mib:.0f} MiB (bound {bound_mib:.0f} MiB: "
          f"{legit_kib / 1024:.0f} MiB after the legitimate health check + 80 B x max_voxels {args.max_voxels})")
    print("median ms before: " + ", ".join(f"{k} {v:.0f}" for k, v in before.items()))
    print("median ms after:  " + ", ".join(f"{k} {v:.0f}" for k, v in after.items()))
    for item in fives[:20]:
        print("PROBLEM", item)
    slower = [k for k in before if after[k] > before[k] * 1.5 + 50]
    ok = (total["crash"] == 0 and total["5xx"] == 0 and total["no reply"] == 0 and total["bypass"] == 0
          and not escaped and peak_mib <= bound_mib and not slower)
    if escaped:
        print("ESCAPED", escaped)
    if slower:
        print("SLOWER after the campaign:", slower)
    if args.report:
        with open(args.report, "w") as f:
            json.dump({"counts": counts, "total": total, "seconds": elapsed, "peak_rss_mib": peak_mib, "bound_mib": bound_mib,
                       "before_ms": before, "after_ms": after, "escaped": escaped, "ok": ok}, f, indent=1)
    shutil.rmtree(work, ignore_errors=True)
    print("campaign passed" if ok else "campaign FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    finally:
        # Whatever happened, no server of ours outlives the campaign.
        for server in Server.started:
            if server.proc and server.proc.poll() is None:
                server.proc.kill()
