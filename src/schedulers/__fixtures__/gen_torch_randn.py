"""Reference values for torchRandn: torch.manual_seed(seed); torch.randn(n) on CPU, float32.

Run: /usr/bin/python3 src/schedulers/__fixtures__/gen_torch_randn.py > src/schedulers/__fixtures__/torch_randn.json
"""
import json
import platform
import sys

import torch

SEEDS = [0, 1, 42, 1234, 2**31 - 1, 2**32 - 1, 2**32 + 7, -1]
SIZES = [1, 2, 3, 7, 15, 16, 17, 31, 32, 33, 256, 1000]
BIG = (1, 4, 64, 64)  # SD 1.5 latent at 512x512


def _cpu_capability():
    cfg = torch.__config__.show()
    key = "CPU capability usage: "
    return cfg.split(key)[-1].split("\n")[0].strip() if key in cfg else None


def draw(seed, shape):
    torch.manual_seed(seed)
    return torch.randn(shape).flatten().tolist()  # float32 values, exact as float64


cases = [{"seed": s, "n": n, "values": draw(s, n)} for s in SEEDS for n in SIZES]
big = []
for s in [0, 42]:
    v = draw(s, BIG)
    big.append({"seed": s, "shape": list(BIG), "n": len(v), "head": v[:64], "tail": v[-64:],
                "sum": float(sum(v)), "sumsq": float(sum(x * x for x in v))})
# Two calls in a row on the same generator: the second continues the stream.
torch.manual_seed(7)
a = torch.randn(20).tolist()
b = torch.randn(5).tolist()
json.dump({
    "_generated_by": "/usr/bin/python3 src/schedulers/__fixtures__/gen_torch_randn.py",
    "torch_version": torch.__version__,
    "python": platform.python_version(),
    "machine": platform.machine(),
    "cpu_capability": _cpu_capability(),
    "cases": cases,
    "big": big,
    "sequential": {"seed": 7, "first": a, "second": b},
}, sys.stdout)
