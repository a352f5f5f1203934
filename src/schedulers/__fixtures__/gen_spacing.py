"""Timestep tables of every (scheduler, spacing, N = 1..1000) for the SD config, transcribed from diffusers'
set_timesteps (src/diffusers/schedulers/scheduling_{ddim,ddpm,euler_discrete,euler_ancestral_discrete,
dpmsolver_multistep,lcm,tcd}.py at the commit below), evaluated with numpy exactly as upstream does.

    /usr/bin/python3 src/schedulers/__fixtures__/gen_spacing.py | gzip -9n > src/schedulers/__fixtures__/spacing.json.gz

Each entry of `tables` is "length:sha1" where sha1 is the first 16 hex digits of the SHA-1 of the values joined by ","
(integers as "936", other floats as Python's shortest repr, which is also JavaScript's String()). `full` keeps
whole lists for a few N so that a failure shows the numbers.
"""
import hashlib
import json
import sys

import numpy as np

DIFFUSERS_COMMIT = "58eb52c080"
T = 1000
STEPS_OFFSET = 1  # SD's scheduler_config.json (steps_offset only affects `leading`)


def fmt(v):
    v = float(v)
    return str(int(v)) if v.is_integer() else repr(v)


def key(ts):
    s = ",".join(fmt(v) for v in ts)
    return f"{len(ts)}:{hashlib.sha1(s.encode()).hexdigest()[:16]}"


# DDIMScheduler.set_timesteps and DDPMScheduler.set_timesteps (identical code in both files).
def alpha_space(spacing, n):
    if spacing == "linspace":
        return np.linspace(0, T - 1, n).round()[::-1].copy().astype(np.int64)
    if spacing == "leading":
        step_ratio = T // n
        ts = (np.arange(0, n) * step_ratio).round()[::-1].copy().astype(np.int64)
        ts += STEPS_OFFSET
        return ts
    step_ratio = T / n
    ts = np.round(np.arange(T, 0, -step_ratio)).astype(np.int64)
    ts -= 1
    return ts


# EulerDiscreteScheduler / EulerAncestralDiscreteScheduler.set_timesteps (float32 timesteps).
def euler(spacing, n):
    if spacing == "linspace":
        return np.linspace(0, T - 1, n, dtype=np.float32)[::-1].copy()
    if spacing == "leading":
        step_ratio = T // n
        ts = (np.arange(0, n) * step_ratio).round()[::-1].copy().astype(np.float32)
        ts += STEPS_OFFSET
        return ts
    step_ratio = T / n
    ts = (np.arange(T, 0, -step_ratio)).round().copy().astype(np.float32)
    ts -= 1
    return ts


# DPMSolverMultistepScheduler.set_timesteps (lambda_min_clipped = -inf, so last_timestep = T).
def dpm(spacing, n):
    last_timestep = T
    if spacing == "linspace":
        return np.linspace(0, last_timestep - 1, n + 1).round()[::-1][:-1].copy().astype(np.int64)
    if spacing == "leading":
        step_ratio = last_timestep // (n + 1)
        ts = (np.arange(0, n + 1) * step_ratio).round()[::-1][:-1].copy().astype(np.int64)
        ts += STEPS_OFFSET
        return ts
    step_ratio = T / n
    ts = np.arange(last_timestep, 0, -step_ratio).round().copy().astype(np.int64)
    ts -= 1
    return ts


# LCMScheduler / TCDScheduler.set_timesteps (original_inference_steps = 50; they ignore timestep_spacing, so
# the table is filed under "leading"): origin = [1..50] * (T // 50) - 1 reversed, at floor(linspace(0, 50, N,
# endpoint=False)). N > 50 raises upstream.
def lcm(spacing, n, original=50):
    if n > original:
        return None
    k = T // original
    origin = (np.asarray(list(range(1, original + 1))) * k - 1)[::-1].copy()
    idx = np.floor(np.linspace(0, len(origin), num=n, endpoint=False)).astype(np.int64)
    return origin[idx]


FNS = {
    "DDIMScheduler": alpha_space,
    "DDPMScheduler": alpha_space,
    "EulerDiscreteScheduler": euler,
    "EulerAncestralDiscreteScheduler": euler,
    "DPMSolverMultistepScheduler": dpm,
    "LCMScheduler": lcm,
    "TCDScheduler": lcm,
}
FULL_N = [1, 2, 3, 4, 7, 48, 61]

out = {
    "diffusers_commit": DIFFUSERS_COMMIT,
    "numpy_version": np.__version__,
    "config": {"num_train_timesteps": T, "steps_offset": STEPS_OFFSET, "beta_schedule": "scaled_linear", "beta_start": 0.00085, "beta_end": 0.012},
    "tables": {},
    # N whose upstream schedule cannot be sampled: N + 1 entries / a negative timestep (trailing), or a timestep
    # >= T that alphas_cumprod[t] cannot index (leading + steps_offset at N = 1000, DDPM/DDIM/DPM-Solver).
    "invalid": {},
    "full": {},
}
for cls, fn in FNS.items():
    for spacing in ["leading"] if fn is lcm else ["leading", "trailing", "linspace"]:
        name = f"{cls}/{spacing}"
        lists = [fn(spacing, n) for n in range(1, T + 1)]
        out["tables"][name] = [key(ts) if ts is not None else "raises" for ts in lists]
        integer = not cls.startswith("Euler")
        out["invalid"][name] = [n for n, ts in enumerate(lists, 1) if ts is None or len(ts) != n or ts.min() < 0 or (integer and ts.max() >= T)]
        out["full"][name] = {str(n): [float(v) if not float(v).is_integer() else int(v) for v in fn(spacing, n)] for n in FULL_N if fn(spacing, n) is not None}
json.dump(out, sys.stdout, separators=(",", ":"))
