"""Scores TorchScript ingredients, their soups and their output ensemble with plain torch (no Model Soup code).

    python torch_soup_reference.py '<json request>'   -> one JSON line

Request: {models: TorchScript files, data: an .npz with x and y (class indices), soups: [{weights: one number per
model, used as given, overrides?: {"<module>.running_mean": [...], ...}}]}. A soup is the weighted sum of the
models' floating tensors (BatchNorm statistics included; other tensors are the first model's), then the overrides,
loaded into the first model. Answer: {ingredients, soups, ensemble}, each {loss, accuracy}: the mean cross-entropy
of the logits (the ensemble's: of the mean softmax probabilities, clipped at 1e-7 as Keras clips) and the accuracy
of their argmax.
"""

import json
import sys

import numpy as np
import torch

request = json.loads(sys.argv[1])
data = np.load(request["data"])
x = torch.from_numpy(data["x"]).float()
y = torch.from_numpy(data["y"]).long()
models = [torch.jit.load(path) for path in request["models"]]
for m in models:
    m.eval()


def logits_of(model):
    with torch.no_grad():
        return model(x)


def score(logits):
    loss = torch.nn.functional.cross_entropy(logits, y)
    return {"loss": float(loss), "accuracy": float((logits.argmax(1) == y).double().mean())}


def soup(weights, overrides):
    states = [m.state_dict() for m in models]
    mixed = {}
    for name, first in states[0].items():
        if first.is_floating_point():
            mixed[name] = sum(w * s[name].double() for w, s in zip(weights, states)).to(first.dtype)
        else:
            mixed[name] = first.clone()
    for name, values in (overrides or {}).items():
        mixed[name] = torch.tensor(values, dtype=mixed[name].dtype).reshape(mixed[name].shape)
    model = torch.jit.load(request["models"][0])
    model.load_state_dict(mixed, strict=True)
    model.eval()
    return model


all_logits = [logits_of(m) for m in models]
probabilities = torch.stack([torch.softmax(l.double(), 1) for l in all_logits]).mean(0)
picked = probabilities.gather(1, y[:, None]).squeeze(1).clamp(1e-7, 1 - 1e-7)
ensemble = {
    "loss": float(-picked.log().mean()),
    "accuracy": float((probabilities.argmax(1) == y).double().mean()),
}
print(
    json.dumps(
        {
            "ingredients": [score(l) for l in all_logits],
            "soups": [score(logits_of(soup(s["weights"], s.get("overrides")))) for s in request.get("soups", [])],
            "ensemble": ensemble,
        }
    )
)
