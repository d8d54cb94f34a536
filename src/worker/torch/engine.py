"""Model Soup's PyTorch engine: runs one model for the learner in the worker (src/worker/torch/torch-engine.ts).

Needs only the standard library and torch (>= 1.13). Started as `python engine.py`; it speaks over stdin/stdout
and writes its own diagnostics to stderr (anything user code prints goes there too: fd 1 is pointed at stderr
and the protocol uses a private duplicate of the original stdout).

Protocol (every message, both ways, one frame):

    uint32 LE  header length H
    uint64 LE  payload length P
    H bytes    header: UTF-8 JSON object
    P bytes    payload: raw little-endian numbers whose type the operation fixes (below)

The engine first sends {"ok": true, "ready": true, "torch": version, "python": version, "pid": n}. Each request
header has "op"; each answer is {"ok": true, ...} or {"ok": false, "error": "one line"}. Requests, in order of use:

  load        {model: {kind: "torchscript", path} | {kind: "architecture", spec, file},
               tensors: [[name, shape], ...] (the first checkpoint's, to check names and shapes, and infer
               num_classes for torchvision), device: "auto"|"cpu"|"cuda"|"cuda:N"|"mps",
               dtype: "float32"|"bfloat16"|"float16", threads?: n}
              -> {device, merged: [[name, shape], ...] (floating tensors, state-dict order), layers: [...],
                  batchNorm: [module, ...], copied: [name, ...] (integer tensors)}
  ingredients {file, n, base: bool, copied: [[name, dtype, byteOffset, byteLength], ...], copiedFile?}
              file: float32, for each merged tensor in order, its rows [base?, ingredient 0..n-1], each `size`
              values (C order) -> S_v = [n, size] (task vectors when base). copiedFile: raw bytes of the
              integer tensors (num_batches_tracked), taken from the first ingredient.
  data        {split: "learn"|"validation"|"test", x: {file, shape}, y?: {file, shape}}  (float32 files,
              memory-mapped with torch.from_file, never copied per step)
  write       {groupOf: [...], groups: G}, payload float64 alpha [n * G] (ingredient-major)
  gradient    {rows, objective, batchSize}, payload int32 row indices (empty: the whole split)
              -> {loss}, payload float64 dL/dalpha [n * G]
  score       {rows, objective, batchSize}, payload indices -> {loss, metric|null}
  predict     {rows, batchSize}, payload indices -> {shape}, payload float32 outputs
  reestimateBatchNorm {rows, batchSize}, payload indices
  readBatchNorm  -> {layers, sizes}, payload float32 (mean then variance of each layer)
  writeBatchNorm {sizes}, payload float32 as readBatchNorm gives it
  readMerged  -> {sizes}, payload float32 (the merged tensors, concatenated in `merged` order)
  exit

rows = {split: "learn"|"validation"|"test"|"learn+validation", indexed: bool}; objective = the worker's
Objective ({name: "supervised"|"entropy", task: {loss: {name, fromLogits}, metric, outputs, binary}}); the
losses and metrics below are the TypeScript ones (src/worker/learn/loss.ts) line for line.
"""

import importlib
import importlib.util
import json
import math
import os
import struct
import sys
import traceback

PROTOCOL_OUT = os.fdopen(os.dup(1), "wb", buffering=0)
os.dup2(2, 1)
sys.stdout = sys.stderr
PROTOCOL_IN = sys.stdin.buffer

import torch  # noqa: E402  (after the stdout redirection: importing may print)

