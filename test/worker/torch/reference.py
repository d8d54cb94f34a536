"""Plain-torch answers the engine's are checked against (no code shared with engine.py).

    python reference.py '<json request>'   -> one JSON line

Requests: {"op": "merged", files, alpha, factory, data, layerwise?} -> predictions, loss and accuracy of the merged
state dict loaded into factory's model; {"op": "gradient", ...} -> the loss and dL/dalpha of the MLP fixture written
out by hand in float64 (BatchNorm's inference formula spelled out, so its statistics are differentiated too);
{"op": "bn", ...} -> the re-estimated statistics of the merged model, layer after layer: each BatchNorm module's
input over all rows (its predecessors re-estimated), its population mean and (biased) variance computed from that
input in float64 (layers), and what torch's own momentum=None training-mode pass stores (torch: the unbiased
running_var, and the count of values per channel).
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
    out, torch_own = [], []
    for module in model.modules():
        if isinstance(module, torch.nn.modules.batchnorm._BatchNorm):
            seen = []
            hook = module.register_forward_pre_hook(lambda m, inp: seen.append(inp[0].detach().double()))
            module.momentum = None
            module.reset_running_stats()
            module.train()
            with torch.no_grad():
                model(x)
            module.eval()
            hook.remove()
            # The population moments of the layer's input, per channel (dimension 1), in float64.
            h = seen[0].transpose(0, 1).reshape(seen[0].shape[1], -1)
            mean, var = h.mean(1), h.var(1, unbiased=False)
            torch_own.append({"count": h.shape[1], "running_var": module.running_var.tolist()})
            module.running_mean.copy_(mean.float())
            module.running_var.copy_(var.float())  # the next layer sees this layer's re-estimated statistics
            out.append([mean.tolist(), var.tolist()])
    print(json.dumps({"layers": out, "torch": torch_own}))
