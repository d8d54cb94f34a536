"""The textbook NumPy linear merge of safetensors checkpoints, for bench/streaming-merge.ts.

Loads every model's arrays fully, stacks each tensor across models, takes the weighted sum, saves.
safetensors is read and written by hand (no safetensors package). Prints one JSON line.
usage: streaming-merge-numpy.py TARGET WEIGHTS_CSV INPUT...
"""
import json
import resource
import struct
import sys
import time

import numpy as np

DTYPES = {"F64": np.float64, "F32": np.float32, "F16": np.float16}


def load(path):
    with open(path, "rb") as f:
        buf = f.read()
    (n,) = struct.unpack("<Q", buf[:8])
    header = json.loads(buf[8 : 8 + n])
    header.pop("__metadata__", None)
    tensors = {}
    for name, info in header.items():
        begin, end = info["data_offsets"]
        dtype = np.dtype(DTYPES[info["dtype"]])
        tensors[name] = np.frombuffer(buf, dtype, (end - begin) // dtype.itemsize, 8 + n + begin).reshape(info["shape"])
    return tensors, header


def save(path, tensors, header):
    order = sorted(header, key=lambda k: header[k]["data_offsets"][0])
    entries, offset = {}, 0
    for name in order:
        size = tensors[name].nbytes
        entries[name] = {"dtype": header[name]["dtype"], "shape": list(tensors[name].shape), "data_offsets": [offset, offset + size]}
        offset += size
    text = json.dumps(entries, separators=(",", ":")).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for name in order:
            f.write(tensors[name].tobytes())


def main():
    target, weights_csv, inputs = sys.argv[1], sys.argv[2], sys.argv[3:]
    start = time.perf_counter()
    cpu_start = time.process_time()
    models = [load(p) for p in inputs]
    weights = np.array([float(w) for w in weights_csv.split(",")], dtype=np.float32)
    merged = {}
    for name, array in models[0][0].items():
        stacked = np.stack([m[0][name] for m in models])
        merged[name] = np.tensordot(weights, stacked, axes=1).astype(array.dtype)
    save(target, merged, models[0][1])
    seconds = time.perf_counter() - start
    cpu_seconds = time.process_time() - cpu_start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({"seconds": seconds, "cpuSeconds": cpu_seconds, "maxRssBytes": peak, "numpy": np.__version__}))


main()
