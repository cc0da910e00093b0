#!/usr/bin/env python3
"""The protocol-shift table of docs/models.md: mean Dice over labels of each segmentation bundle,
deepgrow 3-D's liver and spleen after three clicks and DExtr3D's mean over structures, on the held-out full-size phantoms of
every scan protocol (non-contrast first), from the JSON files scripts/evaluation/evaluate_all.sh
leaves, next to the bundles before appearance randomisation where `before_*.json` files are there.

  protocol_table.py RESULTS_DIR docs/models.md
"""
import json, os, sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from evaluate import replace_section  # noqa: E402

COLUMNS = [("non-contrast", ""), ("non-contrast", "_older"), ("arterial", ""), ("portal-venous", ""),
           ("portal-venous", "_older"), ("delayed", "")]
TITLES = {"": "", "_older": ", older bone"}


def mean(path):
    if not os.path.exists(path):
        return None
    r = json.load(open(path))
    return float(np.mean([np.mean(v) for v in r["present"].values() if v]))


def clicks(path):
    """'liver / spleen' after the last click, from evaluate_interactive.py's JSON."""
    if not os.path.exists(path):
        return None
    s = json.load(open(path))["summary"]
    return " / ".join(f"{s[n]['mean']:.3f}" if n in s else "–" for n in ("liver", "spleen"))


def interactive_mean(path):
    """Mean over structures, from evaluate_interactive.py's JSON."""
    return json.load(open(path))["mean"] if os.path.exists(path) else None


def main():
    results, doc = sys.argv[1], sys.argv[2]
    head = "| bundle | " + " | ".join(p + TITLES[o] for p, o in COLUMNS) + " |"
    lines = [head, "|---" * (len(COLUMNS) + 1) + "|"]
    for model in ("abdominal_organs", "bones"):
        cells = []
        for protocol, older in COLUMNS:
            now = mean(os.path.join(results, f"{model}_{protocol}{older}.json"))
            before = mean(os.path.join(results, f"before_{model}_{protocol}{older}.json"))
            if now is None:
                cells.append("–")
            elif before is None:
                cells.append(f"**{now:.3f}**")
            else:
                cells.append(f"**{now:.3f}** (was {before:.3f})")
        lines.append(f"| {model} | " + " | ".join(cells) + " |")
    cells = []
    for protocol, older in COLUMNS:
        now = clicks(os.path.join(results, f"deepgrow_3d_{protocol}.json")) if not older else None
        before = clicks(os.path.join(results, f"before_deepgrow_3d_{protocol}.json")) if not older else None
        cells.append("–" if now is None else f"**{now}**" + (f" (was {before})" if before else ""))
    lines.append("| deepgrow_3d: liver / spleen, 3 clicks | " + " | ".join(cells) + " |")
    cells = []
    for protocol, older in COLUMNS:
        now = interactive_mean(os.path.join(results, f"dextr3d_{protocol}.json")) if not older else None
        cells.append("–" if now is None else f"**{now:.3f}**")
    lines.append("| dextr3d: mean over structures, 6 extreme points | " + " | ".join(cells) + " |")
    text = "\n".join(lines) + ("\n\nMean Dice over labels on 10 held-out full-size phantoms per column (seed 6000; "
                               "`lumen phantom --protocol … [--bone-density older]`), in bold the shipped bundles, "
                               "in brackets the bundles trained on portal-venous phantoms only. Deepgrow 3-D: Dice "
                               "after the third click of the simulated user (centre, then the largest error). DExtr3D: "
                               "the 6 extreme points of each structure's largest piece; it is still the bundle "
                               "trained on portal-venous phantoms only (no bracket: nothing retrained to compare).")
    print(text)
    replace_section(doc, "protocol_shift", text)


if __name__ == "__main__":
    main()
