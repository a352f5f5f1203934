"""Run the real diffusers DPMSolverMultistepScheduler, TCDScheduler and CMStochasticIterativeScheduler (float32
torch) on sampling loops with gen_reference.py's stand-in model, initial latents and explicit noise, for
upstream_new.test.ts. The upstream files are read from a diffusers git checkout and executed against
gen_upstream.py's stand-ins for the diffusers package internals (nothing of them is copied into this project).

Run: /usr/bin/python3 src/schedulers/__fixtures__/gen_upstream_new.py /path/to/diffusers.git [commit] \
       > src/schedulers/__fixtures__/upstream_new.json
"""
import dataclasses
import json
import os
import subprocess
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gen_reference as ref  # noqa: E402
import gen_upstream as gu  # noqa: E402

gu.FILES = {
    "DPMSolverMultistepScheduler": "scheduling_dpmsolver_multistep",
    "TCDScheduler": "scheduling_tcd",
    "CMStochasticIterativeScheduler": "scheduling_consistency_models",
}
_make = gu.make_stub_package


def make_stub_package():
    _make()
    su = sys.modules["diffusers.schedulers.scheduling_utils"]
    base = sys.modules["diffusers.utils"].BaseOutput

    @dataclasses.dataclass
    class SchedulerOutput(base):
        prev_sample: torch.Tensor

    su.SchedulerOutput = SchedulerOutput


gu.make_stub_package = make_stub_package

SD = {"num_train_timesteps": 1000, "beta_start": 0.00085, "beta_end": 0.012, "beta_schedule": "scaled_linear"}
DPM = "DPMSolverMultistepScheduler"
TCD = "TCDScheduler"
CM = "CMStochasticIterativeScheduler"
# (name, class, config, N, extra): extra may hold custom (timesteps list), eta (TCD gamma), original (TCD).
CASES = [
    *[(f"dpm eps linspace {n}", DPM, {**SD}, n, {}) for n in [1, 2, 4, 10, 25]],
    ("dpm eps trailing 4", DPM, {**SD, "timestep_spacing": "trailing"}, 4, {}),
    ("dpm eps trailing 48", DPM, {**SD, "timestep_spacing": "trailing"}, 48, {}),
    ("dpm eps leading 6 offset 1", DPM, {**SD, "timestep_spacing": "leading", "steps_offset": 1}, 6, {}),
    ("dpm karras eps 10", DPM, {**SD, "use_karras_sigmas": True}, 10, {}),
    ("dpm karras eps 20 sigma_min", DPM, {**SD, "use_karras_sigmas": True, "final_sigmas_type": "sigma_min"}, 20, {}),
    ("dpm v 8", DPM, {**SD, "prediction_type": "v_prediction"}, 8, {}),
    ("dpm sample 5", DPM, {**SD, "prediction_type": "sample"}, 5, {}),
    ("dpm heun 7", DPM, {**SD, "solver_type": "heun"}, 7, {}),
    ("dpm no lower_order_final sigma_min 20", DPM, {**SD, "lower_order_final": False, "final_sigmas_type": "sigma_min"}, 20, {}),
    ("dpm euler_at_final sigma_min 6", DPM, {**SD, "euler_at_final": True, "final_sigmas_type": "sigma_min"}, 6, {}),
    ("dpm order 1 5", DPM, {**SD, "solver_order": 1}, 5, {}),
    ("dpm custom 4", DPM, {**SD}, 4, {"custom": [999, 749, 499, 249]}),
    ("dpm zero-snr trailing v 4", DPM, {**SD, "timestep_spacing": "trailing", "prediction_type": "v_prediction", "rescale_betas_zero_snr": True}, 4, {}),
    ("dpm lambda_min_clipped -5.1 10", DPM, {**SD, "lambda_min_clipped": -5.1}, 10, {}),
    ("dpm linear betas 10", DPM, {"beta_schedule": "linear"}, 10, {}),
    *[(f"tcd eps gamma 0.3 {n}", TCD, {**SD}, n, {"eta": 0.3}) for n in [1, 2, 4, 8]],
    ("tcd eps gamma 0 4", TCD, {**SD}, 4, {"eta": 0.0}),
    ("tcd eps gamma 1 4", TCD, {**SD}, 4, {"eta": 1.0}),
    ("tcd v gamma 0.5 3", TCD, {**SD, "prediction_type": "v_prediction"}, 3, {"eta": 0.5}),
    ("tcd sample gamma 0.2 3", TCD, {**SD, "prediction_type": "sample"}, 3, {"eta": 0.2}),
    ("tcd custom 4", TCD, {**SD}, 4, {"eta": 0.3, "custom": [999, 749, 499, 249]}),
    ("tcd original 100 4", TCD, {**SD}, 4, {"eta": 0.3, "original": 100}),
    *[(f"cm default {n}", CM, {}, n, {}) for n in [1, 2, 4, 40]],
    ("cm 201 10", CM, {"num_train_timesteps": 201}, 10, {}),
    ("cm 201 custom [106, 0]", CM, {"num_train_timesteps": 201}, 2, {"custom": [106, 0]}),
    ("cm no clip s_noise 0.8 5", CM, {"clip_denoised": False, "s_noise": 0.8}, 5, {}),
]


def run_case(classes, cls, cfg, N, extra):
    n = ref.N_ELEM
    s = gu.from_config(classes[cls], cfg)
    if extra.get("custom") is not None:
        s.set_timesteps(timesteps=extra["custom"])
    elif extra.get("original") is not None:
        s.set_timesteps(N, original_inference_steps=extra["original"])
    else:
        s.set_timesteps(N)
    out = {"timesteps": [float(t) for t in s.timesteps.tolist()], "prev": []}
    if hasattr(s, "sigmas"):
        out["sigmas"] = [float(v) for v in s.sigmas.tolist()]
    ins = float(s.init_noise_sigma)
    out["init_noise_sigma"] = ins
    x = torch.tensor(ref.initial(n), dtype=torch.float32).reshape(1, n) * ins
    for k, t in enumerate(s.timesteps):
        inp = s.scale_model_input(x, t)
        m = torch.tensor(ref.model(inp.double().numpy()[0], float(t), k), dtype=torch.float32).reshape(1, n)
        gu.NOISE_QUEUE.clear()
        gu.NOISE_QUEUE.append(torch.tensor(ref.noise_for(k, n), dtype=torch.float32).reshape(1, n))
        kw = {"eta": extra["eta"]} if cls == TCD else {}
        x = s.step(m, t, x, **kw).prev_sample
        out["prev"].append([float(v) for v in x.flatten().tolist()])
    return out


def main():
    git_dir = sys.argv[1]
    commit = sys.argv[2] if len(sys.argv) > 2 else "HEAD"
    commit = subprocess.check_output(["git", "--git-dir", git_dir, "rev-parse", commit]).decode().strip()
    classes = gu.load_classes(git_dir, commit)
    cases = []
    for name, cls, cfg, N, extra in CASES:
        cases.append({"name": name, "className": cls, "config": {**cfg, "_class_name": cls}, "steps": N,
                      "custom": extra.get("custom"), "eta": extra.get("eta"), "original": extra.get("original"),
                      **run_case(classes, cls, cfg, N, extra)})
    json.dump({
        "_generated_by": "/usr/bin/python3 src/schedulers/__fixtures__/gen_upstream_new.py <diffusers.git> " + commit,
        "diffusers_commit": commit,
        "torch_version": torch.__version__,
        "n_elem": ref.N_ELEM,
        "cases": cases,
    }, sys.stdout, allow_nan=False)


if __name__ == "__main__":
    main()
