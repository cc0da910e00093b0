#!/usr/bin/env python3
"""Writes the tiny checkpoints that Lumen's loader tests read.

Each file exercises one thing the Swift loader must handle without Python:
zip top-folder names, the legacy format, wrappers, `module.` prefixes, views
with storage offsets, every dtype, 0-d tensors, safetensors, and files that
must be refused (a pickled MONAI module, TorchScript, an unsupported dtype).
Expected values go to expected.json; the Swift tests compare against it.

Run: scripts/setup_python && .venv-ref/bin/python scripts/make_checkpoint_fixtures.py
"""
import io, json, os, shutil, struct, sys
from collections import OrderedDict

import numpy as np
import torch

out = sys.argv[1] if len(sys.argv) > 1 else "Tests/LumenIOTests/Fixtures/checkpoints"
if os.path.isdir(out):
    shutil.rmtree(out)
os.makedirs(out)
torch.manual_seed(7)

base = OrderedDict()
base["conv.weight"] = torch.randn(2, 1, 3, 3, 3)
base["conv.bias"] = torch.randn(2)
base["norm.running_var"] = torch.rand(2) + 0.5
base["norm.num_batches_tracked"] = torch.tensor(17, dtype=torch.int64)

expected = {}
def record(name, sd, prefix=""):
    expected[name] = {
        "keys": [k.removeprefix(prefix) for k in sd.keys()],
        "tensors": {k.removeprefix(prefix): {"shape": list(v.shape), "values": v.detach().double().flatten().tolist()}
                    for k, v in sd.items()},
    }

def path(name):
    return os.path.join(out, name)

# Saved to a path: the top folder is the file stem ("weights/"), dots kept ("model.v2/").
torch.save(base, path("weights.pt")); record("weights.pt", base)
torch.save(base, path("model.v2.pth")); record("model.v2.pth", base)
# Saved to a stream: the top folder is "archive/".
buf = io.BytesIO(); torch.save(base, buf)
open(path("stream.pt"), "wb").write(buf.getvalue()); record("stream.pt", base)
# Legacy (pre-1.6) format.
torch.save(base, path("legacy.pt"), _use_new_zipfile_serialization=False); record("legacy.pt", base)

# Clara MMAR wrapper with train_conf and the kinds of extras trainers add.
train_conf = {"train": {"model": {"name": "UNet", "args": {"dimensions": 3, "in_channels": 1, "out_channels": 2,
              "channels": [4, 8], "strides": [2], "num_res_units": 1, "norm": ["batch", {"eps": 1e-5}]}},
              "loss": {"name": "DiceLoss", "args": {"to_onehot_y": True, "softmax": True}}},
              "epochs": 40, "learning_rate": 1e-4, "amp": False, "seed": None}
wrapped = {"model": base, "epoch": 3, "best_metric": np.float64(0.8125), "best_epoch": np.int64(2),
           "lr": 0.001, "train_conf": train_conf, "tags": ("a", "b")}
torch.save(wrapped, path("wrapped.pt")); record("wrapped.pt", base)
# Lightning-style wrapper, prefixed keys inside.
prefixed = OrderedDict(("module." + k, v) for k, v in base.items())
torch.save({"state_dict": prefixed, "global_step": 10}, path("lightning.pt")); record("lightning.pt", prefixed, "module.")
# DataParallel prefix on a bare state dict.
torch.save(prefixed, path("prefixed.pt")); record("prefixed.pt", prefixed, "module.")
# Parameters rather than tensors (dict(model.named_parameters())) go through _rebuild_parameter.
conv = torch.nn.Conv2d(1, 2, 2)
params = OrderedDict(conv.named_parameters())
torch.save(params, path("parameters.pt")); record("parameters.pt", params)

# Views sharing one storage: a transposed slice with an offset, a tail slice
# whose base tensor is not saved, and an expanded (stride 0) view.
grid = torch.arange(24, dtype=torch.float32).reshape(4, 6)
hidden = torch.arange(100, 110, dtype=torch.float32)
views = OrderedDict()
views["full"] = grid
views["view"] = grid[1:, 2:5].t()
views["row"] = grid[2]
views["tail"] = hidden[7:]
views["expanded"] = torch.tensor([1.0, -2.0, 3.0]).expand(2, 3)
assert views["view"].storage_offset() == 8 and not views["view"].is_contiguous()
torch.save(views, path("views.pt")); record("views.pt", views)
torch.save(views, path("views_legacy.pt"), _use_new_zipfile_serialization=False); record("views_legacy.pt", views)

