#!/usr/bin/env python3
"""Fine-tuning end to end on the test Slurm, as a cluster admin would see it.

Starts the test cluster (scripts/services: munge, slurmctld, two slurmd with
fake GPUs) and a real `lumen serve` with fine-tuning on, puts phantom CTs with
`final` labels into its datastore through the MONAI Label routes, then presses
"Train" the way Slicer does (`POST /train/abdominal_organs`). The job runs two
gloo ranks on one node (`--gres=gpu:2`). The check follows it through
`GET /train/` and `lumen finetune status` until it is DONE, and then requires
that both ranks and the gradient all-reduce show in the log, that at least two
progress reports were seen, that the gate promoted the candidate, that
`/v1/models` shows version 2, and that a segmentation is answered by version 2.

  A job whose training fails and one cancelled through `DELETE /train/` must
then end recorded (ERROR, STOPPED) and add no version; and a job that runs
while `lumen serve` is killed with SIGKILL and started again is still followed
to its end, and its candidate gated. Last, with a 1-minute limit and no requeue
left, a job runs into its time limit while slurmctld is stopped and started
again: it reads UNKNOWN (since when) meanwhile, then is followed to TIMEOUT,
recorded with Slurm's reason, and adds no version.

  scripts/live/finetune_check.py --lumen .build/debug/lumen
"""
import argparse, json, os, socket, subprocess, sys, tempfile, time, urllib.error, urllib.request

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
BOUNDARY = "----lumen-finetune-check"


def request(port, method, path, body=None, content_type=None, timeout=600):
    headers = {"Content-Type": content_type} if content_type else {}
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=body, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read(), dict(r.headers)
    except urllib.error.HTTPError as e:
        return e.code, e.read(), dict(e.headers)


def upload(port, path, name, data):
    body = (f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n"
            "Content-Type: application/octet-stream\r\n\r\n").encode() + data + f"\r\n--{BOUNDARY}--\r\n".encode()
    return request(port, "PUT", path, body, f"multipart/form-data; boundary={BOUNDARY}")


def submit(port, train):
    # The previous job may still be handing its outcome over (429 until then).
    for _ in range(30):
        status, body, _ = request(port, "POST", "/train/abdominal_organs", json.dumps(train).encode(), "application/json")
        if status != 429:
            break
        time.sleep(1)
    assert status == 200, (status, body)
    return json.loads(body)["id"]


def check_png(png):
    """Decodes the PNG's frame: signature, IHDR, and IDAT inflating to exactly height rows of 1 + 3 * width bytes."""
    import struct, zlib
    assert png[:8] == b"\x89PNG\r\n\x1a\n", png[:8]
    pos, chunks = 8, {}
    while pos < len(png):
        length, kind = struct.unpack(">I4s", png[pos:pos + 8])
        body = png[pos + 8:pos + 8 + length]
        assert zlib.crc32(kind + body) == struct.unpack(">I", png[pos + 8 + length:pos + 12 + length])[0], kind
        chunks[kind] = chunks.get(kind, b"") + body
        pos += 12 + length
    width, height, depth, colour = struct.unpack(">IIBB", chunks[b"IHDR"][:10])
    assert depth == 8 and colour == 2 and len(zlib.decompress(chunks[b"IDAT"])) == height * (1 + 3 * width)
    return width, height


