#!/usr/bin/env python3
"""Replays, byte for byte, what the AIAA clients send (aiaa-protocol.md §2.2) to a
running `lumen serve`, and reads the replies the way those clients do.

- The Python client (`client_api.py`, used by Slicer's NvidiaAIAA extension):
  HTTP/1.1, its fixed unquoted boundary with `$`, lower-case `content-type` and
  `content-length`, text parts first, the file part named `datapoint` with the
  full Windows path as file name, JSON with Python's separators; replies parsed
  with `cgi.FieldStorage` straight from the response stream, the first file part
  taken as the result.
- The C++ client (Poco, used by MITK): HTTP/1.0 POST/PUT with a quoted
  `MIME_boundary_…`, basename file names, `params` without a Content-Type, and
  no Content-Length: once ending the body by half-closing the socket, once by
  the closing delimiter alone while it waits for the reply.

  scripts/live/aiaa_replay.py --server http://127.0.0.1:8000 --image ct.nii.gz --label label.nii.gz

Exit status 0 = every check passed; the last line says so.
"""
import argparse, gzip, http.client, io, json, os, socket, struct, sys, tempfile, urllib.parse, warnings, zlib

warnings.filterwarnings("ignore", category=DeprecationWarning)
import cgi  # noqa: E402  (what the Python client parses replies with; removed only in Python 3.13)

import nibabel as nib  # noqa: E402
import numpy as np  # noqa: E402

BOUNDARY = "----------lImIt_of_THE_fIle_eW_$"
SPLEEN = 2


def check(condition, what):
    if not condition:
        print(f"FAILED: {what}", flush=True)
        sys.exit(1)
    print(f"ok: {what}", flush=True)


class PythonClient:
    """The request bytes and reply parsing of the Python AIAA client."""

    def __init__(self, server):
        url = urllib.parse.urlparse(server)
        self.host, self.port, self.prefix = url.hostname, url.port, url.path.rstrip("/")

    @staticmethod
    def encode(fields, files):
        lines = []
        for key, value in fields.items():
            lines += [f"--{BOUNDARY}".encode(), f'Content-Disposition: form-data; name="{key}"'.encode(), b"", value.encode()]
        for key, (filename, data) in files.items():
            lines += [f"--{BOUNDARY}".encode(),
                      f'Content-Disposition: form-data; name="{key}"; filename="{filename}"'.encode(),
                      b"Content-Type: application/octet-stream", b"", data]
        lines += [f"--{BOUNDARY}--".encode(), b""]
        return f"multipart/form-data; boundary={BOUNDARY}", b"\r\n".join(lines)

    def request(self, method, selector, fields=None, files=None):
        conn = http.client.HTTPConnection(self.host, self.port, timeout=600)
        if fields is None and files is None:
            conn.request(method, self.prefix + selector)
        else:
            content_type, body = self.encode(fields or {}, files or {})
            conn.request(method, self.prefix + selector, body,
                         {"content-type": content_type, "content-length": str(len(body))})
        return conn.getresponse()

    def multipart(self, method, selector, fields, files):
        """(status, form, files): parsed only on 200, as the client does."""
        response = self.request(method, selector, fields, files)
        content_type = response.getheader("content-type", "")
        if response.status != 200 or "multipart" not in content_type:
            return response.status, response.read(), response.getheader("transfer-encoding"), None
        check(response.getheader("transfer-encoding") is None, f"{selector}: reply is not chunked")
        environ = {"REQUEST_METHOD": "POST"}
        headers = {"content-type": content_type, "content-length": response.getheader("content-length")}
        fs = cgi.FieldStorage(fp=response, headers=headers, environ=environ)
        form, result = {}, {}
        for name in fs.keys():
            items = fs[name] if isinstance(fs[name], list) else [fs[name]]
            for item in items:
                if item.filename:
                    result[item.filename] = item.value
                else:
                    form[item.name] = item.value
        return 200, form, result, [item.name for item in fs.list]


def cpp_request(server, method, selector, fields, files, half_close):
    """HTTP/1.0 as Poco sends it: quoted boundary, no Content-Length."""
    url = urllib.parse.urlparse(server)
    boundary = "MIME_boundary_01234567ABCDEF"
    body = b""
    for key, value in fields.items():
        body += f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n{value}\r\n'.encode()
    for key, (filename, data) in files.items():
        body += (f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"; filename="{filename}"\r\n'
                 "Content-Type: application/octet-stream\r\n\r\n").encode() + data + b"\r\n"
    body += f"--{boundary}--\r\n".encode()
    head = (f"{method} {url.path.rstrip('/')}{selector} HTTP/1.0\r\nHost: {url.hostname}:{url.port}\r\n"
            f'Content-Type: multipart/form-data; boundary="{boundary}"\r\n\r\n').encode()
    s = socket.create_connection((url.hostname, url.port), timeout=600)
    s.sendall(head)
    for i in range(0, len(body), 65536):
        s.sendall(body[i:i + 65536])
    if half_close:
        s.shutdown(socket.SHUT_WR)
    reply = b""
    while True:
        chunk = s.recv(1 << 16)
        if not chunk:
            break
        reply += chunk
    s.close()
    head, _, payload = reply.partition(b"\r\n\r\n")
    status = int(head.split(b" ")[1])
    return status, head.decode(errors="replace"), payload


