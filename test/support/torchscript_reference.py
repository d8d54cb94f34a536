"""Checks a merged TorchScript file against plain torch, independently of Model Soup's code.

Usage: torchscript_reference.py OUTPUT INPUT_SHAPE INGREDIENT...   (INPUT_SHAPE: one sample's shape, "6" or "2,8")

The reference is the first ingredient (torch.jit.load) with the plain average of every ingredient's floating
state-dict entries loaded into it (integer entries, such as num_batches_tracked, the first ingredient's). Prints one
JSON line: the largest difference between the output's and the reference's state dicts and their outputs (eval
mode) on seeded inputs, and whether integer entries are equal.
"""

import json
import sys

import torch


def main():
    output, shape, ingredients = sys.argv[1], [int(d) for d in sys.argv[2].split(",")], sys.argv[3:]
    states = [torch.jit.load(p).state_dict() for p in ingredients]
    average = {}
    for name, value in states[0].items():
        if value.is_floating_point():
            average[name] = sum(s[name].double() for s in states) / len(states)
        else:
            average[name] = value.clone()
    reference = torch.jit.load(ingredients[0])
    reference.load_state_dict({k: v.to(states[0][k].dtype) for k, v in average.items()})
    reference.eval()
    merged = torch.jit.load(output)
    merged.eval()
    got = merged.state_dict()
    state_diff = 0.0
    integers_equal = True
    for name, value in average.items():
        if value.is_floating_point():
            state_diff = max(state_diff, (got[name].double() - value).abs().max().item())
        else:
            integers_equal = integers_equal and torch.equal(got[name], value)
    torch.manual_seed(0)
    x = torch.randn(8, *shape)
    with torch.no_grad():
        output_diff = (merged(x) - reference(x)).abs().max().item()
        ingredient_diff = (merged(x) - torch.jit.load(ingredients[0]).eval()(x)).abs().max().item()
    print(
        json.dumps(
            {
                "keys": sorted(got.keys()) == sorted(average.keys()),
                "state_diff": state_diff,
                "output_diff": output_diff,
                "differs_from_first": ingredient_diff,
                "integers_equal": integers_equal,
            }
        )
    )


if __name__ == "__main__":
    main()
