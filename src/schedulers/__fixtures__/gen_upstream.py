"""Run the real diffusers scheduler classes (float32 torch, as a pipeline does) on the cases of gen_reference.py.

The five upstream files scheduling_{ddpm,ddim,lcm,euler_discrete,euler_ancestral_discrete}.py are read from a git
checkout of huggingface/diffusers and executed against small stand-ins for the diffusers package internals they
import (config registration, BaseOutput, logging, randn_tensor). Nothing of them is copied into this project;
the output is the fixture upstream.json, which records the diffusers commit and the torch version.

randn_tensor is replaced by a queue holding gen_reference.noise_for(k), so stochastic steps see the same noise
as the TypeScript tests pass explicitly.

Run: /usr/bin/python3 src/schedulers/__fixtures__/gen_upstream.py /path/to/diffusers.git [commit] \
       > src/schedulers/__fixtures__/upstream.json
"""
import dataclasses
import importlib.util
import inspect
import json
import os
import subprocess
import sys
import tempfile
import types

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gen_reference as ref  # noqa: E402

FILES = {
    "DDPMScheduler": "scheduling_ddpm",
    "DDIMScheduler": "scheduling_ddim",
    "LCMScheduler": "scheduling_lcm",
    "EulerDiscreteScheduler": "scheduling_euler_discrete",
    "EulerAncestralDiscreteScheduler": "scheduling_euler_ancestral_discrete",
}

NOISE_QUEUE = []


def make_stub_package():
    pkg = types.ModuleType("diffusers")
    pkg.__path__ = []
    sys.modules["diffusers"] = pkg

    cu = types.ModuleType("diffusers.configuration_utils")

    class ConfigMixin:
        @property
        def config(self):
            return self._cfg

    def register_to_config(init):
        sig = inspect.signature(init)

        def wrapped(self, *args, **kwargs):
            bound = sig.bind(self, *args, **kwargs)
            bound.apply_defaults()
            values = {k: v for k, v in bound.arguments.items() if k != "self"}
            self._cfg = types.SimpleNamespace(**values)
            init(self, *args, **kwargs)

        wrapped.__signature__ = sig
        return wrapped

    cu.ConfigMixin = ConfigMixin
    cu.register_to_config = register_to_config
    sys.modules[cu.__name__] = cu

    utils = types.ModuleType("diffusers.utils")
    utils.__path__ = []

    class BaseOutput:
        def __getitem__(self, i):
            return dataclasses.astuple(self)[i]

    class _Logger:
        def warning(self, *a, **k):
            pass

        info = debug = warning

    utils.BaseOutput = BaseOutput
    utils.logging = types.SimpleNamespace(get_logger=lambda name: _Logger())
    utils.is_scipy_available = lambda: False
    utils.deprecate = lambda *a, **k: None
    sys.modules[utils.__name__] = utils

    tu = types.ModuleType("diffusers.utils.torch_utils")

    def randn_tensor(shape, generator=None, device=None, dtype=None, layout=None):
        noise = NOISE_QUEUE.pop(0)
        assert tuple(noise.shape) == tuple(shape), (noise.shape, shape)
        return noise.to(dtype or torch.float32)

    tu.randn_tensor = randn_tensor
    sys.modules[tu.__name__] = tu

    sched = types.ModuleType("diffusers.schedulers")
    sched.__path__ = []
    sys.modules[sched.__name__] = sched
    su = types.ModuleType("diffusers.schedulers.scheduling_utils")

    class SchedulerMixin:
        pass

    class _K:
        def __init__(self, name):
            self.name = name

    su.SchedulerMixin = SchedulerMixin
    su.KarrasDiffusionSchedulers = [_K(n) for n in FILES]
    sys.modules[su.__name__] = su


def load_classes(git_dir, commit):
    make_stub_package()
    tmp = tempfile.mkdtemp()
    classes = {}
    for cls, mod in FILES.items():
        src = subprocess.check_output(["git", "--git-dir", git_dir, "show", f"{commit}:src/diffusers/schedulers/{mod}.py"])
        path = os.path.join(tmp, mod + ".py")
        with open(path, "wb") as f:
            f.write(src)
        spec = importlib.util.spec_from_file_location(f"diffusers.schedulers.{mod}", path)
        m = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = m
        spec.loader.exec_module(m)
        classes[cls] = getattr(m, cls)
    return classes


def from_config(Cls, raw):
    """ConfigMixin.from_config: keep the keys __init__ knows, drop the rest."""
    params = inspect.signature(Cls.__init__).parameters
    return Cls(**{k: v for k, v in raw.items() if k in params and not k.startswith("_")})


def run_case(classes, name, cls, cfg, N, extra):
    n = ref.N_ELEM
    s = from_config(classes[cls], cfg)
    kw = {}
    if extra.get("custom") is not None:
        if cls == "DDIMScheduler" or cls == "EulerAncestralDiscreteScheduler":
            return {"skipped": "custom timesteps are not supported upstream"}
        kw["timesteps"] = extra["custom"]
        s.set_timesteps(**kw)
    elif extra.get("original") is not None:
        s.set_timesteps(N, original_inference_steps=extra["original"])
    else:
        s.set_timesteps(N)
    out = {"timesteps": [float(t) for t in s.timesteps.tolist()], "x0": []}
    if hasattr(s, "sigmas") and cls.startswith("Euler"):
        out["sigmas"] = [float(v) for v in s.sigmas.tolist()]
    ins = s.init_noise_sigma
    out["init_noise_sigma"] = float(ins)
    x = torch.tensor(ref.initial(n), dtype=torch.float32).reshape(1, n) * ins  # batch of 1
    for k, t in enumerate(s.timesteps):
        inp = s.scale_model_input(x, t)
        if k == 0:
            out["scaled_first"] = [float(v) for v in inp.flatten().tolist()]
        m = torch.tensor(ref.model(inp.double().numpy()[0], float(t), k), dtype=torch.float32).reshape(1, n)
        NOISE_QUEUE.clear()
        NOISE_QUEUE.append(torch.tensor(ref.noise_for(k, n), dtype=torch.float32).reshape(1, n))
        step_kw = {"eta": extra.get("eta", 0.0)} if cls == "DDIMScheduler" else {}
        try:
            r = s.step(m, t, x, **step_kw)
        except NotImplementedError as e:
            return {"skipped": f"upstream raises NotImplementedError: {e}"}
        x = r.prev_sample
        x0 = r.denoised if cls == "LCMScheduler" else r.pred_original_sample
        out["x0"].append([float(v) for v in x0.flatten().tolist()])
    out["final"] = [float(v) for v in x.flatten().tolist()]
    return out


def main():
    git_dir = sys.argv[1]
    commit = sys.argv[2] if len(sys.argv) > 2 else "HEAD"
    commit = subprocess.check_output(["git", "--git-dir", git_dir, "rev-parse", commit]).decode().strip()
    classes = load_classes(git_dir, commit)
    cases = []
    for name, cls, cfg, N, extra in ref.CASES:
        r = run_case(classes, name, cls, cfg, N, extra)
        cases.append({"name": name, **r})
    json.dump(ref.finite_or_none({
        "_generated_by": "/usr/bin/python3 src/schedulers/__fixtures__/gen_upstream.py <diffusers.git> " + commit,
        "diffusers_commit": commit,
        "torch_version": torch.__version__,
        "numpy_version": np.__version__,
        "cases": cases,
    }), sys.stdout, allow_nan=False)


if __name__ == "__main__":
    main()