def save(data, directory, name):
    path = os.path.join(directory, name)
    with open(path, "wb") as f:
        f.write(data)
    return nib.load(path)


def png_grey(width, height, rows):
    raw = b"".join(b"\x00" + bytes(rows[y * width:(y + 1) * width]) for y in range(height))
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def png_read_grey(data):
    check(data[:8] == b"\x89PNG\r\n\x1a\n", "fixpolygon 2-D: the mask is a PNG")
    offset, idat, width, height = 8, b"", 0, 0
    while offset < len(data):
        (length,), kind = struct.unpack(">I", data[offset:offset + 4]), data[offset + 4:offset + 8]
        body = data[offset + 8:offset + 8 + length]
        if kind == b"IHDR":
            width, height = struct.unpack(">II", body[:8])
        elif kind == b"IDAT":
            idat += body
        offset += 12 + length
    raw = zlib.decompress(idat)
    rows = np.frombuffer(raw, np.uint8).reshape(height, width + 1)
    check(np.all(rows[:, 0] == 0), "fixpolygon 2-D: rows are unfiltered")
    return rows[:, 1:]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--server", required=True)
    p.add_argument("--image", required=True)
    p.add_argument("--label", required=True)
    args = p.parse_args()
    tmp = tempfile.mkdtemp(prefix="aiaa-replay-")
    client = PythonClient(args.server)
    image_bytes = open(args.image, "rb").read()
    source = nib.load(args.image)
    truth = np.asarray(nib.load(args.label).dataobj) == SPLEEN
    spleen = np.argwhere(truth)
    centre = spleen[np.argmin(((spleen - spleen.mean(0)) ** 2).sum(1))].tolist()
    windows_name = "C:\\Users\\ana\\AppData\\Local\\Temp\\slicer-aiaa\\tmpq1w2.nii.gz"

    # Listing, as Slicer (no filter), the Python client (?label=) and C++ (?model=) ask.
    response = client.request("GET", "/v1/models")
    models = json.loads(response.read())
    check(response.status == 200 and isinstance(models, list), "GET /v1/models is a JSON array")
    check(all(isinstance(m.get("version"), str) and "labels" in m and "description" in m and "name" in m for m in models),
          "every listing entry has name, labels, description and a string version")
    types = {m["name"]: m for m in models}
    check(types.get("deepgrow_3d", {}).get("deepgrow") == "3D" and types.get("deepgrow_2d", {}).get("deepgrow") == "2D",
          "deepgrow models say 2D / 3D")
    one = json.loads(client.request("GET", "/v1/models?model=deepgrow_3d").read())
    check(isinstance(one, dict) and one["name"] == "deepgrow_3d", "?model= returns one object (C++ reads name at the top)")
    by_label = json.loads(client.request("GET", "/v1/models?label=spleen").read())
    check([m["name"] for m in by_label] == ["abdominal_organs"], "?label=spleen finds abdominal_organs")

    # Auto-segmentation as Slicer does it: /v1/inference with {} and the volume under a Windows path.
    status, form, files, order = client.multipart("POST", "/v1/inference?model=abdominal_organs",
                                                  {"params": json.dumps({})}, {"datapoint": (windows_name, image_bytes)})
    check(status == 200, f"/v1/inference segmentation answers 200 (got {status}: {str(form)[:200]})")
    check(order[0] == "params", "params is the first part")
    params = json.loads(form["params"])
    check("points" in params, "segmentation params carry points")
    check(len(files) == 1, "exactly one file part, the result")
    result = save(next(iter(files.values())), tmp, "seg.nii.gz")
    check(result.shape == source.shape and np.allclose(result.affine, source.affine, atol=1e-4),
          "segmentation result has the input's dimensions and affine")
    seg = np.asarray(result.dataobj)
    check(result.get_data_dtype() == np.uint8, "the label map is uint8")
    dice = 2 * np.sum((seg == SPLEEN) & truth) / (np.sum(seg == SPLEEN) + truth.sum())
    check(dice > 0.7, f"spleen lands on the spleen (Dice {dice:.3f})")

    # output=image: the raw label map only (docs, OHIF, curl scripts).
    response = client.request("POST", "/v1/segmentation?model=abdominal_organs&output=image",
                              {"params": "{}"}, {"datapoint": (windows_name, image_bytes)})
    raw = response.read()
    check(response.status == 200 and raw[:2] == b"\x1f\x8b", "output=image returns the gzip NIfTI alone")

    # Sessions: PUT /session/ (no /v1), file part named image, no params.
    response = client.request("PUT", "/session/?expiry=600", None, {"image": (windows_name, image_bytes)})
    session = json.loads(response.read())
    check(response.status == 200 and isinstance(session.get("session_id"), str), "PUT /session/ gives a string session_id")
    sid = urllib.parse.quote(session["session_id"])
    check(client.request("GET", f"/session/{sid}").status == 200, "GET /session/{id} is 200 while it lives")

    # Deepgrow 2-D as Slicer sends it: current_point as [[i, j, k]], no file part.
    clicks = {"foreground": [centre], "background": [], "current_point": [centre]}
    status, form, files, _ = client.multipart("POST", f"/v1/inference?model=deepgrow_2d&session_id={sid}",
                                              {"params": json.dumps(clicks)}, {})
    check(status == 200, f"deepgrow 2-D on the session answers 200 (got {status})")
    mask = np.asarray(save(next(iter(files.values())), tmp, "dg2.nii.gz").dataobj)
    slices = sorted(set(np.argwhere(mask > 0)[:, 2].tolist()))
    check(slices == [centre[2]], f"deepgrow 2-D is non-zero only on slice {centre[2]} (got {slices[:5]})")

    # Deepgrow 3-D through /v1/deepgrow, clicks as JSON strings (older clients).
    clicks = {"foreground": json.dumps([centre]), "background": "[]", "current_point": centre}
    status, form, files, _ = client.multipart("POST", f"/v1/deepgrow?model=deepgrow_3d&session_id={sid}",
                                              {"params": json.dumps(clicks)}, {})
    check(status == 200, "deepgrow 3-D with JSON-string clicks answers 200")
    crop = json.loads(form["params"]).get("crop")
    check(isinstance(crop, list) and len(crop) == 3 and all(a <= c < b for (a, b), c in zip(crop, centre)),
          f"deepgrow 3-D reply carries the crop box around the click ({crop})")

    # DExtr3D: six extreme points as a JSON string (Python before PR #84).
    extremes = []
    for axis in range(3):
        extremes.append(spleen[spleen[:, axis].argmin()].tolist())
        extremes.append(spleen[spleen[:, axis].argmax()].tolist())
    status, form, files, _ = client.multipart("POST", f"/v1/dextr3d?model=dextr3d&session_id={sid}",
                                              {"params": json.dumps({"points": json.dumps(extremes)})}, {})
    check(status == 200, "dextr3d with a session answers 200")
    dextr = save(next(iter(files.values())), tmp, "dextr.nii.gz")
    check(dextr.shape == source.shape, "dextr3d with a session returns a full-size mask")

    # mask2polygon: plain JSON, per slice.
    spleen_mask = nib.Nifti1Image((seg == SPLEEN).astype(np.uint8), source.affine)
    nib.save(spleen_mask, os.path.join(tmp, "spleen.nii.gz"))
    mask_bytes = open(os.path.join(tmp, "spleen.nii.gz"), "rb").read()
    response = client.request("POST", "/v1/mask2polygon", {"params": json.dumps({"more_points": 1})},
                              {"datapoint": ("spleen.nii.gz", mask_bytes)})
    polygons = json.loads(response.read())
    check(response.status == 200 and len(polygons) == source.shape[2], "mask2polygon: a list per slice, plain JSON")
    k = centre[2]
    check(len(polygons[k]) >= 1, f"mask2polygon: slice {k} has the spleen's outline")

    # fixpolygon 2-D: a square on a PNG slice, one corner dragged.
    square = [[10, 10], [30, 10], [30, 30], [10, 30]]
    png = png_grey(64, 48, [0] * (64 * 48))
    edit = {"poly": [square], "vertex_offset": [6, 4], "dimension": 2, "polygon_index": 0, "vertex_index": 2,
            "propagate_neighbor": 1}
    status, form, files, _ = client.multipart("POST", "/v1/fixpolygon", {"params": json.dumps(edit)},
                                              {"datapoint": ("slice.png", png)})
    check(status == 200, f"fixpolygon 2-D answers 200 (got {status}: {str(form)[:200]})")
    moved = json.loads(form["params"])["poly"][0]
    check(moved[2] == [36, 34] and moved[0] == [10, 10], f"fixpolygon 2-D moves the vertex and spares the far one ({moved})")
    redrawn = png_read_grey(next(iter(files.values())))
    check(redrawn.shape == (48, 64) and redrawn[34, 36] == 1 and redrawn[20, 20] == 1 and redrawn[5, 5] == 0,
          "fixpolygon 2-D mask is the moved square, filled")

    # fixpolygon 3-D: the spleen mask, the slice's outline traced by the server.
    outline = polygons[k][0]
    edit = {"vertex_offset": [3, 0], "dimension": 3, "polygon_index": 0, "vertex_index": 0, "slice_index": k,
            "propagate_neighbor": 2, "propagate_neighbor_3d": 1}
    status, form, files, _ = client.multipart("POST", "/v1/fixpolygon", {"params": json.dumps(edit)},
                                              {"datapoint": ("spleen.nii.gz", mask_bytes)})
    check(status == 200, f"fixpolygon 3-D answers 200 (got {status}: {str(form)[:200]})")
    fixed = save(next(iter(files.values())), tmp, "fixed.nii.gz")
    moved = json.loads(form["params"])["poly"][0]
    check(fixed.shape == source.shape and moved[0] == [min(outline[0][0] + 3, source.shape[0] - 1), outline[0][1]],
          "fixpolygon 3-D returns the whole mask and the moved outline")
    far = [z for z in range(source.shape[2]) if abs(z - k) > 1]
    check(np.array_equal(np.asarray(fixed.dataobj)[:, :, far], (seg == SPLEEN)[:, :, far].astype(np.uint8)),
          "fixpolygon 3-D leaves slices beyond propagate_neighbor_3d untouched")

    # The C++ client: HTTP/1.0, no Content-Length, ended by half-close and by the delimiter alone.
    for half_close in (True, False):
        status, head, body = cpp_request(args.server, "PUT", "/session/", {"params": "{}"},
                                         {"image": ("image00.nii.gz", image_bytes)}, half_close)
        how = "half-close" if half_close else "closing delimiter"
        check(status == 200 and isinstance(json.loads(body).get("session_id"), str),
              f"C++ HTTP/1.0 PUT /session/ without Content-Length, ended by {how}")
    status, head, body = cpp_request(args.server, "POST", "/v1/segmentation?model=abdominal_organs",
                                     {"params": "{}"}, {"image": ("image00.nii.gz", image_bytes)}, False)
    check(status == 200 and "content-length" in head.lower() and "chunked" not in head.lower(),
          "C++ HTTP/1.0 segmentation: multipart reply with Content-Length")
    check(body.lstrip().startswith(b"--"), "reply body starts with the boundary (no preamble, as C++ requires)")

    # Session gone: DELETE is 200, then inference is 440, GET is 404.
    check(client.request("DELETE", f"/session/{sid}").status == 200, "DELETE /session/{id} is 200")
    status, body, _, _ = client.multipart("POST", f"/v1/inference?model=deepgrow_3d&session_id={sid}",
                                          {"params": json.dumps({"foreground": [centre], "background": []})}, {})
    check(status == 440, f"inference on a deleted session is 440 (got {status})")
    check(client.request("GET", f"/session/{sid}").status == 404, "GET of a deleted session is 404")

    # Errors the Python client shows to the Slicer user verbatim.
    response = client.request("POST", "/v1/inference?model=no_such_model", {"params": "{}"},
                              {"datapoint": (windows_name, image_bytes)})
    text = response.read().decode()
    check(response.status == 404 and "no_such_model" in text, f"unknown model is a 404 that names it ({text[:120]})")
    truncated = image_bytes[:len(image_bytes) // 3]
    response = client.request("POST", "/v1/inference?model=abdominal_organs", {"params": "{}"},
                              {"datapoint": (windows_name, truncated)})
    text = response.read().decode()
    check(response.status == 400 and "tmpq1w2.nii.gz" in text, f"a truncated NIfTI is a 400 naming the file ({text[:120]})")
    response = client.request("POST", "/v1/inference?model=deepgrow_3d", {"params": "{\"foreground\": [[1, 2"},
                              {"datapoint": (windows_name, image_bytes)})
    check(response.status == 400, "malformed params JSON is a 400")
    outside = [source.shape[0] + 5, 0, 0]
    response = client.request("POST", "/v1/inference?model=deepgrow_3d",
                              {"params": json.dumps({"foreground": [outside], "background": []})},
                              {"datapoint": (windows_name, image_bytes)})
    text = response.read().decode()
    check(response.status == 400 and "outside" in text, f"a click outside the volume is a 400 ({text[:120]})")
    check(client.request("GET", "/v1/models").status == 200, "the server still answers after the bad requests")
    print("aiaa replay passed", flush=True)


if __name__ == "__main__":
    main()
