"""Plain-torch answers for the torchvision test (no engine code): the merged resnet18's outputs, and the loss and
dL/dalpha in float64 by autograd through functional_call, with BatchNorm's inference formula spelled out so its
running statistics are differentiated too (torch's batch_norm does not differentiate them). Finite differences are
no check here: ReLU and max-pool kinks make them converge only below h = 1e-5, under float32 noise.

    python torchvision_reference.py ALPHA_JSON DATA FILE...   -> {"pred": [...], "loss": x, "grad": [...]}
"""

import json
import sys

import torch
import torch.nn.functional as F
import torchvision
from torch.nn.utils.stateless import functional_call

alpha = json.loads(sys.argv[1])
data = torch.load(sys.argv[2], weights_only=True)
states = [torch.load(f, weights_only=True) for f in sys.argv[3:]]
x, y = data["x"], data["y"]


def merged(a, dtype):
    return {
        k: sum(a[i] * s[k].to(dtype) for i, s in enumerate(states)) if v.is_floating_point() else v
        for k, v in states[0].items()
    }


net = torchvision.models.resnet18(weights=None, num_classes=3).eval()
with torch.no_grad():
    net.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in merged(alpha, torch.float64).items()})
    pred = net(x)


def inference_batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False, momentum=0.1, eps=1e-5):
    shape = [1, -1] + [1] * (input.dim() - 2)
    scale = weight.view(shape) / torch.sqrt(running_var.view(shape) + eps)
    return (input - running_mean.view(shape)) * scale + bias.view(shape)


torch.nn.modules.batchnorm.F.batch_norm = inference_batch_norm
net = net.double()
a = torch.tensor(alpha, dtype=torch.float64, requires_grad=True)
loss = F.cross_entropy(functional_call(net, merged(a, torch.float64), (x.double(),)), y)
loss.backward()
print(json.dumps({"pred": pred.reshape(-1).tolist(), "loss": float(loss), "grad": a.grad.tolist()}))
