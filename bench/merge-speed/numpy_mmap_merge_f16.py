"""The NumPy reference for float16 inputs: like numpy_mmap_merge.py, converting through float32 (NumPy rounds to nearest even back)."""
import json, sys, numpy as np
out, ws, paths = sys.argv[1], [float(w) for w in sys.argv[2].split(",")], sys.argv[3:]
def open_st(p):
    m = np.memmap(p, np.uint8, "r"); n = int(m[:8].view("<u8")[0]); h = json.loads(bytes(m[8:8 + n])); h.pop("__metadata__", None); return m, 8 + n, h
models = [open_st(p) for p in paths]; m0, s0, h0 = models[0]; names = sorted(h0, key=lambda k: h0[k]["data_offsets"][0])
def get(m, s, h, k): b, e = h[k]["data_offsets"]; return m[s + b:s + e].view(np.float16).astype(np.float32)
with open(out, "wb") as f:
    f.write(bytes(m0[:s0]))
    for k in names: f.write(sum(w * get(*m, k) for w, m in zip(ws, models)).astype(np.float32).astype(np.float16).tobytes())
