"""bench/torch-gpu, step 1: the ingredients and the data, generated here (nothing downloads).

A torchvision model with random-init weights (weights=None: no pretrained weights exist offline) is trained a few
steps as the base, then fine-tuned a few steps per seed on generated images: each class is a seeded pattern of
low-frequency sinusoids per channel, a sample is its class's pattern at a random contrast under noise.

usage: make.py OUT ARCH MODELS SIZE DEVICE BASE_STEPS TUNE_STEPS LEARN VALIDATION
writes OUT/ft{i}.pt (state dicts), OUT/{split}-x.f32 (float32 NCHW), OUT/{split}-y.f32 (class indices), meta.json
"""
import json
import math
import sys
import time

import torch
import torchvision

CLASSES = 10


def images(count, size, generator, patterns):
    y = torch.randint(0, CLASSES, (count,), generator=generator)
    contrast = 0.3 + 0.7 * torch.rand(count, 1, 1, 1, generator=generator)
    noise = torch.randn(count, 3, size, size, generator=generator)
    return patterns[y] * contrast + noise, y


def main():
    out, arch, models, size, device = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), torch.device(sys.argv[5])
    base_steps, tune_steps, learn_rows, val_rows = map(int, sys.argv[6:10])
    started = time.perf_counter()
    generator = torch.Generator().manual_seed(0)
    grid = torch.linspace(0, 2 * math.pi, size)
    fy, fx, phase = (torch.rand(CLASSES, 3, 1, 1, generator=generator) * 3 + 0.5 for _ in range(3))
    patterns = torch.sin(fy * grid[:, None] + fx * grid[None, :] + phase * 2)
    torch.manual_seed(0)
    model = getattr(torchvision.models, arch)(weights=None, num_classes=CLASSES).to(device)

    def train(steps, seed, lr):
        g = torch.Generator().manual_seed(1000 + seed)
        optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
        model.train()
        for _ in range(steps):
            x, y = images(32, size, g, patterns)
            optimizer.zero_grad()
            torch.nn.functional.cross_entropy(model(x.to(device)), y.to(device)).backward()
            optimizer.step()
        model.eval()

    train(base_steps, 0, 0.05)
    base = {k: v.detach().clone() for k, v in model.state_dict().items()}
    for i in range(models):
        model.load_state_dict(base)
        train(tune_steps, i + 1, 0.02)
        torch.save({k: v.detach().cpu() for k, v in model.state_dict().items()}, f"{out}/ft{i}.pt")
    splits = {}
    for split, rows in (("learn", learn_rows), ("validation", val_rows)):
        x, y = images(rows, size, generator, patterns)
        x.contiguous().numpy().tofile(f"{out}/{split}-x.f32")
        y.float().numpy().tofile(f"{out}/{split}-y.f32")
        splits[split] = [rows, 3, size, size]
    json.dump({"arch": arch, "models": models, "classes": CLASSES, "splits": splits}, open(f"{out}/meta.json", "w"))
    print(json.dumps({"made": models, "seconds": time.perf_counter() - started}))


if __name__ == "__main__":
    main()