def wait_final(port, job_id, timeout):
    """The job as GET /train/ shows it once it ended and its outcome is recorded."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        jobs = json.loads(request(port, "GET", "/train/?all=true")[1])
        job = next(j for j in jobs if j["id"] == job_id)
        if job["status"] in ("DONE", "ERROR", "STOPPED") and (job.get("result") or {}).get("gate"):
            return job
        time.sleep(2)
    raise AssertionError(f"job {job_id} did not end within {timeout} s")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--lumen", required=True)
    p.add_argument("--cases", type=int, default=5)
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--timeout", type=int, default=1200)
    args = p.parse_args()
    lumen = os.path.abspath(args.lumen)
    venv = subprocess.run([os.path.join(ROOT, "scripts", "env", "setup_train_python")], cwd=ROOT, check=True,
                          capture_output=True, text=True).stdout.strip().splitlines()[-1]
    env_file = subprocess.run([os.path.join(ROOT, "scripts", "services"), "start", "slurm"], cwd=ROOT, check=True,
                              capture_output=True, text=True).stdout.strip().splitlines()[-1]
    work = tempfile.mkdtemp(prefix="lumen-finetune-check-")
    s = socket.socket(); s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]; s.close()
    env = dict(os.environ, LUMEN_FINETUNE="on", LUMEN_SLURM_ENV=env_file,
               LUMEN_TRAIN_PYTHON=os.path.join(os.path.abspath(os.path.join(ROOT, venv)), "bin", "python"),
               LUMEN_SLURM_GPUS_PER_NODE="2", LUMEN_SLURM_CPUS_PER_TASK="1", LUMEN_SLURM_TIME="00:30:00")
    log = open(os.path.join(work, "serve.log"), "ab")

    def start_server():
        proc = subprocess.Popen([lumen, "serve", "--port", str(port), "--store", os.path.join(work, "store"),
                                 "--models", os.path.join(ROOT, "mmar")], cwd=ROOT, env=env, stdout=log, stderr=log)
        for _ in range(300):
            time.sleep(0.1)
            try:
                if request(port, "GET", "/info/")[0] == 200:
                    return proc
            except OSError:
                pass
        raise AssertionError("lumen serve did not start")

    server = start_server()
    try:
        info = json.loads(request(port, "GET", "/info/")[1])
        assert "abdominal_organs" in info["trainers"], f"no trainer for abdominal_organs: {info['trainers']}"
        # The 'second hospital' is not needed here: the labels are the phantoms' own ground truth.
        phantoms = os.path.join(work, "phantoms")
        subprocess.run([lumen, "phantom", "--output", phantoms, "--count", str(args.cases), "--seed", "52000", "--size", "small"],
                       check=True, stdout=subprocess.DEVNULL)
        for i in range(args.cases):
            image = open(os.path.join(phantoms, f"image{i:02d}.nii.gz"), "rb").read()
            label = open(os.path.join(phantoms, f"label{i:02d}.nii.gz"), "rb").read()
            assert upload(port, f"/datastore/?image=case{i}", "ct.nii.gz", image)[0] == 200
            status, body, _ = upload(port, f"/datastore/label?image=case{i}&tag=final", "label.nii.gz", label)
            assert status == 200, (status, body)
        train = {"max_epochs": args.epochs, "learning_rate": 1e-5, "train_batch_size": 1, "patch": [48, 48, 32], "client_id": "check"}
        status, body, _ = request(port, "POST", "/train/abdominal_organs", json.dumps(train).encode(), "application/json")
        assert status == 200, (status, body)
        job = json.loads(body)
        print(f"submitted {job['id']} as Slurm job {job['slurm_job_id']}", flush=True)
        status, body, _ = request(port, "POST", "/train/abdominal_organs", json.dumps(train).encode(), "application/json")
        assert status == 429, f"a second job while one runs must get 429, got {status}"
        epochs, deadline, latest = set(), time.monotonic() + args.timeout, {}
        cli = dict(os.environ, LUMEN_SERVER=f"http://127.0.0.1:{port}")
        cli_lines = []
        while time.monotonic() < deadline:
            status, body, _ = request(port, "GET", "/train/")
            latest = json.loads(body)
            stats = latest.get("train_stats") or {}
            if stats.get("epoch"):
                epochs.add(stats["epoch"])
            line = subprocess.run([lumen, "finetune", "status"], env=cli, capture_output=True, text=True).stdout.strip()
            if line and (not cli_lines or line != cli_lines[-1]):
                cli_lines.append(line)
                print("lumen finetune status:", line, flush=True)
            if latest["status"] in ("DONE", "ERROR", "STOPPED"):
                break
            time.sleep(2)
        assert latest.get("status") == "DONE", json.dumps(latest, indent=1)
        log_text = request(port, "GET", f"/admin/jobs/{job['id']}/logs?lines=2000")[1].decode()
        assert "rank 0 of world size 2" in log_text and "rank 1 of world size 2" in log_text, log_text[-3000:]
        assert "IDENTICAL" in log_text, "the parameter checksums after step 1 must agree on both ranks (all-reduce)"
        assert len(epochs) >= 2 or args.epochs < 2, f"progress reports seen for epochs {sorted(epochs)}"
        log.flush()
        http_reports = open(os.path.join(work, "serve.log"), errors="replace").read().count("progress report over HTTP")
        assert http_reports >= 2, f"rank 0 should have posted its progress over HTTP with the job's token ({http_reports} seen)"
        result = (latest.get("result") or {}).get("gate") or {}
        print("gate:", result.get("message"), flush=True)
        assert result.get("promoted") is True and result.get("version") == 2, result
        listing = json.loads(request(port, "GET", "/v1/models?model=abdominal_organs")[1])
        assert listing["version"] == "2", listing
        ct = open(os.path.join(phantoms, "image00.nii.gz"), "rb").read()
        body = (f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"params\"\r\n\r\n{{}}\r\n--{BOUNDARY}\r\n"
                "Content-Disposition: form-data; name=\"datapoint\"; filename=\"ct.nii.gz\"\r\n\r\n").encode() + ct + f"\r\n--{BOUNDARY}--\r\n".encode()
        status, _, headers = request(port, "POST", "/v1/segmentation?model=abdominal_organs&output=image", body,
                                     f"multipart/form-data; boundary={BOUNDARY}")
        assert status == 200 and headers.get("X-Lumen-Model-Version") == "abdominal_organs@2", (status, headers)
        versions = json.loads(request(port, "GET", "/admin/model/abdominal_organs/versions/2")[1])
        assert versions["source"] == "finetune" and len(versions["trained_on"]) >= 2, versions
        # The training curve: drawn into the candidate's docs when the job ended, served as a PNG.
        status, png, headers = request(port, "GET", f"/admin/jobs/{job['id']}/curves")
        assert status == 200 and headers.get("Content-Type") == "image/png", (status, headers)
        check_png(png)
        shown = json.loads(request(port, "GET", f"/admin/jobs/{job['id']}")[1])
        assert shown.get("training_curve", "").endswith("candidate/docs/training_curve.png"), shown.get("training_curve")
        assert any("training curve:" in line for line in cli_lines) or "training curve:" in subprocess.run(
            [lumen, "finetune", "status"], env=cli, capture_output=True, text=True).stdout
        print(f"epochs reported: {sorted(epochs)}; trained on {len(versions['trained_on'])} labels; "
              f"gate metrics: {json.dumps(versions['metrics'])}")
        # Faults: a job whose training fails, and one cancelled through DELETE /train/, end recorded and never promoted.
        broken = dict(train, patch=[17, 17, 17])   # strides of 2 cannot halve 17: the network fails on the first batch
        failed = wait_final(port, submit(port, broken), args.timeout)
        assert failed["status"] == "ERROR" and failed["slurm_state"] == "FAILED", failed
        assert failed["result"]["gate"]["promoted"] is False, failed["result"]
        print("failed job:", failed["slurm_state"], failed.get("exit_code"), "-", failed["result"]["gate"]["message"], flush=True)
        slow = dict(train, max_epochs=500)
        job_id = submit(port, slow)
        while json.loads(request(port, "GET", "/train/")[1])["slurm_state"] != "RUNNING":
            time.sleep(1)
        status, body, _ = request(port, "DELETE", "/train/")
        assert status == 200 and json.loads(body)["status"] == "STOPPED", (status, body)
        cancelled = wait_final(port, job_id, args.timeout)
        assert cancelled["status"] == "STOPPED" and cancelled["result"]["gate"]["promoted"] is False, cancelled
        print("cancelled job:", cancelled["slurm_state"], "-", cancelled["result"]["gate"]["message"], flush=True)
        states = [v["state"] for v in json.loads(request(port, "GET", "/admin/model/abdominal_organs/versions")[1])["versions"]]
        assert states == ["retired", "serving"], f"failed and cancelled jobs must add no version: {states}"
        # lumen serve killed (-9) while a job runs, then started again on the same store: the job is
        # followed to its end from the job table, and its candidate still goes through the gate.
        job_id = submit(port, dict(train, max_epochs=6))
        while json.loads(request(port, "GET", "/train/")[1])["slurm_state"] != "RUNNING":
            time.sleep(1)
        server.kill()
        server.wait(30)
        server = start_server()
        followed = wait_final(port, job_id, args.timeout)
        # Followed and gated; whether the gate promotes this longer run is the gate's business (6 epochs
        # of BatchNorm drift on 3 crops have been refused by 0.02), so either verdict passes here.
        gate = followed["result"]["gate"]
        assert followed["status"] == "DONE" and "abdominal_organs@3" in gate.get("message", ""), followed
        print("after a kill -9 of lumen serve mid-job:", followed["result"]["gate"]["message"], flush=True)
        # A job that runs into its time limit, with slurmctld stopped and restarted while it runs. Served
        # again with a 1-minute limit and no requeue left: the checkpoint signal cannot requeue it, so
        # Slurm ends it TIMEOUT. While the controller is down the job reads UNKNOWN, with since when;
        # once it is back the job is followed to its end, recorded with the reason, and not promoted.
        versions_before = json.loads(request(port, "GET", "/admin/model/abdominal_organs/versions")[1])["versions"]
        server.terminate()
        server.wait(30)
        env.update(LUMEN_SLURM_TIME="00:01:00", LUMEN_SLURM_MAX_REQUEUES="0", LUMEN_SLURM_SIGNAL_SECONDS="30")
        server = start_server()
        job_id = submit(port, dict(train, max_epochs=500))
        while json.loads(request(port, "GET", "/train/")[1])["slurm_state"] != "RUNNING":
            time.sleep(1)
        services = os.path.join(ROOT, "scripts", "services")
        subprocess.run([services, "stop", "slurmctld"], check=True)
        try:
            deadline, seen = time.monotonic() + 120, {}
            while time.monotonic() < deadline:
                seen = json.loads(request(port, "GET", "/train/")[1])
                if seen["slurm_state"] == "UNKNOWN":
                    break
                time.sleep(1)
            assert seen["slurm_state"] == "UNKNOWN" and seen.get("unknown_since") and "unreachable" in seen.get("reason", ""), seen
            print(f"slurmctld stopped: job reads {seen['slurm_state']} since {seen['unknown_since']} ({seen['reason'][:80]})", flush=True)
        finally:
            subprocess.run([services, "start", "slurmctld"], check=True)
        timed_out = wait_final(port, job_id, args.timeout)
        assert timed_out["status"] == "ERROR" and timed_out["slurm_state"] == "TIMEOUT", timed_out
        assert timed_out["result"]["gate"]["promoted"] is False, timed_out["result"]
        job_log = request(port, "GET", f"/admin/jobs/{job_id}/logs?lines=200")[1].decode()
        assert "runs on to its time limit" in job_log, job_log[-2000:]
        print("slurmctld restarted mid-run; the job was followed to its time limit:", timed_out["slurm_state"],
              timed_out.get("reason", ""), "-", timed_out["result"]["gate"]["message"], flush=True)
        versions_after = json.loads(request(port, "GET", "/admin/model/abdominal_organs/versions")[1])["versions"]
        assert versions_after == versions_before, f"a timed-out job must add no version: {versions_after}"
        print("finetune check passed")
        return 0
    finally:
        server.terminate()
        server.wait(30)


if __name__ == "__main__":
    sys.exit(main())
