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

  load        {model: {kind: "torchscript", path} | {kind: "architecture", spec, file} (spec "huggingface:<folder>":
               transformers builds the model from the folder's config.json; the weights are still loaded here),
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
  setTensors  {names}, payload float32 (the named merged tensors' values, concatenated): a data-aware merge or
              REPAIR's rescaled weights, in place of the soup now written until the next write
  linearMaps  -> {maps: [{module, weight, inputs}, ...] (in forward-pass order), notes: [...]}  (RegMean)
  grams       {rows, modules: [module, ...], batchSize}, payload indices -> {sizes}, payload float64 (XᵀX of each
              module's input rows, d×d row-major, concatenated)
  fisher      {rows, task, target: "labels"|"prediction", batchSize}, payload indices -> {names, sizes}, payload
              float32 (the mean squared per-example gradient of every parameter, concatenated in `names` order)
  timing      -> {timings: {op: [requests, seconds inside engine.py]}}
  structure   -> {nodes: [...]}: the torch.fx graph of the model (traced, shapes from one learn row), each node
              as traced_node describes it (src/core/align/torch-symmetry.ts reads it); TorchScript refused
  correlate   {a, b, probes: [[node, channel axis], ...], rows, batchSize} -> {channels: [C, ...]}, payload
              float64: per probe the C x C Pearson correlation of ingredient a's units (rows) with b's (columns)
              over the first `rows` learn rows
  moments     {probes, rows, batchSize} -> {channels}, payload float64: per probe C means then C (population)
              standard deviations of its output with the soup now written
  exit

Any request may carry "reply": false (TorchEngine sends it on a write followed at once by the request that needs
it): it is then answered only if it fails, and then in place of the next request's answer.

Data-parallel ranks (TorchEngine's nproc/nnodes options): started with MODEL_SOUP_RANK, MODEL_SOUP_WORLD_SIZE,
MODEL_SOUP_LOCAL_RANK, MODEL_SOUP_LOCAL_WORLD_SIZE, MODEL_SOUP_MASTER_ADDR and MODEL_SOUP_MASTER_PORT set, the processes form a torch.distributed
group (gloo for the requests and, on CPU, the reductions; NCCL for the reductions on CUDA). Rank 0 alone speaks the
protocol above and forwards every request to the others (a broadcast); every rank then carries it out on its own
contiguous share of the selected rows, the sums (loss, metric, dL/dalpha, row counts, Gram matrices, Fisher
squares, the activations' correlation and moment sums) are all-reduced, the
BatchNorm moments gathered and pooled in rank order, the predictions gathered in row order, and rank 0 answers.
Ranks of other nodes that do not see the temporary files get their contents broadcast from rank 0.

rows = {split: "learn"|"validation"|"test"|"learn+validation", indexed: bool}; objective = the worker's
Objective ({name: "supervised"|"entropy", task: {loss: {name, fromLogits}, metric, outputs, binary}}); the
losses and metrics below are the TypeScript ones (src/worker/learn/loss.ts) line for line.
"""

import ctypes
import importlib
import importlib.util
import json
import math
import os
import re
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


# ---- ranks ----------------------------------------------------------------------------------------------------


class Ranks:
    """This process's place among the data-parallel ranks (one rank: every collective is the identity)."""

    def __init__(self):
        env = os.environ
        self.rank = int(env.get("MODEL_SOUP_RANK", "0"))
        self.world = int(env.get("MODEL_SOUP_WORLD_SIZE", "1"))
        self.local = int(env.get("MODEL_SOUP_LOCAL_RANK", str(self.rank)))
        self.local_world = int(env.get("MODEL_SOUP_LOCAL_WORLD_SIZE", str(self.world)))
        self.group, self.device = None, torch.device("cpu")
        if self.world > 1:
            import datetime

            import torch.distributed as dist

            self.dist = dist
            address = f"tcp://{env.get('MODEL_SOUP_MASTER_ADDR', '127.0.0.1')}:{env['MODEL_SOUP_MASTER_PORT']}"
            timeout = datetime.timedelta(seconds=float(env.get("MODEL_SOUP_DIST_TIMEOUT", "1800")))
            dist.init_process_group("gloo", init_method=address, rank=self.rank, world_size=self.world, timeout=timeout)

    def use_device(self, device, shared=False):
        """Reductions on CUDA go through NCCL (a group every rank creates at load) when every rank has a GPU of its
        own on every node; elsewhere (CPU, ranks sharing a GPU, which NCCL refuses) through gloo on the CPU."""
        if self.world == 1:
            return
        nccl = device.type == "cuda" and not shared and self.dist.is_nccl_available()
        flag = torch.tensor([1 if nccl else 0], dtype=torch.int64)
        self.dist.all_reduce(flag, op=self.dist.ReduceOp.MIN)  # every rank makes the same choice
        if bool(flag[0]):
            self.group, self.device = self.dist.new_group(backend="nccl"), device

    def share(self, total):
        """This rank's contiguous share [lo, hi) of `total` selected rows."""
        return total * self.rank // self.world, total * (self.rank + 1) // self.world

    def sum(self, values):
        """Element-wise sum over the ranks of a float64 CPU tensor."""
        if self.world == 1:
            return values
        t = values.to(self.device)
        self.dist.all_reduce(t, group=self.group)
        return t.cpu()

    def gather(self, values):
        """Every rank's float64 CPU tensor of one shape, in rank order."""
        if self.world == 1:
            return [values]
        parts = [torch.zeros_like(values) for _ in range(self.world)]
        self.dist.all_gather(parts, values)
        return parts

    def gather_objects(self, value):
        if self.world == 1:
            return [value]
        parts = [None] * self.world
        self.dist.all_gather_object(parts, value)
        return parts

    def forward_frame(self, header, payload):
        """Rank 0: hands a request to every other rank."""
        data = json.dumps(header).encode("utf-8")
        self.broadcast_bytes(struct.pack("<IQ", len(data), len(payload)) + data + payload)

    def next_frame(self):
        """Other ranks: the request rank 0 forwarded."""
        raw = self.broadcast_bytes(None)
        h, p = struct.unpack("<IQ", raw[:12])
        return json.loads(raw[12 : 12 + h].decode("utf-8")), raw[12 + h : 12 + h + p]

    def broadcast_bytes(self, data):
        size = torch.tensor([0 if data is None else len(data)], dtype=torch.int64)
        self.dist.broadcast(size, 0)
        buffer = torch.frombuffer(bytearray(data), dtype=torch.uint8) if data else torch.zeros(int(size[0]), dtype=torch.uint8)
        if int(size[0]) > 0:
            self.dist.broadcast(buffer, 0)
        return bytes(buffer.numpy()) if data is None else data

    def everyone_sees(self, path):
        if self.world == 1:
            return True
        flag = torch.tensor([1 if os.path.isfile(path) else 0], dtype=torch.int64)
        self.dist.all_reduce(flag, op=self.dist.ReduceOp.MIN)
        return bool(flag[0])

    def file_tensor(self, path, count, dtype=torch.float32):
        """A raw file as a tensor on every rank: memory-mapped where every rank sees it, else rank 0's copy."""
        if self.everyone_sees(path):
            return mapped(path, count, dtype)
        values = mapped(path, count, dtype).clone() if self.rank == 0 else torch.zeros(count, dtype=dtype)
        if count > 0:
            self.dist.broadcast(values, 0)
        return values

    def file_bytes(self, path):
        if self.everyone_sees(path):
            with open(path, "rb") as f:
                return f.read()
        if self.rank == 0:
            with open(path, "rb") as f:
                return self.broadcast_bytes(f.read())
        return self.broadcast_bytes(None)

    def close(self):
        if self.world > 1:
            self.dist.destroy_process_group()


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
    PROTOCOL_OUT.write(struct.pack("<IQ", len(data), len(payload)) + data + payload)


def to_bytes(tensor, dtype):
    flat = tensor.detach().to("cpu", dtype).contiguous().reshape(-1)
    if flat.numel() == 0:
        return b""
    # One copy of the tensor's memory (bytes(storage) reads it one element at a time in Python: 4 s per MB).
    return ctypes.string_at(flat.data_ptr(), flat.numel() * flat.element_size())


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
        raise UsageError(f'architecture "{spec}": expected torchvision:<name>, <file.py>:<function>, <module>:<callable> or huggingface:<folder>')
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


def huggingface_model(folder):
    """The model a Hugging Face folder's config.json describes, built by transformers with fresh weights (the
    engine loads the checkpoint's own, as for every architecture): the class its "architectures" names, else
    AutoModel."""
    where = os.path.abspath(folder)
    try:
        import transformers
    except ImportError:
        raise UsageError(
            f"{where} is a Hugging Face model folder (config.json), and building it needs transformers, which "
            f"{sys.executable} cannot import: pip install transformers (into that interpreter), or choose one "
            "that has it with --python"
        )
    try:
        config = transformers.AutoConfig.from_pretrained(where)
    except Exception as error:
        raise UsageError(f"{os.path.join(where, 'config.json')}: transformers cannot read it: {one_line(error)}")
    names = list(getattr(config, "architectures", None) or [])
    try:
        if names:
            model_class = getattr(transformers, names[0], None)
            if model_class is None:
                raise UsageError(
                    f"{os.path.join(where, 'config.json')}: transformers {getattr(transformers, '__version__', '?')} "
                    f'has no model class {names[0]} (its "architectures")'
                )
            model = model_class(config)
        else:
            model = transformers.AutoModel.from_config(config)
    except UsageError:
        raise
    except Exception as error:
        raise UsageError(f"{where}: transformers cannot build the model its config.json describes: {one_line(error)}")
    if not isinstance(model, torch.nn.Module):
        raise UsageError(f"{where}: transformers built a {type(model).__name__}; expected a torch.nn.Module")
    return model


def build_model(spec, shapes):
    kind = spec["kind"]
    if kind == "torchscript":
        try:
            return torch.jit.load(spec["path"], map_location="cpu"), spec["path"]
        except Exception as error:
            raise UsageError(f"{spec['path']}: not a TorchScript module torch.jit.load can run: {one_line(error)}")
    architecture = spec["spec"]
    if architecture.startswith("huggingface:"):
        return huggingface_model(architecture[len("huggingface:"):]), architecture
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
    def __init__(self, ranks=None):
        self.ranks = ranks or Ranks()
        self.timings = {}  # op -> [requests, seconds inside the handler]
        self.model = None
        self.splits = {}
        self.alpha_written = None
        self.token_ids = False

    # -- load ---------------------------------------------------------------------------------------------------

    def load(self, header, _):
        if header.get("threads"):
            torch.set_num_threads(int(header["threads"]))
        self.device = resolve_device(header.get("device"))
        shared = False
        if self.ranks.world > 1 and self.device.type == "cuda":
            # One GPU per rank of this node from the one named on; more ranks than GPUs share them round-robin.
            first, count = self.device.index or 0, torch.cuda.device_count()
            shared = self.ranks.local_world > count - first
            self.device = torch.device("cuda", first + self.ranks.local % (count - first))
        self.ranks.use_device(self.device, shared)
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
        self.file = file
        model.eval()
        state = model.state_dict(keep_vars=True)
        wanted = dict(shapes)
        # A tied weight the checkpoint holds under one name only (save_pretrained leaves lm_head.weight out when it
        # is the embeddings') is no missing tensor.
        held = set(id(t) for n, t in state.items() if n in wanted)
        missing = [n for n in state if n not in wanted and id(state[n]) not in held]
        # transformers' own list of checkpoint tensors its models no longer have (position_ids buffers that older
        # versions saved): left in the file, as from_pretrained leaves them.
        ignored = [re.compile(p) for p in (getattr(model, "_keys_to_ignore_on_load_unexpected", None) or [])]
        extra = [n for n in wanted if n not in state and not any(p.search(n) for p in ignored)]
        if missing:
            raise UsageError(f"{file} has no tensor {missing[0]} that {label} needs ({len(missing)} missing)")
        if extra:
            raise UsageError(f"{file} has tensor {extra[0]} that {label} does not have ({len(extra)} unexpected)")
        for n, t in state.items():
            if n in wanted and list(t.shape) != wanted[n]:
                raise UsageError(
                    f"{file}: tensor {n} has shape [{', '.join(map(str, wanted[n]))}], "
                    f"{label} expects [{', '.join(map(str, t.shape))}]"
                )
        model.to(self.device)
        self.model, self.file = model, file
        seen = set()
        self.targets = {}  # name -> the tensor in the model the merge writes
        self.merged, self.copied = [], []
        for n, t in model.state_dict(keep_vars=True).items():
            key = id(t)
            if key in seen or n not in wanted:  # a tied weight: written once, under its first name the file holds
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
        # A model that takes token ids (transformers' main_input_name): the data's float32 rows become int64 ids.
        self.token_ids = getattr(model, "main_input_name", None) == "input_ids"
        embeddings = model.get_input_embeddings() if self.token_ids and hasattr(model, "get_input_embeddings") else None
        self.vocabulary = getattr(embeddings, "num_embeddings", None)
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
        everything = self.ranks.file_tensor(header["file"], rows * sum(sizes))
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
            raw = self.ranks.file_bytes(header["copiedFile"])
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
            count = math.prod(shape)
            return self.ranks.file_tensor(part["file"], count).view(*shape) if count > 0 else torch.zeros(shape)

        x = tensor(header["x"])
        if self.token_ids:
            self.check_token_ids(x, header["split"])
        y = tensor(header["y"]) if header.get("y") else None
        self.splits[header["split"]] = (x, y)
        self.splits.pop("learn+validation", None)
        return {}

    def check_token_ids(self, x, split):
        """Token ids arrive as float32 (exact up to 2**24): each must be a whole number within the vocabulary."""
        if x.numel() == 0:
            return
        top = self.vocabulary if self.vocabulary is not None else 2**24
        bad = (x != x.round()) | (x < 0) | (x >= top)
        if bool(bad.any()):
            value = float(x[bad][0])
            raise UsageError(
                f"{self.file}: the model takes token ids (its main_input_name is input_ids), and the {split} rows "
                f"hold {value:g}; expected whole numbers from 0 to {top - 1}"
            )

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
        """(x, y, count) on the device for each batch of this rank's share of the selected rows (all of them on
        one rank)."""
        x, y = self.split(rows["split"])
        indices = from_bytes(payload, torch.int32).long() if rows.get("indexed") else None
        total = x.shape[0] if indices is None else indices.numel()
        if indices is not None and total > 0 and (int(indices.min()) < 0 or int(indices.max()) >= x.shape[0]):
            raise UsageError(f"row index out of range for the {rows['split']} split of {x.shape[0]} rows")
        lo, hi = self.ranks.share(total)
        batch_size = max(1, int(batch_size or 256))
        starts = list(range(lo, hi, batch_size))
        ends = starts[1:] + [hi]
        if no_single_tail and len(starts) > 1 and ends[-1] - starts[-1] == 1:
            starts.pop()
            ends.pop()
            ends[-1] = hi
        for start, end in zip(starts, ends):
            if indices is None:
                bx, by = x[start:end], None if y is None else y[start:end]
            else:
                pick = indices[start:end]
                bx, by = x[pick], None if y is None else y[pick]
            yield bx.to(self.device), None if by is None else by.to(self.device), end - start

    def forward(self, x):
        if self.token_ids:
            x = x.long()
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
        if objective["name"] != "entropy" and self.split(header["rows"]["split"])[1] is None:
            sample_objective(objective, None, None)  # the one-line refusal, on every rank whatever its share
        params = [self.targets[n] for n in self.params]
        sums = [None] * len(params)
        loss_sum, count = 0.0, 0
        for x, y, rows in self.batches(header["rows"], payload, header.get("batchSize")):
            losses = sample_objective(objective, self.forward(x), y)
            total = losses.sum()
            grads = torch.autograd.grad(total, params, allow_unused=True)
            for k, g in enumerate(grads):
                if g is not None:
                    sums[k] = g if sums[k] is None else sums[k] + g
            loss_sum += float(total.detach())
            count += rows
        # dL/dα is linear in dL/dW: each rank takes it from its own row sums, and the ranks' sums are added.
        group_of, groups = self.layout
        out = torch.zeros(self.n, groups, dtype=torch.float64)
        if count > 0:
            grad_w = {n: g.float() for n, g in zip(self.params, sums) if g is not None}
            self.batch_norm_statistic_gradients(grad_w)
            with torch.no_grad():
                for v, name in enumerate(self.merged):
                    g = grad_w.get(name)
                    if g is None:
                        continue
                    s, _ = self.stacked[v]
                    out[:, group_of[v]] += (s @ g.reshape(-1)).double().cpu()
        totals = self.ranks.sum(torch.cat([torch.tensor([loss_sum, float(count)], dtype=torch.float64), out.reshape(-1)]))
        count = float(totals[1])
        if count == 0:
            raise UsageError(f"no rows to take a gradient on in the {header['rows']['split']} split")
        return {"loss": float(totals[0]) / count}, to_bytes(totals[2:] / count, torch.float64)

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
        loss_sum, metric_sum, count = 0.0, 0.0, 0
        labelled = self.split(header["rows"]["split"])[1] is not None
        if objective["name"] != "entropy" and not labelled:
            sample_objective(objective, None, None)  # the one-line refusal, on every rank whatever its share
        with torch.no_grad():
            for x, y, rows in self.batches(header["rows"], payload, header.get("batchSize")):
                pred = self.forward(x)
                loss_sum += float(sample_objective(objective, pred, y).sum())
                if labelled:
                    metric_sum += float(sample_metric(objective["task"], pred, y).sum())
                count += rows
        totals = self.ranks.sum(torch.tensor([loss_sum, metric_sum, float(count)], dtype=torch.float64))
        count = float(totals[2])
        if count == 0:
            raise UsageError(f"no rows to score in the {header['rows']['split']} split")
        return {"loss": float(totals[0]) / count, "metric": float(totals[1]) / count if labelled else None}

    def predict(self, header, payload):
        outputs = []
        with torch.no_grad():
            for x, _, _ in self.batches(header["rows"], payload, header.get("batchSize")):
                outputs.append(self.forward(x).cpu())
        mine = torch.cat(outputs) if outputs else None
        parts = [p for p in self.ranks.gather_objects(mine) if p is not None]  # in rank order: in row order
        values = torch.cat(parts) if parts else torch.zeros(0)
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
                        self.model(x.long() if self.token_ids else x)
                        b_mean = mean_t.detach().double().cpu() / factor
                        b_count = rows * spatial.get("s", 1)
                        b_m2 = var_t.detach().double().cpu() / factor * max(b_count - 1, 0)
                        count, mean, m2 = pooled((count, mean, m2), (b_count, b_mean, b_m2))
            finally:
                module.eval()
                if hook is not None:
                    hook.remove()
            if self.ranks.world > 1:  # every rank pools every rank's moments, in rank order: the same statistics
                c = mean_t.numel()
                mine = torch.zeros(1 + 2 * c, dtype=torch.float64)
                if mean is not None:
                    mine[0], mine[1 : 1 + c], mine[1 + c :] = float(count), mean.reshape(-1), m2.reshape(-1)
                count, mean, m2 = 0, None, None
                for part in self.ranks.gather(mine):
                    if float(part[0]) > 0:
                        count, mean, m2 = pooled((count, mean, m2), (float(part[0]), part[1 : 1 + c], part[1 + c :]))
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

    def timing(self, header, _):
        """Requests carried out so far and the seconds spent inside them, per op (for the benchmarks)."""
        return {"timings": self.timings}

    def readMerged(self, header, _):
        parts = [self.targets[n].detach().float().cpu().reshape(-1) for n in self.merged]
        flat = torch.cat(parts) if parts else torch.zeros(0)
        return {"sizes": [p.numel() for p in parts]}, to_bytes(flat, torch.float32)

    def setTensors(self, header, payload):
        """Writes the given values into the named merged tensors (a data-aware merge's result, computed in the
        worker); the next coefficient write is then carried out even if it repeats the last one."""
        flat = from_bytes(payload, torch.float32)
        names, offset = header["names"], 0
        with torch.no_grad():
            for name in names:
                if name not in self.merged:
                    raise UsageError(f"the model has no merged tensor {name}")
                t = self.targets[name]
                if offset + t.numel() > flat.numel():
                    raise UsageError(f"setTensors: {flat.numel()} values given for {len(names)} tensors")
                t.copy_(flat[offset : offset + t.numel()].view(t.shape).to(t.device, t.dtype))
                offset += t.numel()
        if offset != flat.numel():
            raise UsageError(f"setTensors: {flat.numel()} values given, the tensors hold {offset}")
        self.alpha_written = None
        return {}

    # -- data-aware merges: RegMean's Gram matrices, Fisher's diagonals -------------------------------------------

    def wide_dtype(self):
        """What statistics are summed in on the device: float64, except on MPS, which has none (float32 there)."""
        return torch.float32 if self.device.type == "mps" else torch.float64

    def linearMaps(self, header, _):
        """The layers whose weight RegMean merges as a linear map (nn.Linear, and nn.Conv1d / nn.Conv2d over their
        input patches), in the order one forward pass on a row of the learn split first calls them, with the
        weight's tensor and the rows of its Gram matrix; notes on the layers left to the plain average and why."""
        if isinstance(self.model, torch.jit.ScriptModule):
            raise UsageError(
                f"{self.file} (TorchScript): RegMean reads the inputs of the model's Linear and convolution layers, "
                "which a TorchScript module does not let anything observe (it takes no forward hooks); save the "
                "models' state dicts and give their architecture (--architecture)"
            )
        params = set(self.params)
        candidates, notes = {}, []
        for name, module in self.model.named_modules():
            kind = type(module).__name__
            if not isinstance(module, (torch.nn.Linear, torch.nn.Conv1d, torch.nn.Conv2d)):
                continue
            weight = f"{name}.weight" if name else "weight"
            if weight not in params:
                continue
            if kind != "Linear":
                if module.groups != 1:
                    notes.append(f'layer "{name}" is a grouped convolution ({module.groups} groups); its weight is plainly averaged')
                    continue
                if module.padding_mode != "zeros":
                    notes.append(f'layer "{name}" pads with "{module.padding_mode}"; its weight is plainly averaged')
                    continue
            candidates[name] = (module, weight)
        calls, order = {}, []

        def counter(name):
            def hook(_module, _inputs):
                calls[name] = calls.get(name, 0) + 1
                if calls[name] == 1:
                    order.append(name)
            return hook

        hooks = [m.register_forward_pre_hook(counter(n)) for n, (m, _w) in candidates.items()]
        try:
            x, _ = self.split("learn")
            if x.shape[0] == 0:
                raise UsageError("RegMean needs at least one row in the learn split")
            with torch.no_grad():
                self.forward(x[:1].to(self.device))
        finally:
            for h in hooks:
                h.remove()
        maps = []
        for name in order:
            module, weight = candidates[name]
            if calls[name] != 1:
                notes.append(f'layer "{name}" is applied {calls[name]} times; its weight is plainly averaged')
                continue
            t = self.targets[weight]
            maps.append({"module": name, "weight": weight, "inputs": t.numel() // t.shape[0]})
        for name in candidates:
            if name not in calls:
                notes.append(f'layer "{name}" is not run by the model\'s forward pass; its weight is plainly averaged')
        return {"maps": maps, "notes": notes}

    def grams(self, header, payload):
        """XᵀX (float64) of the inputs of each named layer (rows as linearMaps gives them) over the selected rows,
        with the weights now written, in inference mode; summed over the ranks."""
        modules = dict(self.model.named_modules())
        names = header["modules"]
        grams = [None] * len(names)
        wide = self.wide_dtype()

        def gatherer(k):
            def hook(module, inputs):
                for rows in map_inputs(module, inputs[0]):
                    rows = rows.to(wide)
                    g = rows.T @ rows
                    grams[k] = g if grams[k] is None else grams[k] + g
            return hook

        hooks = []
        try:
            for k, name in enumerate(names):
                if name not in modules:
                    raise UsageError(f"the model has no layer {name}")
                hooks.append(modules[name].register_forward_pre_hook(gatherer(k)))
            with torch.no_grad():
                for x, _, _ in self.batches(header["rows"], payload, header.get("batchSize")):
                    self.forward(x)
        finally:
            for h in hooks:
                h.remove()
        parts = []
        for k, name in enumerate(names):
            weight = self.targets[f"{name}.weight" if name else "weight"]
            d = weight.numel() // weight.shape[0]
            parts.append((grams[k].cpu().double() if grams[k] is not None else torch.zeros(d, d, dtype=torch.float64)).reshape(-1))
        flat = self.ranks.sum(torch.cat(parts) if parts else torch.zeros(0, dtype=torch.float64))
        return {"sizes": [p.numel() for p in parts]}, to_bytes(flat, torch.float64)

    def fisher(self, header, payload):
        """The diagonal empirical Fisher of every parameter over the selected rows: the mean over examples of
        (∂ −log p(y|x) / ∂θ)², one backward pass per example (the square of a batch's summed gradient is not the sum
        of the examples' squares), with y the example's label ("labels") or the model's own prediction
        ("prediction"); −log p is the task's per-example loss, as src/worker/stats/fisher.ts takes it."""
        task, target = header["task"], header["target"]
        if target not in ("labels", "prediction"):
            raise UsageError(f"the Fisher target must be labels or prediction, got {target}")
        if target == "labels" and self.split(header["rows"]["split"])[1] is None:
            raise UsageError("Fisher merging by the labels needs labelled rows")
        if target == "prediction" and task["outputs"] == "values":
            raise UsageError("Fisher merging of a regression model needs labelled data (its own prediction has zero loss)")
        params = [self.targets[n] for n in self.params]
        wide = self.wide_dtype()
        sums = [torch.zeros(p.shape, dtype=wide, device=p.device) for p in params]
        count = 0
        for x, y, rows in self.batches(header["rows"], payload, header.get("batchSize")):
            for i in range(rows):
                pred = self.forward(x[i : i + 1])
                if target == "labels":
                    wanted = y[i : i + 1]
                else:
                    with torch.no_grad():
                        wanted = own_prediction(task, pred.detach())
                loss = sample_losses(task["loss"], pred, wanted).sum()
                grads = torch.autograd.grad(loss, params, allow_unused=True)
                for k, g in enumerate(grads):
                    if g is not None:
                        sums[k] += g.detach().to(wide).square()
                count += 1
        flat = torch.cat([torch.tensor([float(count)], dtype=torch.float64)] + [s.cpu().double().reshape(-1) for s in sums])
        totals = self.ranks.sum(flat)
        count = float(totals[0])
        if count == 0:
            raise UsageError(f"Fisher merging needs at least one example in the {header['rows']['split']} split")
        return {"names": self.params, "sizes": [p.numel() for p in params]}, to_bytes(totals[1:] / count, torch.float32)

    # -- alignment: the graph, and the activations of its units ------------------------------------------------

    def structure(self, header, _):
        """The model's fx graph, each node described by traced_node, with its output shape on one learn row."""
        file = self.file
        if isinstance(self.model, torch.jit.ScriptModule):
            raise UsageError(
                f"{file}: --align needs the model's graph, which torch.fx traces from a PyTorch architecture; "
                "a TorchScript module cannot be traced (give its state dict with --architecture)"
            )
        fx = importlib.import_module("torch.fx")
        ShapeProp = importlib.import_module("torch.fx.passes.shape_prop").ShapeProp

        try:
            gm = fx.symbolic_trace(self.model)
        except Exception as error:
            raise UsageError(f"{file}: --align needs the model's graph, and torch.fx could not trace it: {one_line(error)}")
        x, _y = self.split("learn")
        if x.shape[0] == 0:
            raise UsageError("the learn split has no rows to trace the model on")
        try:
            with torch.no_grad():
                ShapeProp(gm).propagate(x[:1].to(self.device))
        except Exception as error:
            raise UsageError(f"{file}: --align could not run the traced model on one row: {one_line(error)}")
        self.graph_module = gm
        modules = dict(gm.named_modules())
        return {"nodes": [traced_node(n, modules) for n in gm.graph.nodes]}

    def write_single(self, i):
        """Ingredient i's own tensors into the model (a soup of one), forgetting the last write."""
        with torch.no_grad():
            for v, name in enumerate(self.merged):
                s, base = self.stacked[v]
                w = s[i] if base is None else s[i] + base
                self.targets[name].copy_(w.view(self.targets[name].shape))
        self.alpha_written = None

    def probe_outputs(self, x, names):
        gm = getattr(self, "graph_module", None)
        if gm is None:
            raise UsageError("structure comes before correlate and moments")
        wanted, seen = set(names), {}

        class Capture(importlib.import_module("torch.fx").Interpreter):
            def run_node(inner, n):
                value = super().run_node(n)
                if n.name in wanted:
                    seen[n.name] = value
                return value

        with torch.no_grad():
            Capture(gm).run(x)
        missing = [n for n in names if n not in seen]
        if missing:
            raise UsageError(f"the traced model has no node {missing[0]}")
        return seen

    def probe_batches(self, header):
        """This rank's share of the first `rows` rows of the learn split (all of them on one rank), in batches."""
        x, _y = self.split("learn")
        rows = min(int(header.get("rows") or x.shape[0]), x.shape[0])
        lo, hi = self.ranks.share(rows)
        size = max(1, int(header.get("batchSize") or 256))
        for start in range(lo, hi, size):
            yield x[start : min(hi, start + size)].to(self.device)

    def summed_over_ranks(self, names, sums):
        """Each probe's sums (its row count, then tensors) added over the ranks in float64, the same on every rank; a
        rank whose share has no rows adds zeros of the shapes the others report. One rank: `sums` as they are."""
        if self.ranks.world == 1:
            return sums
        shapes = {name: [tuple(p.shape) for p in s[1:]] for name, s in sums.items()}
        for other in self.ranks.gather_objects(shapes):
            for name, shape in other.items():
                shapes.setdefault(name, shape)
        present = [name for name in names if name in shapes]  # none at all: no rank had rows, as on one rank
        flat = []
        for name in present:
            own = sums.get(name)
            flat.append(torch.tensor([float(own[0]) if own else 0.0], dtype=torch.float64))
            for k, shape in enumerate(shapes[name]):
                flat.append(own[k + 1].cpu().double().reshape(-1) if own else torch.zeros(math.prod(shape), dtype=torch.float64))
        totals = self.ranks.sum(torch.cat(flat) if flat else torch.zeros(0, dtype=torch.float64))
        out, at = {}, 0
        for name in present:
            parts = [float(totals[at])]
            at += 1
            for shape in shapes[name]:
                size = math.prod(shape)
                parts.append(totals[at : at + size].reshape(shape))
                at += size
            out[name] = parts
        return out

    def correlate(self, header, _):
        """Pearson correlation of ingredient a's units with ingredient b's at each probe ([node, channel axis]) on
        the learn rows: per probe a C x C float64 matrix (a's unit j, b's unit i), concatenated."""
        a, b = int(header["a"]), int(header["b"])
        if not (0 <= a < self.n and 0 <= b < self.n):
            raise UsageError(f"ingredients {a} and {b}: there are {self.n}")
        probes = [(name, int(axis)) for name, axis in header["probes"]]
        names = [name for name, _axis in probes]
        sums = {}
        for x in self.probe_batches(header):
            self.write_single(a)
            outs_a = self.probe_outputs(x, names)
            self.write_single(b)
            outs_b = self.probe_outputs(x, names)
            for name, axis in probes:
                A, B = unit_rows(outs_a[name], axis), unit_rows(outs_b[name], axis)
                s = sums.get(name)
                parts = [A.shape[0], A.sum(0), B.sum(0), (A * A).sum(0), (B * B).sum(0), A.t() @ B]
                sums[name] = parts if s is None else [p + q for p, q in zip(s, parts)]
        self.alpha_written = None
        sums = self.summed_over_ranks(names, sums)
        out, sizes = [], []
        for name, _axis in probes:
            count, sa, sb, saa, sbb, sab = sums[name]
            ma, mb = sa / count, sb / count
            cov = sab - count * torch.outer(ma, mb)
            na = (saa - count * ma * ma).clamp_min(0).sqrt() + 1e-8
            nb = (sbb - count * mb * mb).clamp_min(0).sqrt() + 1e-8
            corr = cov / torch.outer(na, nb)
            out.append(corr.reshape(-1).cpu())
            sizes.append(int(sa.numel()))
        flat = torch.cat(out) if out else torch.zeros(0, dtype=torch.float64)
        return {"channels": sizes}, to_bytes(flat, torch.float64)

    def moments(self, header, _):
        """Per channel at each probe, the mean and (population) standard deviation of its output on the learn rows
        with the weights now written: float64, per probe its means then its deviations."""
        probes = [(name, int(axis)) for name, axis in header["probes"]]
        names = [name for name, _axis in probes]
        sums = {}
        for x in self.probe_batches(header):
            outs = self.probe_outputs(x, names)
            for name, axis in probes:
                A = unit_rows(outs[name], axis)
                s = sums.get(name)
                parts = [A.shape[0], A.sum(0), (A * A).sum(0)]
                sums[name] = parts if s is None else [p + q for p, q in zip(s, parts)]
        sums = self.summed_over_ranks(names, sums)
        out, sizes = [], []
        for name, _axis in probes:
            count, s1, s2 = sums[name]
            mean = s1 / count
            out += [mean.cpu(), (s2 / count - mean * mean).clamp_min(0).sqrt().cpu()]
            sizes.append(int(mean.numel()))
        flat = torch.cat(out) if out else torch.zeros(0, dtype=torch.float64)
        return {"channels": sizes}, to_bytes(flat, torch.float64)


def own_prediction(task, pred):
    """The label the model itself predicts, in the form sample_losses reads (src/worker/stats/fisher.ts)."""
    if task["binary"]:
        return (pred > (0.0 if task["outputs"] == "logits" else 0.5)).float()
    return pred.argmax(-1).float()


# Elements of one patch matrix taken at once (bounds the memory of a convolution's patches).
PATCH_ELEMENTS = 1 << 22


def same_padding(kernel, dilation):
    """torch's padding="same" (stride 1): the total (k − 1)·d, the smaller half before."""
    total = dilation * (kernel - 1)
    return total // 2, total - total // 2


def map_inputs(module, x):
    """The rows a layer's weight, read as [out, in·k…], multiplies: the input itself for nn.Linear, the
    input's patches for a convolution (torch's unfold order, (c, ky, kx): the weight's own), a few images at a time."""
    if isinstance(module, torch.nn.Linear):
        yield x.detach().reshape(-1, module.in_features)
        return
    x = x.detach()
    if isinstance(module, torch.nn.Conv1d):
        x = (x if x.dim() == 3 else x.unsqueeze(0)).unsqueeze(2)  # [b, c, 1, L]
        kernel, stride, dilation = (1, module.kernel_size[0]), (1, module.stride[0]), (1, module.dilation[0])
        padding = module.padding if isinstance(module.padding, str) else (0, module.padding[0])
    else:
        x = x if x.dim() == 4 else x.unsqueeze(0)
        kernel, stride, dilation = tuple(module.kernel_size), tuple(module.stride), tuple(module.dilation)
        padding = module.padding if isinstance(module.padding, str) else tuple(module.padding)
    if padding == "valid":
        padding = (0, 0)
    elif padding == "same":
        (top, bottom), (left, right) = same_padding(kernel[0], dilation[0]), same_padding(kernel[1], dilation[1])
        x = torch.nn.functional.pad(x, (left, right, top, bottom))
        padding = (0, 0)
    d = x.shape[1] * kernel[0] * kernel[1]
    per_image = max(1, d * x.shape[2] * x.shape[3] // (stride[0] * stride[1]))
    step = max(1, PATCH_ELEMENTS // per_image)
    for start in range(0, x.shape[0], step):
        patches = torch.nn.functional.unfold(x[start : start + step], kernel, dilation=dilation, padding=padding, stride=stride)
        yield patches.transpose(1, 2).reshape(-1, d)


# ---- the permutation structure (align): src/core/align/torch-symmetry.ts reads it ---------------------------

ELEMENTWISE_MODULES = (
    "ReLU", "ReLU6", "LeakyReLU", "ELU", "SELU", "CELU", "GELU", "SiLU", "Mish", "Sigmoid", "Tanh", "Softplus",
    "Softsign", "Tanhshrink", "LogSigmoid", "Hardtanh", "Hardswish", "Hardsigmoid", "Hardshrink", "Softshrink",
    "Dropout", "Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout", "FeatureAlphaDropout", "Identity",
)
POOL_MODULES = (
    "MaxPool1d", "MaxPool2d", "MaxPool3d", "AvgPool1d", "AvgPool2d", "AvgPool3d", "AdaptiveAvgPool1d",
    "AdaptiveAvgPool2d", "AdaptiveAvgPool3d", "AdaptiveMaxPool1d", "AdaptiveMaxPool2d", "AdaptiveMaxPool3d",
    "LPPool1d", "LPPool2d",
)
ELEMENTWISE_FUNCTIONS = (
    "relu", "relu_", "relu6", "leaky_relu", "elu", "selu", "celu", "gelu", "silu", "mish", "sigmoid", "tanh",
    "softplus", "softsign", "hardtanh", "hardswish", "hardsigmoid", "logsigmoid", "dropout", "dropout1d",
    "dropout2d", "dropout3d", "alpha_dropout", "feature_alpha_dropout", "contiguous", "clone", "detach", "abs",
    "square", "exp", "sqrt", "neg",
)
POOL_FUNCTIONS = (
    "max_pool1d", "max_pool2d", "max_pool3d", "avg_pool1d", "avg_pool2d", "avg_pool3d", "adaptive_avg_pool1d",
    "adaptive_avg_pool2d", "adaptive_avg_pool3d", "adaptive_max_pool1d", "adaptive_max_pool2d", "adaptive_max_pool3d",
)
MERGE_FUNCTIONS = ("add", "sub", "mul", "truediv", "div", "maximum", "minimum", "iadd", "isub", "imul")


def function_name(target):
    return getattr(target, "__name__", str(target)).lstrip("_") if not isinstance(target, str) else target


def traced_node(node, modules):
    """One fx node as the structure reports it: its kind (what it does to the channel axis), its tensor inputs,
    its output shape, and for a module its path (its tensors are `<path>.weight`, ...) and settings."""
    meta = node.meta.get("tensor_meta")
    shape = list(meta.shape) if meta is not None and hasattr(meta, "shape") else None
    tensors = [a.name for a in node.all_input_nodes if a.meta.get("tensor_meta") is not None and hasattr(a.meta["tensor_meta"], "shape")]
    out = {"name": node.name, "inputs": tensors, "shape": shape, "kind": "other"}
    if node.op == "placeholder":
        out.update(kind="input", what="the model's input")
    elif node.op == "output":
        out.update(kind="output", what="the model's output")
    elif node.op == "get_attr":
        out.update(kind="constant", what=f"the tensor {node.target}")
    elif node.op == "call_module":
        module = modules[node.target]
        cls = type(module).__name__
        out.update(module=node.target, what=f"{node.target} ({cls})")
        if isinstance(module, torch.nn.Linear):
            out.update(kind="linear", bias=module.bias is not None)
        elif isinstance(module, torch.nn.modules.conv._ConvNd) and not isinstance(module, torch.nn.modules.conv._ConvTransposeNd):
            out.update(kind="conv", groups=int(module.groups), bias=module.bias is not None)
        elif isinstance(module, torch.nn.modules.batchnorm._BatchNorm):
            out.update(kind="batchnorm", affine=bool(module.affine), tracked=module.running_mean is not None)
        elif isinstance(module, torch.nn.LayerNorm) and len(module.normalized_shape) == 1:
            out.update(kind="layernorm", affine=bool(module.elementwise_affine))
        elif cls in ELEMENTWISE_MODULES and not any(True for _ in module.parameters()):
            out.update(kind="elementwise")
        elif cls in POOL_MODULES and not getattr(module, "return_indices", False):
            out.update(kind="pool")
        elif isinstance(module, torch.nn.Flatten):
            out.update(kind="flatten", startDim=int(module.start_dim), endDim=int(module.end_dim))
    else:
        name = function_name(node.target)
        out["what"] = f"{'method' if node.op == 'call_method' else 'function'} {name}"
        scalars = [a for a in node.args if not isinstance(a, type(node))]
        if name in ELEMENTWISE_FUNCTIONS and len(tensors) == 1:
            out.update(kind="elementwise")
        elif name in POOL_FUNCTIONS and len(tensors) == 1 and not node.kwargs.get("return_indices", False):
            out.update(kind="pool")
        elif name in MERGE_FUNCTIONS and len(tensors) >= 1:
            # With a number (x + 1, x * 0.5) it acts on every channel alike; two tensors: a residual or a gate.
            out.update(kind="merge" if len(tensors) == 2 else "elementwise")
            if len(tensors) == 1 and any(not isinstance(a, (int, float)) for a in scalars):
                out.update(kind="other")
        elif name == "flatten" and len(tensors) == 1:
            args = list(node.args[1:])
            start = args[0] if args else node.kwargs.get("start_dim", 0)
            end = args[1] if len(args) > 1 else node.kwargs.get("end_dim", -1)
            out.update(kind="flatten", startDim=int(start), endDim=int(end))
        elif name in ("view", "reshape") and len(tensors) == 1:
            before = node.all_input_nodes[0].meta.get("tensor_meta")
            if before is not None and shape is not None and len(before.shape) >= 2 and len(shape) == 2 and shape[0] == before.shape[0]:
                out.update(kind="flatten", startDim=1, endDim=-1)
            elif before is not None and shape is not None and list(before.shape) == shape:
                out.update(kind="elementwise")
        elif name == "cat" and len(tensors) >= 1:
            dim = node.args[1] if len(node.args) > 1 else node.kwargs.get("dim", 0)
            out.update(kind="cat", dim=int(dim) if isinstance(dim, int) else None)
        elif name in ("mean", "amax", "sum") and len(tensors) == 1 and shape is not None and len(shape) == 2:
            before = node.all_input_nodes[0].meta.get("tensor_meta")
            dims = node.args[1] if len(node.args) > 1 else node.kwargs.get("dim")
            dims = [dims] if isinstance(dims, int) else list(dims or [])
            rank = len(before.shape) if before is not None else 0
            if rank > 2 and dims and all((d % rank) >= 2 for d in dims) and not node.kwargs.get("keepdim", False):
                out.update(kind="pool")
    return out


def unit_rows(t, axis):
    """A probed output as [rows, channels] in float64: every position along the other axes is a row."""
    rows = t.detach().movedim(axis, -1).reshape(-1, t.shape[axis])
    return rows.cpu().double() if rows.device.type == "mps" else rows.double()  # MPS has no float64


def pooled(a, b):
    """Chan et al.'s pairwise combination of (count, mean, sum of squared deviations); mean None: nothing yet."""
    (count, mean, m2), (b_count, b_mean, b_m2) = a, b
    if mean is None:
        return b_count, b_mean, b_m2
    total = count + b_count
    delta = b_mean - mean
    return total, mean + delta * b_count / total, m2 + b_m2 + delta * delta * count * b_count / total


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


TORCHSCRIPT_FAILED = "The following operation failed in the TorchScript interpreter."


def out_of_memory(error):
    """Python's MemoryError, or torch's own on the CPU: its allocator's refusal (std::bad_alloc, "can't allocate
    memory") or an mmap the system refused (ENOMEM), all RuntimeErrors."""
    if isinstance(error, MemoryError):
        return True
    text = str(error)
    return isinstance(error, RuntimeError) and any(
        s in text for s in ("bad_alloc", "can't allocate memory", "Cannot allocate memory")
    )


def describe(error):
    if type(error).__name__ == "OutOfMemoryError" or (isinstance(error, RuntimeError) and "CUDA out of memory" in str(error)):
        return "CUDA out of memory: " + one_line(error).replace("CUDA out of memory. ", "")[:200]
    if out_of_memory(error):
        return "The PyTorch engine ran out of memory (the Python process could not allocate more)."
    if isinstance(error, UsageError):
        return str(error)
    text = str(error).strip()
    if text.startswith(TORCHSCRIPT_FAILED):
        # Its first line says only that; the cause is the last line, after the TorchScript tracebacks.
        return f"the TorchScript model failed: {text.splitlines()[-1].strip()}"
    return f"{type(error).__name__}: {one_line(error)}"


INTERNAL = (
    "split", "batches", "forward", "batch_norm_statistic_gradients", "write_single", "probe_outputs", "probe_batches",
    "summed_over_ranks",
)


def carry_out(engine, header, payload):
    """One request on this rank: (answer header, payload)."""
    op = header.get("op")
    handler = getattr(Engine, op, None) if isinstance(op, str) and not op.startswith("_") else None
    if handler is None or op in INTERNAL:
        return {"ok": False, "error": f"unknown request {op}"}, b""
    if op != "load" and engine.model is None:
        return {"ok": False, "error": "no model loaded"}, b""
    try:
        answer = handler(engine, header, payload)
    except Exception as error:  # one line for the user; the traceback only to stderr for a debugger
        if os.environ.get("MODEL_SOUP_ENGINE_TRACEBACK"):
            traceback.print_exc()
        return {"ok": False, "error": describe(error)}, b""
    head, body = answer if isinstance(answer, tuple) else (answer, b"")
    return {"ok": True, **head}, body


def main():
    import platform
    import time

    ranks = Ranks()  # with several ranks: waits until every one has joined
    engine = Engine(ranks)
    lead = ranks.rank == 0
    if lead:
        send({"ok": True, "ready": True, "torch": torch.__version__, "python": platform.python_version(), "pid": os.getpid(), "ranks": ranks.world})
    # A write sent with reply: false (the next request follows it at once) answers only by its failure, in place
    # of the next request's answer: one round trip per learning step instead of two.
    failed = None
    try:
        while True:
            if lead:
                header, payload = read_frame()
                if header is None:
                    header, payload = {"op": "exit"}, b""
                if ranks.world > 1:
                    ranks.forward_frame(header, payload)
            else:
                header, payload = ranks.next_frame()
            if header.get("op") == "exit":
                return
            started = time.perf_counter()
            head, body = carry_out(engine, header, payload)
            spent = engine.timings.setdefault(str(header.get("op")), [0, 0.0])
            spent[0], spent[1] = spent[0] + 1, spent[1] + time.perf_counter() - started
            if not lead:
                continue
            if header.get("reply") is False:
                failed = failed or (None if head["ok"] else head)
                continue
            if failed is not None:
                head, body, failed = failed, b"", None
            send(head, body)
    finally:
        ranks.close()


if __name__ == "__main__":
    main()