EPSILON = 1e-7  # Keras' backend epsilon, as loss.ts clips probabilities
BATCH_NORM_CLASSES = ("BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "SyncBatchNorm")


class UsageError(Exception):
    """A request that cannot be carried out as given; its message is the one line the user sees."""


# ---- framing --------------------------------------------------------------------------------------------------


def read_exact(n):
    chunks = []
    while n > 0:
        chunk = PROTOCOL_IN.read(n)
        if not chunk:
            return None
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


def read_frame():
    head = read_exact(12)
    if head is None:
        return None, None
    h, p = struct.unpack("<IQ", head)
    header = json.loads(read_exact(h).decode("utf-8"))
    payload = read_exact(p) if p > 0 else b""
    return header, payload


def send(header, payload=b""):
    data = json.dumps(header).encode("utf-8")
    PROTOCOL_OUT.write(struct.pack("<IQ", len(data), len(payload)) + data)
    if payload:
        PROTOCOL_OUT.write(payload)


def to_bytes(tensor, dtype):
    flat = tensor.detach().to("cpu", dtype).contiguous().reshape(-1).clone()  # clone: its storage is exactly it
    if flat.numel() == 0:
        return b""
    storage = flat.untyped_storage() if hasattr(flat, "untyped_storage") else flat.storage().untyped()
    return bytes(storage)


def from_bytes(payload, dtype):
    if len(payload) == 0:
        return torch.zeros(0, dtype=dtype)
    return torch.frombuffer(bytearray(payload), dtype=dtype)


def mapped(path, count, dtype=torch.float32):
    """A read-only-in-effect view of a raw file (MAP_PRIVATE: nothing is ever written back)."""
    if count == 0:
        return torch.zeros(0, dtype=dtype)
    return torch.from_file(path, shared=False, size=count, dtype=dtype)


# ---- the model ------------------------------------------------------------------------------------------------


def resolve_device(name):
    if name in (None, "", "auto"):
        if torch.cuda.is_available():
            return torch.device("cuda:0")
        mps = getattr(torch.backends, "mps", None)
        return torch.device("mps" if mps is not None and mps.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise UsageError(f'unknown device "{name}"; expected auto, cpu, cuda, cuda:N or mps')
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise UsageError(f"device {name}: this torch ({torch.__version__}) sees no CUDA GPU")
        index = device.index or 0
        if index >= torch.cuda.device_count():
            raise UsageError(f"device {name}: there are {torch.cuda.device_count()} CUDA GPUs (cuda:0..)")
        return torch.device("cuda", index)
    if device.type == "mps":
        mps = getattr(torch.backends, "mps", None)
        if mps is None or not mps.is_available():
            raise UsageError("device mps: this torch has no usable MPS (Apple GPU) backend")
    return device


def load_user_callable(spec):
    """`file.py:function` or `module:callable` (split at the last colon, so C:\\ paths work)."""
    where, sep, name = spec.rpartition(":")
    if not sep or not where or not name:
        raise UsageError(f'architecture "{spec}": expected torchvision:<name>, <file.py>:<function> or <module>:<callable>')
    if where.endswith(".py"):
        path = os.path.abspath(where)
        if not os.path.isfile(path):
            raise UsageError(f"{where}: no such file (the architecture {spec})")
        folder = os.path.dirname(path)
        if folder not in sys.path:
            sys.path.insert(0, folder)
        module_spec = importlib.util.spec_from_file_location("model_soup_architecture", path)
        module = importlib.util.module_from_spec(module_spec)
        try:
            module_spec.loader.exec_module(module)
        except Exception as error:
            raise UsageError(f"{where}: importing it failed: {one_line(error)}")
        label = where
    else:
        try:
            module = importlib.import_module(where)
        except Exception as error:
            raise UsageError(f'architecture "{spec}": importing module {where} failed: {one_line(error)}')
        label = f"module {where}"
    factory = getattr(module, name, None)
    if factory is None or not callable(factory):
        raise UsageError(f"{label} has no function {name} (the architecture {spec})")
    try:
        model = factory()
    except Exception as error:
        raise UsageError(f"{label}: {name}() failed: {one_line(error)}")
    if not isinstance(model, torch.nn.Module):
        raise UsageError(f"{label}: {name}() returned {type(model).__name__}; expected a torch.nn.Module")
    return model


def last_weight_rows(shapes):
    """The output size of the classifier: the first dimension of the last tensor named *.weight."""
    for name, shape in reversed(shapes):
        if name.endswith("weight") and len(shape) >= 1:
            return shape[0]
    return None


def torchvision_model(name, shapes, file):
    try:
        import torchvision.models as models
    except Exception as error:
        raise UsageError(f"the architecture torchvision:{name} needs torchvision, which does not import here: {one_line(error)}")
    builder = getattr(models, name, None)
    listed = models.list_models() if hasattr(models, "list_models") else None
    if builder is None or not callable(builder) or name.startswith("_") or (listed is not None and name not in listed):
        raise UsageError(f"torchvision has no model named {name} (torchvision {getattr(__import__('torchvision'), '__version__', '?')})")

    def build(**kwargs):
        try:
            return builder(weights=None, **kwargs)
        except TypeError:  # torchvision < 0.13: pretrained=
            return builder(pretrained=False, **kwargs)

    model = build()
    wanted = dict((n, list(s)) for n, s in shapes)
    have = dict((n, list(t.shape)) for n, t in model.state_dict().items())
    if any(have.get(n) != s for n, s in wanted.items() if n in have):
        classes = last_weight_rows(shapes)
        if classes is not None:
            model = build(num_classes=classes)
    return model


def build_model(spec, shapes):
    kind = spec["kind"]
    if kind == "torchscript":
        try:
            return torch.jit.load(spec["path"], map_location="cpu"), spec["path"]
        except Exception as error:
            raise UsageError(f"{spec['path']}: not a TorchScript module torch.jit.load can run: {one_line(error)}")
    architecture = spec["spec"]
    if architecture.startswith("torchvision:"):
        return torchvision_model(architecture[len("torchvision:"):], shapes, spec.get("file")), architecture
    return load_user_callable(architecture), architecture


def is_batch_norm(module):
    if isinstance(module, torch.nn.modules.batchnorm._BatchNorm):
        return True
    return getattr(module, "original_name", None) in BATCH_NORM_CLASSES


def one_line(error):
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__


class Engine:
    def __init__(self):
        self.model = None
        self.splits = {}
        self.alpha_written = None

    # -- load ---------------------------------------------------------------------------------------------------

    def load(self, header, _):
        if header.get("threads"):
            torch.set_num_threads(int(header["threads"]))
        self.device = resolve_device(header.get("device"))
        self.dtype = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}.get(
            header.get("dtype") or "float32"
        )
        if self.dtype is None:
            raise UsageError(f'unknown dtype "{header.get("dtype")}"; expected float32, bfloat16 or float16')
        if self.dtype == torch.float16 and self.device.type == "cpu":
            raise UsageError("--dtype float16 runs on GPUs only; use float32 or bfloat16 on the CPU")
        shapes = [(n, list(s)) for n, s in header["tensors"]]
        file = header["model"].get("file") or header["model"].get("path")
        model, label = build_model(header["model"], shapes)
        model.eval()
        state = model.state_dict(keep_vars=True)
        wanted = dict(shapes)
        missing = [n for n in state if n not in wanted]
        extra = [n for n in wanted if n not in state]
        if missing:
            raise UsageError(f"{file} has no tensor {missing[0]} that {label} needs ({len(missing)} missing)")
        if extra:
            raise UsageError(f"{file} has tensor {extra[0]} that {label} does not have ({len(extra)} unexpected)")
        for n, t in state.items():
            if list(t.shape) != wanted[n]:
                raise UsageError(
                    f"{file}: tensor {n} has shape [{', '.join(map(str, wanted[n]))}], "
                    f"{label} expects [{', '.join(map(str, t.shape))}]"
                )
        model.to(self.device)
        self.model = model
        seen = set()
        self.targets = {}  # name -> the tensor in the model the merge writes
        self.merged, self.copied = [], []
        for n, t in model.state_dict(keep_vars=True).items():
            key = id(t)
            if key in seen:  # a tied weight: written once, under its first name
                continue
            seen.add(key)
            self.targets[n] = t
            (self.merged if t.is_floating_point() else self.copied).append(n)
        # A ScriptModule's state_dict holds plain tensors: its parameters are known by named_parameters().
        parameter_names = set(n for n, _ in model.named_parameters())
        self.params = [n for n in self.merged if n in parameter_names]
        for n in self.params:
            self.targets[n].requires_grad_(True)
        self.bn = [(name, m) for name, m in model.named_modules() if is_batch_norm(m) and name + ".running_mean" in self.targets]
        return {
            "device": str(self.device),
            "merged": [[n, list(self.targets[n].shape)] for n in self.merged],
            "layers": [n.rpartition(".")[0] or n for n in self.merged],
            "batchNorm": [name for name, _ in self.bn],
            "copied": self.copied,
        }

    def ingredients(self, header, _):
        n, base = header["n"], header["base"]
        rows = n + (1 if base else 0)
        sizes = [self.targets[v].numel() for v in self.merged]
        everything = mapped(header["file"], rows * sum(sizes))
        self.stacked, offset = [], 0
        for size in sizes:
            block = everything.narrow(0, offset, rows * size).view(rows, size)
            offset += rows * size
            if base:
                self.stacked.append(((block[1:] - block[0]).to(self.device), block[0].to(self.device)))
            else:
                self.stacked.append((block.to(self.device), None))
        self.n = n
        if header.get("copiedFile"):
            with open(header["copiedFile"], "rb") as f:
                raw = f.read()
            dtypes = {"int64": torch.int64, "int32": torch.int32, "int16": torch.int16, "int8": torch.int8, "uint8": torch.uint8, "bool": torch.bool}
            with torch.no_grad():
                for name, dtype, start, length in header["copied"]:
                    target = self.targets[name]
                    values = from_bytes(raw[start : start + length], dtypes[dtype]).view(target.shape)
                    target.copy_(values.to(target.dtype))
        self.alpha_written = None
        return {}

    def data(self, header, _):
        def tensor(part):
            shape = part["shape"]
            return mapped(part["file"], math.prod(shape)).view(*shape) if math.prod(shape) > 0 else torch.zeros(shape)

        x = tensor(header["x"])
        y = tensor(header["y"]) if header.get("y") else None
        self.splits[header["split"]] = (x, y)
        self.splits.pop("learn+validation", None)
        return {}

    # -- rows -----------------------------------------------------------------------------------------------------

    def split(self, name):
        if name == "learn+validation" and name not in self.splits and "learn" in self.splits and "validation" in self.splits:
            (lx, ly), (vx, vy) = self.splits["learn"], self.splits["validation"]
            y = torch.cat([ly, vy]) if ly is not None and vy is not None else None
            self.splits[name] = (torch.cat([lx, vx]), y)  # copied once, when a refit first asks for it
        if name not in self.splits:
            raise UsageError(f"the engine was given no {name} split")
        return self.splits[name]

    def batches(self, rows, payload, batch_size, no_single_tail=False):
        """(x, y, count) on the device for each batch of the selected rows."""
        x, y = self.split(rows["split"])
        indices = from_bytes(payload, torch.int32).long() if rows.get("indexed") else None
        total = x.shape[0] if indices is None else indices.numel()
        if indices is not None and total > 0 and (int(indices.min()) < 0 or int(indices.max()) >= x.shape[0]):
            raise UsageError(f"row index out of range for the {rows['split']} split of {x.shape[0]} rows")
        batch_size = max(1, int(batch_size or 256))
        starts = list(range(0, total, batch_size))
        ends = starts[1:] + [total]
        if no_single_tail and len(starts) > 1 and ends[-1] - starts[-1] == 1:
            starts.pop()
            ends.pop()
            ends[-1] = total
        for start, end in zip(starts, ends):
            if indices is None:
                bx, by = x[start:end], None if y is None else y[start:end]
            else:
                pick = indices[start:end]
                bx, by = x[pick], None if y is None else y[pick]
            yield bx.to(self.device), None if by is None else by.to(self.device), end - start

    def forward(self, x):
        if self.dtype != torch.float32:
            with torch.autocast(device_type=self.device.type, dtype=self.dtype):
                out = self.model(x)
        else:
            out = self.model(x)
        if isinstance(out, (tuple, list)):
            out = out[0]
        elif isinstance(out, dict):
            out = out["logits"] if "logits" in out else next(iter(out.values()))
        return out.float()

    # -- the soup -------------------------------------------------------------------------------------------------

    def write(self, header, payload):
        alpha = from_bytes(payload, torch.float64)
        key = (bytes(payload), tuple(header["groupOf"]), header["groups"])
        if self.alpha_written == key:
            return {}
        groups = header["groups"]
        columns = alpha.view(self.n, groups).to(torch.float32).to(self.device)
        with torch.no_grad():
            for v, name in enumerate(self.merged):
                s, base = self.stacked[v]
                w = columns[:, header["groupOf"][v]] @ s
                if base is not None:
                    w = w + base
                self.targets[name].copy_(w.view(self.targets[name].shape))
        self.alpha_written = key
        self.layout = (header["groupOf"], groups)
        return {}

    def gradient(self, header, payload):
        if getattr(self, "layout", None) is None:
            raise UsageError("no coefficients written yet: write comes before gradient")
        objective = header["objective"]
        params = [self.targets[n] for n in self.params]
        sums = [torch.zeros_like(p, dtype=torch.float32) for p in params]
        loss_sum, count = 0.0, 0
        for x, y, rows in self.batches(header["rows"], payload, header.get("batchSize")):
            losses = sample_objective(objective, self.forward(x), y)
            total = losses.sum()
            grads = torch.autograd.grad(total, params, allow_unused=True)
            for k, g in enumerate(grads):
                if g is not None:
                    sums[k] += g.float()
            loss_sum += float(total.detach())
            count += rows
        if count == 0:
            raise UsageError(f"no rows to take a gradient on in the {header['rows']['split']} split")
        grad_w = {n: g / count for n, g in zip(self.params, sums)}
        self.batch_norm_statistic_gradients(grad_w)
        group_of, groups = self.layout
        out = torch.zeros(self.n, groups, dtype=torch.float64)
        for v, name in enumerate(self.merged):
            g = grad_w.get(name)
            if g is None:
                continue
            s, _ = self.stacked[v]
            out[:, group_of[v]] += (s @ g.reshape(-1)).double().cpu()
        return {"loss": loss_sum / count}, to_bytes(out, torch.float64)

    def batch_norm_statistic_gradients(self, grad_w):
        """In inference mode y = γ (x − μ) / √(σ² + ε) + β, so ∂L/∂μ = −γ/√(σ²+ε) · ∂L/∂β and
        ∂L/∂σ² = −γ/(2(σ²+ε)) · ∂L/∂γ: the statistics' gradients follow from the affine parameters' (torch's
        batch_norm does not differentiate its running statistics)."""
        for name, module in self.bn:
            gw, gb = grad_w.get(name + ".weight"), grad_w.get(name + ".bias")
            if gw is None or gb is None:
                continue
            gamma = self.targets[name + ".weight"].detach()
            var = self.targets[name + ".running_var"].detach()
            denom = var + float(module.eps)
            if name + ".running_mean" in self.targets:
                grad_w[name + ".running_mean"] = -gamma / denom.sqrt() * gb
            grad_w[name + ".running_var"] = -gamma / (2 * denom) * gw

    def score(self, header, payload):
        objective = header["objective"]
        loss_sum, metric_sum, count, labelled = 0.0, 0.0, 0, True
        with torch.no_grad():
            for x, y, rows in self.batches(header["rows"], payload, header.get("batchSize")):
                pred = self.forward(x)
                loss_sum += float(sample_objective(objective, pred, y).sum())
                if y is None:
                    labelled = False
                else:
                    metric_sum += float(sample_metric(objective["task"], pred, y).sum())
                count += rows
        if count == 0:
            raise UsageError(f"no rows to score in the {header['rows']['split']} split")
        return {"loss": loss_sum / count, "metric": metric_sum / count if labelled else None}

    def predict(self, header, payload):
        outputs = []
        with torch.no_grad():
            for x, _, _ in self.batches(header["rows"], payload, header.get("batchSize")):
                outputs.append(self.forward(x).cpu())
        values = torch.cat(outputs) if outputs else torch.zeros(0)
        return {"shape": list(values.shape)}, to_bytes(values, torch.float32)

    # -- BatchNormalization -------------------------------------------------------------------------------------

    def reestimateBatchNorm(self, header, payload):
        """Each layer in model order, with its predecessors' new statistics in place: the exact mean and the
        population (biased) variance of its input over the rows, as the TF.js path (src/worker/learn/batchnorm.ts)
        and Keras define the re-estimated statistics, so one model gets the same soup on either engine (torch's own
        momentum=None pass stores the unbiased variance instead: count/(count − 1) times this). Only that layer is
        put in training mode (dropout stays off); torch's own update then reveals the batch's moments: with the
        statistics zeroed first, running_mean = m · mean and running_var = m · unbiased var (m: its momentum, 1 when
        None)."""
        for name, module in self.bn:
            mean_t, var_t = self.targets[name + ".running_mean"], self.targets[name + ".running_var"]
            tracked = self.targets.get(name + ".num_batches_tracked")
            kept = None if tracked is None else tracked.detach().clone()
            factor = module.momentum if module.momentum is not None else 1.0
            spatial = {}
            hook = None
            if isinstance(module, torch.nn.Module) and not isinstance(module, torch.jit.ScriptModule):
                hook = module.register_forward_pre_hook(
                    lambda m, inp: spatial.__setitem__("s", inp[0][0].numel() // inp[0].shape[1])
                )
            count, mean, m2 = 0, None, None
            module.train()
            try:
                with torch.no_grad():
                    for x, _, rows in self.batches(header["rows"], payload, header.get("batchSize"), no_single_tail=True):
                        mean_t.zero_()
                        var_t.zero_()
                        if tracked is not None:
                            tracked.zero_()
                        self.model(x)
                        b_mean = mean_t.detach().double().cpu() / factor
                        b_count = rows * spatial.get("s", 1)
                        b_m2 = var_t.detach().double().cpu() / factor * max(b_count - 1, 0)
                        if mean is None:
                            count, mean, m2 = b_count, b_mean, b_m2
                            continue
                        total = count + b_count
                        delta = b_mean - mean
                        mean = mean + delta * b_count / total
                        m2 = m2 + b_m2 + delta * delta * count * b_count / total
                        count = total
            finally:
                module.eval()
                if hook is not None:
                    hook.remove()
            with torch.no_grad():
                if mean is not None:
                    mean_t.copy_(mean.to(mean_t.dtype))
                    var_t.copy_((m2 / max(count, 1)).to(var_t.dtype))
                if kept is not None:
                    tracked.copy_(kept)
        self.alpha_written = None
        return {}

    def readBatchNorm(self, header, _):
        values, sizes = [], []
        for name, _m in self.bn:
            for stat in ("running_mean", "running_var"):
                t = self.targets[f"{name}.{stat}"].detach().float().cpu().reshape(-1)
                values.append(t)
                sizes.append(t.numel())
        flat = torch.cat(values) if values else torch.zeros(0)
        return {"layers": [n for n, _ in self.bn], "sizes": sizes}, to_bytes(flat, torch.float32)

    def writeBatchNorm(self, header, payload):
        flat = from_bytes(payload, torch.float32)
        holds = sum(self.targets[f"{name}.{stat}"].numel() for name, _m in self.bn for stat in ("running_mean", "running_var"))
        if holds != flat.numel():
            raise UsageError(f"BatchNorm statistics of {flat.numel()} values given, the model holds {holds}")
        offset = 0
        with torch.no_grad():
            for name, _m in self.bn:
                for stat in ("running_mean", "running_var"):
                    t = self.targets[f"{name}.{stat}"]
                    t.copy_(flat[offset : offset + t.numel()].view(t.shape))
                    offset += t.numel()
        self.alpha_written = None
        return {}

    def readMerged(self, header, _):
        parts = [self.targets[n].detach().float().cpu().reshape(-1) for n in self.merged]
        flat = torch.cat(parts) if parts else torch.zeros(0)
        return {"sizes": [p.numel() for p in parts]}, to_bytes(flat, torch.float32)


# ---- losses and metrics: src/worker/learn/loss.ts -------------------------------------------------------------


def class_indices_for(pred, y):
    units = pred.shape[-1] if pred.dim() > 0 else 1
    return units > 1 and y.numel() * units == pred.numel()


def loss_targets(pred, y):
    if not class_indices_for(pred, y):
        return y.float().reshape(pred.shape)
    units = pred.shape[-1]
    return torch.nn.functional.one_hot(y.reshape(-1).long(), units).float().reshape(pred.shape)


def sample_losses(loss, pred, y):
    batch = pred.shape[0]
    t = loss_targets(pred, y)
    name, logits = loss["name"], loss["fromLogits"]
    if name in ("categorical_crossentropy", "sparse_categorical_crossentropy"):
        if logits:
            logp = torch.log_softmax(pred, -1)
        else:
            p = pred / pred.sum(-1, keepdim=True)
            logp = p.clamp(EPSILON, 1 - EPSILON).log()
        per_row = -(t * logp).sum(-1)
        return per_row if per_row.dim() == 1 else per_row.reshape(batch, -1).mean(1)
    if name == "binary_crossentropy":
        if logits:
            elementwise = pred.relu() - pred * t + torch.log1p(torch.exp(-pred.abs()))
        else:
            p = pred.clamp(EPSILON, 1 - EPSILON)
            elementwise = -(t * p.log() + (1 - t) * (1 - p).log())
        return elementwise.reshape(batch, -1).mean(1)
    if name == "mean_squared_error":
        return (pred - t).square().reshape(batch, -1).mean(1)
    if name == "mean_absolute_error":
        return (pred - t).abs().reshape(batch, -1).mean(1)
    raise UsageError(f"unknown loss {name}")


def sample_entropy(task, pred):
    batch = pred.shape[0]
    logits = task["outputs"] == "logits"
    if task["binary"]:
        p = (torch.sigmoid(pred) if logits else pred).clamp(EPSILON, 1 - EPSILON)
        q = 1 - p
        return -(p * p.log() + q * q.log()).reshape(batch, -1).mean(1)
    logp = torch.log_softmax(pred, -1) if logits else pred.clamp(EPSILON, 1).log()
    return -(logp.exp() * logp).sum(-1).reshape(batch, -1).mean(1)


def sample_objective(objective, pred, y):
    if objective["name"] == "entropy":
        return sample_entropy(objective["task"], pred)
    if y is None:
        raise UsageError("the supervised objective needs labels; use the entropy objective for unlabeled data")
    return sample_losses(objective["task"]["loss"], pred, y)


def sample_metric(task, pred, y):
    batch = pred.shape[0]
    if task["metric"] == "mae":
        return (pred - loss_targets(pred, y)).abs().reshape(batch, -1).mean(1)
    threshold = 0.0 if task["outputs"] == "logits" else 0.5
    if task["binary"] or (task["loss"]["name"] == "binary_crossentropy" and not class_indices_for(pred, y)):
        predicted = pred > threshold
        return (predicted == (y.reshape(pred.shape) > 0.5)).float().reshape(batch, -1).mean(1)
    predicted = pred.argmax(-1)
    target = y.reshape(predicted.shape).long() if class_indices_for(pred, y) else y.argmax(-1)
    return (predicted == target).float().reshape(batch, -1).mean(1)


# ---- the loop -------------------------------------------------------------------------------------------------


def describe(error):
    if type(error).__name__ == "OutOfMemoryError" or (isinstance(error, RuntimeError) and "CUDA out of memory" in str(error)):
        return "CUDA out of memory: " + one_line(error).replace("CUDA out of memory. ", "")[:200]
    if isinstance(error, MemoryError):
        return "out of memory (the Python process could not allocate more)"
    if isinstance(error, UsageError):
        return str(error)
    return f"{type(error).__name__}: {one_line(error)}"


def main():
    import platform

    engine = Engine()
    send({"ok": True, "ready": True, "torch": torch.__version__, "python": platform.python_version(), "pid": os.getpid()})
    while True:
        header, payload = read_frame()
        if header is None or header.get("op") == "exit":
            return
        op = header.get("op")
        handler = getattr(Engine, op, None) if isinstance(op, str) and not op.startswith("_") else None
        if handler is None or op in ("split", "batches", "forward", "batch_norm_statistic_gradients"):
            send({"ok": False, "error": f"unknown request {op}"})
            continue
        if op != "load" and engine.model is None:
            send({"ok": False, "error": "no model loaded"})
            continue
        try:
            answer = handler(engine, header, payload)
        except Exception as error:  # one line for the user; the traceback only to stderr for a debugger
            if os.environ.get("MODEL_SOUP_ENGINE_TRACEBACK"):
                traceback.print_exc()
            send({"ok": False, "error": describe(error)})
            continue
        head, body = answer if isinstance(answer, tuple) else (answer, b"")
        send({"ok": True, **head}, body)


if __name__ == "__main__":
    main()
