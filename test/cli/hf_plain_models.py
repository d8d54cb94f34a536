"""The tiny Hugging Face-style classifiers of test/fixtures/huggingface, written again in plain torch, for
torch_written_score.py to score a written soup with: no transformers (nor its test-only stand-in) and no Model
Soup code. The state-dict names are the stand-in's (embeddings/conv/classifier), which a written soup must hold.
"""

import torch


class TinyText(torch.nn.Module):
    def __init__(self, config):
        super().__init__()
        self.embeddings = torch.nn.Embedding(config["vocab_size"], config["hidden_size"])
        self.classifier = torch.nn.Linear(config["hidden_size"], config["num_labels"])

    def forward(self, x):
        return self.classifier(self.embeddings(x.long()).mean(1))


class TinyVision(torch.nn.Module):
    def __init__(self, config):
        super().__init__()
        self.conv = torch.nn.Conv2d(config["num_channels"], config["hidden_size"], 3, padding=1)
        self.classifier = torch.nn.Linear(config["hidden_size"], config["num_labels"])

    def forward(self, x):
        return self.classifier(torch.relu(self.conv(x)).mean((2, 3)))


def from_config(config):
    return {"tiny-text": TinyText, "tiny-vision": TinyVision}[config["model_type"]](config)
