#!/usr/bin/env python3
"""Previews as a person opens them: `lumen segment --preview` on a phantom stored RAS and on the
same scan stored LPS, and `lumen demo`'s previews, each opened and fully decoded with Pillow (an
image library that checks every chunk's CRC and the zlib stream, as viewers do) and shown by a
headless Chromium (the page reports the size it decoded). The RAS and LPS
pictures must agree everywhere but the caption that names each file's axis codes; the demo's report
must name its previews; each picture must stay well under 200 KB.

  .venv-client/bin/python scripts/live/preview_check.py --lumen .build/debug/lumen
"""
import argparse, os, re, shutil, subprocess, sys, tempfile

import nibabel as nib
import numpy as np
from PIL import Image

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))


def opened(path):
    with Image.open(path) as im:
        im.verify()   # structure and CRCs
    im = Image.open(path)
    im.load()         # the whole zlib stream
    assert im.format == "PNG" and im.mode == "RGB", (im.format, im.mode)
    assert os.path.getsize(path) < 200_000, f"{path}: {os.path.getsize(path)} bytes"
    return np.asarray(im)


def in_browser(path):
    """Headless Chromium loads the PNG in a page; the page's title says whether it decoded and at what size."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    assert browser, "no chromium on the PATH (scripts/setup chromium installs it)"
    page = os.path.join(os.path.dirname(path), "view-" + os.path.basename(path) + ".html")
    open(page, "w").write(f"""<html><body><img id="p" src="{os.path.basename(path)}"><script>
var img = document.getElementById('p');
function report() {{ document.title = 'decoded ' + img.naturalWidth + 'x' + img.naturalHeight; }}
if (img.complete && img.naturalWidth) report(); else {{ img.onload = report; img.onerror = function () {{ document.title = 'error'; }}; }}
</script></body></html>""")
    dom = subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--allow-file-access-from-files", "--dump-dom",
                          "file://" + page], capture_output=True, text=True, timeout=120).stdout
    title = re.search(r"<title>([^<]*)</title>", dom)
    return title.group(1) if title else "(no title)"


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--lumen", required=True)
    args = p.parse_args()
    lumen = os.path.abspath(args.lumen)
    work = tempfile.mkdtemp(prefix="lumen-preview-check-")
    subprocess.run([lumen, "phantom", "--output", work, "--count", "1", "--seed", "9100", "--size", "small"],
                   check=True, stdout=subprocess.DEVNULL)
    ras = os.path.join(work, "image00.nii.gz")
    img = nib.load(ras)
    # The same voxels stored with i and j reversed, and the affine saying so: an LPS file.
    flip = np.diag([-1.0, -1.0, 1.0, 1.0])
    flip[0, 3], flip[1, 3] = img.shape[0] - 1, img.shape[1] - 1
    lps = os.path.join(work, "image00_lps.nii.gz")
    nib.save(nib.Nifti1Image(np.asarray(img.dataobj)[::-1, ::-1, :].copy(), img.affine @ flip), lps)
    assert "".join(nib.aff2axcodes(nib.load(lps).affine)) == "LPS", nib.aff2axcodes(nib.load(lps).affine)
    pictures = []
    for name, path in [("ras", ras), ("lps", lps)]:
        png = os.path.join(work, f"{name}.png")
        subprocess.run([lumen, "segment", "--model", os.path.join(ROOT, "mmar", "abdominal_organs"), "--image", path,
                        "--output", os.path.join(work, f"{name}_seg.nii.gz"), "--preview", png], check=True,
                       stdout=subprocess.DEVNULL)
        pictures.append(opened(png))
        shown = in_browser(png)
        assert shown == f"decoded {pictures[-1].shape[1]}x{pictures[-1].shape[0]}", shown
    a, b = pictures
    assert a.shape == b.shape, (a.shape, b.shape)
    rows = np.nonzero((a != b).any(axis=(1, 2)))[0]
    # Only the caption differs (it names RAS or LPS, and the file): the title line and the info line.
    assert len(rows) <= 2 * 7, f"RAS and LPS previews differ on rows {rows.tolist()}"
    assert (a != 24).any(axis=2).sum() > 1000, "the preview is empty"
    print(f"ok: RAS and LPS previews {a.shape[1]}x{a.shape[0]} agree except {len(rows)} caption rows; headless Chromium shows both")

    demo = os.path.join(work, "demo")
    report = subprocess.run([lumen, "demo", "--output", demo, "--size", "small", "--port", "8191"], check=True,
                            capture_output=True, text=True).stdout
    named = [w.strip(",") for line in report.splitlines() for w in line.split() if w.endswith("_preview.png") or w.endswith("_preview.png,")]
    assert len(named) >= 3, report
    for name in named:
        picture = opened(os.path.join(demo, name))
        shown = in_browser(os.path.join(demo, name))
        assert shown == f"decoded {picture.shape[1]}x{picture.shape[0]}", (name, shown)
    print(f"ok: the demo's report names {len(named)} previews, and each opens: {', '.join(named)}")
    print("preview check passed")


if __name__ == "__main__":
    sys.exit(main())
