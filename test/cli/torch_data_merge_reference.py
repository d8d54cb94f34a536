"""RegMean, RegMean++ and Fisher merging of PyTorch state dicts by their papers' closed forms, in NumPy (float64),
with plain torch only to run the model and differentiate it: no Model Soup code, so a test can hold the written
file against it.

    python torch_data_merge_reference.py '<json request>'   -> one JSON line

Request: {factory: "file.py:function", models: [state dict .pt or .safetensors], data: .npz (x, y), learn: [row
indices of the learn split], method: regmean|regmean_plusplus|fisher, alpha?, epsilon?, examples?, target?:
labels|prediction, written?: the file to compare, test?: .npz to score the reference merge on}.
Answer: {layers: [weight names given Gram matrices / Fisher], maxDiff: max |reference − written| over every merged
value, maxValue: max |reference|, fromAverage: max |reference − plain average|, loss, accuracy}.
Convolution patches are cut here by explicit loops (not torch's unfold), in the weight's (c, ky, kx) order.
"""

import importlib.util
import json
import struct
import sys

import numpy as np
import torch

request = json.loads(sys.argv[1])
DTYPES = {"F32": np.float32, "F64": np.float64, "I64": np.int64}


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
        out[name] = np.frombuffer(body[start:end], dtype=DTYPES[info["dtype"]]).reshape(info["shape"]).copy()
    return out


def read_state(path):
    if path.endswith(".safetensors"):
        return read_safetensors(path)
    return {k: v.numpy() for k, v in torch.load(path, weights_only=True).items()}


