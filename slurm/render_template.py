#!/usr/bin/env python3
"""Render slurm/finetune.sbatch.template by hand (admins, tests). Lumen renders it in Swift with the same rules:

  * {{name}} -> value; a placeholder without a value is an error (pass name= for an empty value);
  * an `#SBATCH` line holding a placeholder whose value is empty is dropped;
  * values may hold only letters, digits and . _ - / : , @ % + = (no spaces, quotes, $, newlines).

  python3 slurm/render_template.py --values job.json [--set key=value ...] [-o job.sbatch]
  python3 slurm/render_template.py --list            # placeholders in the template

Then check the rendered script without submitting it: `sbatch --test-only job.sbatch`.
"""
import argparse, json, os, re, sys

HERE = os.path.dirname(os.path.abspath(__file__))
PLACEHOLDER = re.compile(r"\{\{(\w+)\}\}")
SAFE = re.compile(r"[A-Za-z0-9._\-/:,@%+=]*")


def placeholders(text):
    return sorted(set(PLACEHOLDER.findall(text)))


def render(text, values):
    missing = [n for n in placeholders(text) if n not in values]
    if missing:
        raise ValueError("no value for: " + ", ".join(missing))
    for k, v in values.items():
        if not SAFE.fullmatch(str(v)):   # fullmatch: `$` would let a trailing newline through
            raise ValueError(f"unsafe value for {k}: {v!r}")
    out = []
    for line in text.splitlines(keepends=True):
        names = PLACEHOLDER.findall(line)
        if line.startswith("#SBATCH") and any(str(values[n]) == "" for n in names):
            continue
        out.append(PLACEHOLDER.sub(lambda m: str(values[m.group(1)]), line))
    return "".join(out)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--template", default=os.path.join(HERE, "finetune.sbatch.template"))
    p.add_argument("--values", help="JSON object of placeholder values")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("-o", "--output", help="write here (default: stdout)")
    p.add_argument("--list", action="store_true", help="print the template's placeholders and exit")
    a = p.parse_args()
    text = open(a.template).read()
    if a.list:
        print("\n".join(placeholders(text)))
        return 0
    values = {}
    if a.values:
        with open(a.values) as f:
            values.update({k: "" if v is None else v for k, v in json.load(f).items()})
    for kv in a.set:
        k, _, v = kv.partition("=")
        values[k] = v
    try:
        script = render(text, values)
    except ValueError as e:
        print(f"render_template: {e}", file=sys.stderr)
        return 2
    if a.output:
        with open(a.output, "w") as f:
            f.write(script)
        os.chmod(a.output, 0o755)
    else:
        sys.stdout.write(script)
    return 0


if __name__ == "__main__":
    sys.exit(main())
