"""reference.py's CNN as a torch.nn.Module, for the PyTorch engine row of bench/learned-soup-cnn (run.ts passes
`--architecture torch_model.py:build`). Inputs NHWC as the data files hold them; the flatten takes NHWC order as
Keras does, so the weights are reference.py's, only in torch's layouts (conv [out, in, kh, kw], dense [out, in])."""
import torch

CHANNELS = [3, 16, 32, 64]
HIDDEN = 512
CLASSES = 10
EPS = 1e-3


class Cnn(torch.nn.Module):
    def __init__(self):
        super().__init__()
        blocks = []
        for b in range(3):
            blocks += [
                torch.nn.Conv2d(CHANNELS[b], CHANNELS[b + 1], 3, padding=1),
                torch.nn.BatchNorm2d(CHANNELS[b + 1], eps=EPS),
                torch.nn.ReLU(),
                torch.nn.MaxPool2d(2),
            ]
        self.features = torch.nn.Sequential(*blocks)
        self.dense1 = torch.nn.Linear(4 * 4 * CHANNELS[-1], HIDDEN)
        self.dense2 = torch.nn.Linear(HIDDEN, CLASSES)

    def forward(self, x):
        h = self.features(x.permute(0, 3, 1, 2))
        h = h.permute(0, 2, 3, 1).flatten(1)
        return self.dense2(torch.relu(self.dense1(h)))


def build():
    return Cnn()


def state_dict_of(params):
    """reference.py's parameter list (Keras layouts) as Cnn's state dict."""
    model = Cnn()
    state = {}
    for b in range(3):
        k, bias, gamma, beta, mean, var = params[6 * b : 6 * b + 6]
        conv, bn = f"features.{4 * b}", f"features.{4 * b + 1}"
        state[f"{conv}.weight"] = k.permute(3, 2, 0, 1).contiguous()
        state[f"{conv}.bias"] = bias
        state[f"{bn}.weight"], state[f"{bn}.bias"] = gamma, beta
        state[f"{bn}.running_mean"], state[f"{bn}.running_var"] = mean, var
        state[f"{bn}.num_batches_tracked"] = torch.tensor(0)
    state["dense1.weight"], state["dense1.bias"] = params[18].t().contiguous(), params[19]
    state["dense2.weight"], state["dense2.bias"] = params[20].t().contiguous(), params[21]
    model.load_state_dict({k: v.detach().clone() for k, v in state.items()})
    return model.state_dict()