# Every dtype, and 0-d tensors.
dtypes = OrderedDict()
dtypes["f64"] = torch.tensor([1.5, -2.25, 1e-3], dtype=torch.float64)
dtypes["f16"] = torch.tensor([0.5, -3.0, 65504.0], dtype=torch.float16)
dtypes["bf16"] = torch.tensor([1.0, -0.375, 3.0e38], dtype=torch.bfloat16)
dtypes["i64"] = torch.tensor([-5, 9, 1 << 40], dtype=torch.int64)
dtypes["i32"] = torch.tensor([7, -8], dtype=torch.int32)
dtypes["i16"] = torch.tensor([-300, 300], dtype=torch.int16)
dtypes["i8"] = torch.tensor([-128, 127], dtype=torch.int8)
dtypes["u8"] = torch.tensor([0, 255], dtype=torch.uint8)
dtypes["b"] = torch.tensor([True, False, True])
dtypes["scalar"] = torch.tensor(2.5)
dtypes["scalar_i64"] = torch.tensor(-3, dtype=torch.int64)
dtypes["empty"] = torch.zeros(0, 3)
dtypes["f16_t"] = torch.arange(6, dtype=torch.float16).reshape(2, 3).t()
torch.save(dtypes, path("dtypes.pt")); record("dtypes.pt", dtypes)
torch.save(dtypes, path("dtypes_legacy.pt"), _use_new_zipfile_serialization=False); record("dtypes_legacy.pt", dtypes)

# safetensors, written by hand with struct/json (the format is tiny).
ST = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16", torch.float64: "F64",
      torch.int64: "I64", torch.int32: "I32", torch.uint8: "U8", torch.bool: "BOOL"}
def write_safetensors(file, sd, metadata=None):
    header, body = {}, b""
    for k, v in sd.items():
        v = v.contiguous()
        raw = v.view(torch.int16).numpy().tobytes() if v.dtype == torch.bfloat16 else v.numpy().tobytes()
        header[k] = {"dtype": ST[v.dtype], "shape": list(v.shape), "data_offsets": [len(body), len(body) + len(raw)]}
        body += raw
    if metadata:
        header["__metadata__"] = metadata
    h = json.dumps(header).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    open(file, "wb").write(struct.pack("<Q", len(h)) + h + body)
mixed = OrderedDict(list(base.items()))
for k in ["f64", "f16", "bf16", "i64", "i32", "u8", "b", "scalar"]:
    mixed["d." + k] = dtypes[k]
write_safetensors(path("weights.safetensors"), mixed, {"format": "pt", "source": "lumen fixtures"})
record("weights.safetensors", mixed)

# Files the loader must refuse, each with its own error.
from monai.networks.nets import UNet
torch.save(UNet(spatial_dims=2, in_channels=1, out_channels=1, channels=(2, 2), strides=(2,), num_res_units=0),
           path("module.pt"))
torch.jit.script(torch.nn.Conv2d(1, 1, 1)).save(path("scripted.ts"))
torch.save({"w": torch.tensor([1, 2], dtype=torch.complex64)}, path("complex.pt"))

json.dump({"torch": torch.__version__, "numpy": np.__version__, "files": expected},
          open(path("expected.json"), "w"), indent=0)
for f in sorted(os.listdir(out)):
    print(f"{os.path.getsize(path(f)):8d} {f}")

# .npy files as numpy itself writes them, for the Npy reader's tests.
npy_out = os.path.join(os.path.dirname(out.rstrip("/")), "..", "NpyFixtures")
npy_out = os.path.normpath(npy_out)
if os.path.isdir(npy_out):
    shutil.rmtree(npy_out)
os.makedirs(npy_out)
rng = np.random.default_rng(3)
arrays = {
    "f4_v1": (rng.standard_normal((2, 3, 4)).astype("<f4"), (1, 0)),
    "f8_v2": (rng.standard_normal((3, 5)), (2, 0)),
    "f2": (np.array([0.5, -2.0, 1024.0], dtype="<f2"), (1, 0)),
    "i8": (np.array([[-7, 1 << 40], [0, 3]], dtype="<i8"), (1, 0)),
    "i4": (np.array([-2, 2], dtype="<i4"), (1, 0)),
    "i2": (np.array([-300, 300], dtype="<i2"), (1, 0)),
    "i1": (np.array([-128, 127], dtype="i1"), (1, 0)),
    "u1": (np.array([0, 200, 255], dtype="u1"), (1, 0)),
    "u2": (np.array([65535], dtype="<u2"), (1, 0)),
    "b1": (np.array([True, False]), (1, 0)),
    "scalar": (np.array(4.25, dtype="<f4"), (1, 0)),
    "empty": (np.zeros((0, 4), dtype="<f4"), (1, 0)),
}
npy_expected = {}
for name, (a, version) in arrays.items():
    with open(os.path.join(npy_out, name + ".npy"), "wb") as f:
        np.lib.format.write_array(f, a, version=version)
    npy_expected[name] = {"shape": list(a.shape), "values": a.astype(np.float64).flatten().tolist()}
# Refused layouts.
np.save(os.path.join(npy_out, "fortran.npy"), np.asfortranarray(rng.standard_normal((3, 4)).astype("<f4")))
np.save(os.path.join(npy_out, "bigendian.npy"), np.arange(4, dtype=">f4"))
np.save(os.path.join(npy_out, "complex.npy"), np.arange(4, dtype="<c8"))
json.dump(npy_expected, open(os.path.join(npy_out, "expected.json"), "w"), indent=0)
print("npy:", sorted(os.listdir(npy_out)))
