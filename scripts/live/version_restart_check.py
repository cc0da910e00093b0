#!/usr/bin/env python3
"""Model versions survive kill -9: a real `lumen serve` on a fresh store gets a
serving version 2 (a patched config) and a failed version 3 (labels that do not
match its outputs), is killed with SIGKILL, and is started again on the same
store. The serving version, the history and every version's state must be
unchanged, and a rollback to version 1 must then answer as version 1.

  scripts/live/version_restart_check.py --lumen .build/debug/lumen
"""
import argparse, json, os, signal, socket, subprocess, sys, tempfile, time, urllib.error, urllib.request

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))


def call(port, method, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data, method=method,
                                 headers={"Content-Type": "application/json"} if data else {})
    try:
        with urllib.request.urlopen(req, timeout=300) as r:
            return r.status, json.loads(r.read() or b"{}")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")


def start(lumen, store, port):
    proc = subprocess.Popen([lumen, "serve", "--port", str(port), "--store", store, "--models", os.path.join(ROOT, "mmar")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(300):
        time.sleep(0.1)
        try:
            if call(port, "GET", "/v1/models")[0] == 200:
                return proc
        except OSError:
            pass
    proc.kill()
    sys.exit("lumen serve did not start")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--lumen", required=True)
    args = p.parse_args()
    store = tempfile.mkdtemp(prefix="lumen-versions-")
    s = socket.socket(); s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]; s.close()
    config = json.load(open(os.path.join(ROOT, "mmar", "abdominal_organs", "config", "config_aiaa.json")))
    proc = start(args.lumen, store, port)
    try:
        config["description"] = "organs, version 2"
        status, reply = call(port, "PATCH", "/admin/model/abdominal_organs", config)
        assert status == 200 and reply["model_version"] == 2, (status, reply)
        broken = dict(config, labels=["liver"], description="organs, one label")
        status, reply = call(port, "PATCH", "/admin/model/abdominal_organs?confirm_labels=true", broken)
        assert status == 400 and "recorded as failed" in reply.get("detail", ""), (status, reply)
        before = call(port, "GET", "/admin/model/abdominal_organs/versions")[1]["versions"]
        states = [(v["version"], v["state"], v["sha256"]) for v in before]
        assert [s for _, s, _ in states] == ["retired", "serving", "failed"], states
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        proc = start(args.lumen, store, port)
        after = call(port, "GET", "/admin/model/abdominal_organs/versions")[1]["versions"]
        assert [(v["version"], v["state"], v["sha256"]) for v in after] == states, (states, after)
        listing = call(port, "GET", "/v1/models?model=abdominal_organs")[1]
        assert listing["version"] == "2" and listing["description"] == "organs, version 2", listing
        status, reply = call(port, "POST", "/admin/model/abdominal_organs/versions/1/rollback")
        assert status == 200 and reply["promoted"], (status, reply)
        assert call(port, "GET", "/v1/models?model=abdominal_organs")[1]["version"] == "1"
        print("versions after kill -9:", states)
        print("version restart check passed")
    finally:
        proc.kill()
    return 0


if __name__ == "__main__":
    sys.exit(main())
