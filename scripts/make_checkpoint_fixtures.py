#!/usr/bin/env python3
"""Writes the tiny checkpoints that Lumen's loader tests read.

Each file exercises one thing the Swift loader must handle without Python:
zip top-folder names, the legacy format, wrappers, `module.` prefixes, views
with storage offsets, every dtype, 0-d tensors, safetensors, and a pickled
whole module (which must be refused). Expected values go to expected.json.

Run: scripts/setup_python && .venv-ref/bin/python scripts/make_checkpoint_fixtures.py
"""
import io, json, os, struct, sys
from collections import OrderedDict

import torch

out = sys.argv[1] if len(sys.argv) > 1 else "Tests/LumenIOTests/Fixtures/checkpoints"
os.makedirs(out, exist_ok=True)
torch.manual_seed(7)

base = OrderedDict()
base["conv.weight"] = torch.randn(2, 1, 3, 3, 3)
base["conv.bias"] = torch.randn(2)
base["norm.running_var"] = torch.rand(2) + 0.5
base["norm.num_batches_tracked"] = torch.tensor(17, dtype=torch.int64)

expected = {}
def record(name, sd):
    expected[name] = {k: {"shape": list(v.shape), "values": v.double().flatten().tolist()} for k, v in sd.items()}

# Saved to a path: the top folder is the file stem ("weights/").
torch.save(base, os.path.join(out, "weights.pt")); record("weights.pt", base)
# Saved to a stream: the top folder is "archive/".
buf = io.BytesIO(); torch.save(base, buf)
open(os.path.join(out, "stream.pt"), "wb").write(buf.getvalue()); record("stream.pt", base)
# Legacy (pre-1.6) format.
torch.save(base, os.path.join(out, "legacy.pt"), _use_new_zipfile_serialization=False); record("legacy.pt", base)
# Clara MMAR wrapper with train_conf.
wrapped = {"model": base, "epoch": 3, "train_conf": {"train": {"model": {"name": "UNet", "args": {"dimensions": 3, "channels": [4, 8]}}}}}
torch.save(wrapped, os.path.join(out, "wrapped.pt")); record("wrapped.pt", base)
# DataParallel prefix.
prefixed = OrderedDict(("module." + k, v) for k, v in base.items())
torch.save(prefixed, os.path.join(out, "prefixed.pt")); record("prefixed.pt", base)
# Views sharing one storage: a transposed slice with an offset.
storage = torch.arange(24, dtype=torch.float32).reshape(4, 6)
views = OrderedDict()
views["full"] = storage
views["view"] = storage[1:, 2:5].t()
torch.save(views, os.path.join(out, "views.pt")); record("views.pt", views)
# Every dtype, and a 0-d tensor.
dtypes = OrderedDict()
dtypes["f64"] = torch.tensor([1.5, -2.25], dtype=torch.float64)
dtypes["f16"] = torch.tensor([0.5, -3.0], dtype=torch.float16)
dtypes["bf16"] = torch.tensor([1.0, -0.375], dtype=torch.bfloat16)
dtypes["i64"] = torch.tensor([-5, 9], dtype=torch.int64)
dtypes["i32"] = torch.tensor([7, -8], dtype=torch.int32)
dtypes["u8"] = torch.tensor([0, 255], dtype=torch.uint8)
dtypes["b"] = torch.tensor([True, False])
dtypes["scalar"] = torch.tensor(2.5)
torch.save(dtypes, os.path.join(out, "dtypes.pt")); record("dtypes.pt", dtypes)

# safetensors, written by hand (the format is tiny).
def write_safetensors(path, sd):
    header, body = {}, b""
    for k, v in sd.items():
        raw = v.contiguous().numpy().astype("<f4").tobytes()
        header[k] = {"dtype": "F32", "shape": list(v.shape), "data_offsets": [len(body), len(body) + len(raw)]}
        body += raw
    header["__metadata__"] = {"format": "pt"}
    h = json.dumps(header).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    open(path, "wb").write(struct.pack("<Q", len(h)) + h + body)
floats = OrderedDict((k, v.float()) for k, v in base.items() if v.dtype == torch.float32)
write_safetensors(os.path.join(out, "weights.safetensors"), floats); record("weights.safetensors", floats)

# A whole pickled module, which a state-dict loader must refuse.
torch.save(torch.nn.Conv3d(1, 1, 1), os.path.join(out, "module.pt"))

json.dump({"torch": torch.__version__, "files": expected}, open(os.path.join(out, "expected.json"), "w"), indent=0)
print("wrote", sorted(os.listdir(out)))