def build():
    path, name = request["factory"].rsplit(":", 1)
    spec = importlib.util.spec_from_file_location("factory", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return getattr(module, name)()


def model_of(state):
    model = build()
    model.load_state_dict({k: torch.from_numpy(np.asarray(v)) for k, v in state.items()}, strict=True)
    return model.eval()


def patches(module, x):
    """The rows each output position of a convolution reads, padded with zeros, in (c, ky, kx) order."""
    if isinstance(module, torch.nn.Conv1d):
        x = x[:, :, None, :]
        k, s, d = (1, module.kernel_size[0]), (1, module.stride[0]), (1, module.dilation[0])
        p = module.padding if isinstance(module.padding, str) else (0, module.padding[0])
    else:
        k, s, d = module.kernel_size, module.stride, module.dilation
        p = module.padding
    pads = []
    for axis in (0, 1):
        if p == "same":
            total = d[axis] * (k[axis] - 1)
            pads.append((total // 2, total - total // 2))
        elif p == "valid":
            pads.append((0, 0))
        else:
            pads.append((p[axis], p[axis]))
    x = np.pad(x, ((0, 0), (0, 0), pads[0], pads[1]))
    b, c, h, w = x.shape
    oh = (h - d[0] * (k[0] - 1) - 1) // s[0] + 1
    ow = (w - d[1] * (k[1] - 1) - 1) // s[1] + 1
    rows = []
    for n in range(b):
        for oy in range(oh):
            for ox in range(ow):
                row = []
                for ch in range(c):
                    for ky in range(k[0]):
                        for kx in range(k[1]):
                            row.append(x[n, ch, oy * s[0] + ky * d[0], ox * s[1] + kx * d[1]])
                rows.append(row)
    return np.array(rows, dtype=np.float64)


def layer_inputs(model, x):
    """Each Linear / Conv1d / Conv2d layer's input rows on x, in the order the forward pass calls them."""
    seen = {}
    hooks = []
    for name, module in model.named_modules():
        if isinstance(module, (torch.nn.Linear, torch.nn.Conv1d, torch.nn.Conv2d)):
            def hook(m, inputs, name=name):
                seen[name] = (m, inputs[0].detach().double().numpy())
            hooks.append(module.register_forward_pre_hook(hook))
    with torch.no_grad():
        model(torch.from_numpy(x))
    for h in hooks:
        h.remove()
    out = {}
    for name, (m, inp) in seen.items():
        rows = inp.reshape(-1, m.in_features) if isinstance(m, torch.nn.Linear) else patches(m, inp)
        out[name] = rows
    return out


def regmean_kernel(weights, grams, alpha):
    """(Σ G̃_i)⁻¹ Σ G̃_i W_iᵀ with G̃ = α G + (1 − α) diag(G), for weights [out, d] (returned likewise)."""
    scaled = [alpha * g + (1 - alpha) * np.diag(np.diag(g)) for g in grams]
    total = sum(scaled)
    rhs = sum(g @ w.reshape(w.shape[0], -1).T for g, w in zip(scaled, weights))
    return np.linalg.solve(total, rhs).T.reshape(weights[0].shape)


states = [read_state(p) for p in request["models"]]
names = [k for k, v in states[0].items() if np.issubdtype(v.dtype, np.floating)]
average = {k: np.mean([s[k].astype(np.float64) for s in states], axis=0) for k in names}
data = np.load(request["data"])
learn = np.array(request["learn"], dtype=np.int64)
x = data["x"][learn].astype(np.float32)
alpha = request.get("alpha", 0.9)
merged = dict(average)
method = request["method"]
layers = []

if method == "regmean":
    inputs = [layer_inputs(model_of(s), x) for s in states]
    for layer in inputs[0]:
        weight = f"{layer}.weight"
        grams = [i[layer].T @ i[layer] for i in inputs]
        merged[weight] = regmean_kernel([s[weight].astype(np.float64) for s in states], grams, alpha)
        layers.append(weight)
elif method == "regmean_plusplus":
    current = {k: v.astype(np.float32) for k, v in average.items()}
    order = list(layer_inputs(model_of({**states[0], **current}), x))
    for layer in order:
        rows = layer_inputs(model_of({**states[0], **current}), x)[layer]
        gram = rows.T @ rows
        weight = f"{layer}.weight"
        merged[weight] = regmean_kernel([s[weight].astype(np.float64) for s in states], [gram] * len(states), alpha)
        current[weight] = merged[weight].astype(np.float32)
        layers.append(weight)
elif method == "fisher":
    epsilon = request.get("epsilon", 1e-6)
    count = min(len(learn), request.get("examples", 512))
    y = data["y"][learn]
    fishers = []
    for s in states:
        model = model_of(s)
        params = dict(model.named_parameters())
        sums = {k: np.zeros(p.shape) for k, p in params.items()}
        for e in range(count):
            logits = model(torch.from_numpy(x[e : e + 1]))
            target = logits.argmax(1) if request.get("target") == "prediction" else torch.tensor([int(y[e])])
            loss = torch.nn.functional.cross_entropy(logits, target, reduction="sum")
            grads = torch.autograd.grad(loss, list(params.values()))
            for k, g in zip(params, grads):
                sums[k] += g.double().numpy() ** 2
        fishers.append({k: v / count for k, v in sums.items()})
    for k in fishers[0]:
        f = [np.maximum(fi[k], epsilon) for fi in fishers]
        merged[k] = sum(fi * s[k].astype(np.float64) for fi, s in zip(f, states)) / sum(f)
        layers.append(k)
else:
    raise SystemExit(f"unknown method {method}")

answer = {
    "layers": layers,
    "maxValue": max(float(np.abs(merged[k]).max()) for k in names),
    "fromAverage": max(float(np.abs(merged[k] - average[k]).max()) for k in names),
}
if "written" in request:
    written = read_state(request["written"])
    assert sorted(written) == sorted(states[0]), (sorted(written), sorted(states[0]))
    answer["maxDiff"] = max(float(np.abs(written[k].astype(np.float64) - merged[k]).max()) for k in names)
if "test" in request:
    held = np.load(request["test"])
    model = model_of({**states[0], **{k: v.astype(np.float32) for k, v in merged.items()}})
    with torch.no_grad():
        logits = model(torch.from_numpy(held["x"].astype(np.float32)))
    target = torch.from_numpy(held["y"]).long()
    answer["loss"] = float(torch.nn.functional.cross_entropy(logits, target))
    answer["accuracy"] = float((logits.argmax(1) == target).double().mean())
print(json.dumps(answer))
