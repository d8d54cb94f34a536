"""Scores a written soup with plain torch (no Model Soup code): independent of the tool that wrote it.

    python torch_written_score.py '<json request>'   -> one JSON line

Request: {model: the written file (.pt: TorchScript, or a state dict read with torch.load(weights_only=True);
.safetensors: parsed here by its published layout), template: a TorchScript file to load a state dict into, or
factory: "file.py:function" (called with the parsed JSON of `config`, a Hugging Face config.json, when the request
has one), data: an .npz with x and y (class indices)}. Answer: {kind, loss, accuracy}: the mean
cross-entropy of the model's logits and the accuracy of their argmax.
"""

import importlib.util
import json
import struct
import sys
import zipfile

import numpy as np
import torch

request = json.loads(sys.argv[1])
DTYPES = {"F32": torch.float32, "F64": torch.float64, "I64": torch.int64, "F16": torch.float16, "BF16": torch.bfloat16}


def read_safetensors(path):
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
        body = f.read()
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        start, end = info["data_offsets"]
        raw = bytearray(body[start:end])
        out[name] = torch.frombuffer(raw, dtype=DTYPES[info["dtype"]]).reshape(info["shape"]).clone()
    return out


def build():
    if "template" in request:
        return torch.jit.load(request["template"])
    path, name = request["factory"].rsplit(":", 1)
    spec = importlib.util.spec_from_file_location("factory", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    if "config" in request:
        with open(request["config"], encoding="utf8") as f:
            return getattr(module, name)(json.load(f))
    return getattr(module, name)()


path = request["model"]
if path.endswith(".safetensors"):
    kind, model = "safetensors", build()
    model.load_state_dict(read_safetensors(path), strict=True)
else:
    names = zipfile.ZipFile(path).namelist()
    if any("/code/" in n for n in names):
        kind, model = "torchscript", torch.jit.load(path)
    else:
        kind, model = "state_dict", build()
        model.load_state_dict(torch.load(path, weights_only=True), strict=True)
model.eval()
data = np.load(request["data"])
x = torch.from_numpy(data["x"]).float()
y = torch.from_numpy(data["y"]).long()
with torch.no_grad():
    logits = model(x)
loss = torch.nn.functional.cross_entropy(logits, y)
accuracy = (logits.argmax(1) == y).double().mean()
print(json.dumps({"kind": kind, "loss": float(loss), "accuracy": float(accuracy)}))
