"""Plain-torch answers the engine's are checked against (no code shared with engine.py).

    python reference.py '<json request>'   -> one JSON line

Requests: {"op": "merged", files, alpha, factory, data, layerwise?} -> predictions, loss and accuracy of the merged
state dict loaded into factory's model; {"op": "gradient", ...} -> the loss and dL/dalpha of the MLP fixture written
out by hand in float64 (BatchNorm's inference formula spelled out, so its statistics are differentiated too);
{"op": "bn", ...} -> torch's own running statistics (momentum=None, statistics reset, one training-mode pass of each
BatchNorm module over all rows) of the merged model.
"""

import importlib.util
import json
import sys

import torch

request = json.loads(sys.argv[1])


def factory():
    path, name = request["factory"].rsplit(":", 1)
    spec = importlib.util.spec_from_file_location("factory", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return getattr(module, name)()


def data():
    d = torch.load(request["data"], weights_only=True)
    return d["x"], d["y"]


states = [torch.load(f, weights_only=True) for f in request["files"]]
alpha = torch.tensor(request["alpha"], dtype=torch.float64)
names = list(states[0].keys())


def merged_state(a):
    out = {}
    for k in names:
        if not states[0][k].is_floating_point():
            out[k] = states[0][k]
            continue
        out[k] = sum(a[i] * states[i][k].double() for i in range(len(states)))
    return out


x, y = data()
op = request["op"]
if op == "merged":
    model = factory()
    model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in merged_state(alpha).items()})
    model.eval()
    with torch.no_grad():
        pred = model(x)
    loss = torch.nn.functional.cross_entropy(pred, y)
    accuracy = (pred.argmax(1) == y).double().mean()
    print(json.dumps({"pred": pred.reshape(-1).tolist(), "loss": float(loss), "accuracy": float(accuracy)}))
elif op == "gradient":
    a = alpha.clone().requires_grad_(True)
    w = merged_state(a)
    h = x.double() @ w["0.weight"].T + w["0.bias"]
    h = (h - w["1.running_mean"]) / torch.sqrt(w["1.running_var"] + 1e-5) * w["1.weight"] + w["1.bias"]
    h = torch.relu(h)
    logits = h @ w["4.weight"].T + w["4.bias"]
    loss = torch.nn.functional.cross_entropy(logits, y)
    loss.backward()
    print(json.dumps({"loss": float(loss), "grad": a.grad.tolist()}))
elif op == "bn":
    model = factory()
    model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in merged_state(alpha).items()})
    model.eval()
    out = []
    for module in model.modules():
        if isinstance(module, torch.nn.modules.batchnorm._BatchNorm):
            module.momentum = None
            module.reset_running_stats()
            module.train()
            with torch.no_grad():
                model(x)
            module.eval()
            out.append([module.running_mean.tolist(), module.running_var.tolist()])
    print(json.dumps({"layers": out}))
