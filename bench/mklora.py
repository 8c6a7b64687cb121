#!/usr/bin/env python3
"""Synthetic LoRA adapters for the specialist benches, in llama.cpp's GGUF
layout, as F32 or F16 (what llama.cpp's converter writes by default): lora_a
(rank x in) and lora_b (out x rank) for q, k, v, o, gate, up and down of
every layer, random normal * 0.1, general.type adapter, adapter.lora.alpha.

usage: mklora.py OUT.gguf HIDDEN,FFN,LAYERS,HEADS,KV_HEADS RANK ALPHA SEED [ARCH] [f32|f16]
e.g.   mklora.py a1.gguf 896,4864,24,14,2 16 32 1 qwen2 f16   (a Qwen2.5-0.5B-shaped adapter)
Needs numpy."""
import struct
import sys

import numpy as np

GGUF_STRING, GGUF_F32 = 8, 6
TYPE_ID = {"f32": (0, np.float32), "f16": (1, np.float16)}
ALIGN = 32


def put_str(f, s):
    b = s.encode()
    f.write(struct.pack("<Q", len(b)) + b)


def main():
    if len(sys.argv) < 6:
        sys.exit(__doc__)
    out, shape, rank, alpha, seed = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5])
    arch = sys.argv[6] if len(sys.argv) > 6 else "qwen2"
    type_id, dtype = TYPE_ID[sys.argv[7] if len(sys.argv) > 7 else "f32"]
    hidden, ffn, layers, heads, kv_heads = map(int, shape.split(","))
    kv = kv_heads * hidden // heads
    # (in, out) of each adapted projection
    proj = {"attn_q": (hidden, hidden), "attn_k": (hidden, kv), "attn_v": (hidden, kv),
            "attn_output": (hidden, hidden), "ffn_gate": (hidden, ffn), "ffn_up": (hidden, ffn),
            "ffn_down": (ffn, hidden)}
    tensors = []  # (name, rows, cols) in numpy order
    for layer in range(layers):
        for name, (n_in, n_out) in proj.items():
            tensors.append((f"blk.{layer}.{name}.weight.lora_a", rank, n_in))
            tensors.append((f"blk.{layer}.{name}.weight.lora_b", n_out, rank))
    meta = [("general.architecture", arch), ("general.type", "adapter"), ("adapter.type", "lora"),
            ("general.name", f"bench-lora-r{rank}-s{seed}")]
    rng = np.random.default_rng(seed)
    item = np.dtype(dtype).itemsize
    with open(out, "wb") as f:
        f.write(b"GGUF" + struct.pack("<IQQ", 3, len(tensors), len(meta) + 1))
        for key, value in meta:
            put_str(f, key)
            f.write(struct.pack("<I", GGUF_STRING))
            put_str(f, value)
        put_str(f, "adapter.lora.alpha")
        f.write(struct.pack("<If", GGUF_F32, alpha))
        offset = 0
        for name, rows, cols in tensors:
            put_str(f, name)
            f.write(struct.pack("<IQQIQ", 2, cols, rows, type_id, offset))  # ne[0] = cols
            offset += -(-rows * cols * item // ALIGN) * ALIGN
        f.write(b"\0" * (-f.tell() % ALIGN))
        for _, rows, cols in tensors:
            w = (rng.standard_normal((rows, cols)) * 0.1).astype(dtype)
            f.write(w.tobytes() + b"\0" * (-w.nbytes % ALIGN))


if __name__ == "__main__":
    main()
