"""Independent float64 reference for the scheduler tests.

Written from the published formulas (DDPM, DDIM, LCM, Karras et al., k-diffusion's ancestral Euler) and the
behaviour of diffusers' scheduling_*.py, in numpy float64, without sharing code with the TypeScript module.
A deterministic stand-in "model" and deterministic per-step noise make every sampling loop reproducible.

Run: /usr/bin/python3 src/schedulers/__fixtures__/gen_reference.py > src/schedulers/__fixtures__/reference.json
It also records alphas_cumprod computed with torch float32 ops (the way diffusers builds them) when torch is present.
"""
import json
import math
import os
import platform
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
N_ELEM = 37  # latent length used by the loops (odd on purpose)


def load_config(name):
    with open(os.path.join(HERE, "configs", name)) as f:
        return json.load(f)


# ----------------------------------------------------------------------------------------------- tables
DEFAULTS = {
    "DDIMScheduler": dict(num_train_timesteps=1000, beta_start=1e-4, beta_end=0.02, beta_schedule="linear",
                          trained_betas=None, clip_sample=True, set_alpha_to_one=True, steps_offset=0,
                          prediction_type="epsilon", clip_sample_range=1.0, timestep_spacing="leading",
                          rescale_betas_zero_snr=False),
    "DDPMScheduler": dict(num_train_timesteps=1000, beta_start=1e-4, beta_end=0.02, beta_schedule="linear",
                          trained_betas=None, variance_type="fixed_small", clip_sample=True,
                          prediction_type="epsilon", clip_sample_range=1.0, timestep_spacing="leading",
                          steps_offset=0, rescale_betas_zero_snr=False),
    "LCMScheduler": dict(num_train_timesteps=1000, beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
                         trained_betas=None, original_inference_steps=50, clip_sample=False, clip_sample_range=1.0,
                         set_alpha_to_one=True, steps_offset=0, prediction_type="epsilon",
                         timestep_spacing="leading", timestep_scaling=10.0, rescale_betas_zero_snr=False),
    "EulerDiscreteScheduler": dict(num_train_timesteps=1000, beta_start=1e-4, beta_end=0.02, beta_schedule="linear",
                                   trained_betas=None, prediction_type="epsilon", use_karras_sigmas=False,
                                   use_exponential_sigmas=False, sigma_min=None, sigma_max=None,
                                   timestep_spacing="linspace", timestep_type="discrete", steps_offset=0,
                                   rescale_betas_zero_snr=False, final_sigmas_type="zero"),
    "EulerAncestralDiscreteScheduler": dict(num_train_timesteps=1000, beta_start=1e-4, beta_end=0.02,
                                            beta_schedule="linear", trained_betas=None, prediction_type="epsilon",
                                            timestep_spacing="linspace", steps_offset=0,
                                            rescale_betas_zero_snr=False),
}


def resolve(cls, raw):
    c = dict(DEFAULTS[cls])
    for k, v in raw.items():
        if k in c and v is not None:
            c[k] = v
    return c


def betas_of(c):
    T = c["num_train_timesteps"]
    if c["trained_betas"] is not None:
        b = np.array(c["trained_betas"], dtype=np.float64)
    elif c["beta_schedule"] == "linear":
        b = np.linspace(c["beta_start"], c["beta_end"], T)
    elif c["beta_schedule"] == "scaled_linear":
        b = np.linspace(math.sqrt(c["beta_start"]), math.sqrt(c["beta_end"]), T) ** 2
    elif c["beta_schedule"] == "squaredcos_cap_v2":
        f = lambda t: math.cos((t + 0.008) / 1.008 * math.pi / 2) ** 2
        b = np.array([min(1 - f((i + 1) / T) / f(i / T), 0.999) for i in range(T)])
    else:
        raise ValueError(c["beta_schedule"])
    if c["rescale_betas_zero_snr"]:
        ab = np.sqrt(np.cumprod(1 - b))
        ab0, abT = ab[0], ab[-1]
        ab = (ab - abT) * (ab0 / (ab0 - abT))
        abar = ab ** 2
        alphas = np.concatenate([abar[:1], abar[1:] / abar[:-1]])
        b = 1 - alphas
    return b


def alphas_cumprod_of(cls, c):
    a = np.cumprod(1 - betas_of(c))
    if c["rescale_betas_zero_snr"] and cls.startswith("Euler"):
        a[-1] = 2.0 ** -24
    return a


# -------------------------------------------------------------------------------------------- timesteps
def spaced(c, N, integer):
    T = c["num_train_timesteps"]
    sp = c["timestep_spacing"]
    if sp == "leading":
        r = T // N
        return [float(k * r + c["steps_offset"]) for k in range(N - 1, -1, -1)]
    if sp == "trailing":
        return [float(v) - 1 for v in np.round(np.arange(T, 0, -T / N))]
    v = np.linspace(0, T - 1, N)[::-1]
    return [float(x) for x in (np.round(v) if integer else v.astype(np.float32))]


def lcm_timesteps(c, N, original):
    T = c["num_train_timesteps"]
    k = T // original
    origin = [(i + 1) * k - 1 for i in range(original)][::-1]
    idx = np.floor(np.linspace(0, original, N, endpoint=False)).astype(int)
    return [float(origin[i]) for i in idx]


def euler_sched(cls, c, N, custom=None):
    a = alphas_cumprod_of(cls, c)
    table = np.sqrt((1 - a) / a)
    ts = np.array(custom if custom is not None else spaced(c, N, integer=False), dtype=np.float64)
    sig = np.interp(ts, np.arange(len(table)), table)
    mode = "karras" if c.get("use_karras_sigmas") else "exponential" if c.get("use_exponential_sigmas") else None
    if mode:
        lo = c["sigma_min"] if c.get("sigma_min") is not None else sig[-1]
        hi = c["sigma_max"] if c.get("sigma_max") is not None else sig[0]
        if mode == "karras":
            ramp = np.linspace(0, 1, N)
            sig = (hi ** (1 / 7) + ramp * (lo ** (1 / 7) - hi ** (1 / 7))) ** 7
        else:
            sig = np.exp(np.linspace(math.log(hi), math.log(lo), N))
        # invert sigma(t) by interpolating log-sigma between neighbouring training timesteps
        logt = np.log(table)
        new_ts = []
        for s in sig:
            ls = math.log(max(s, 1e-10))
            # table is increasing in t; find j with logt[j] <= ls < logt[j+1]
            j = int(np.searchsorted(logt, ls, side="right") - 1)
            j = min(max(j, 0), len(logt) - 2)
            w = (logt[j] - ls) / (logt[j] - logt[j + 1])
            w = min(max(w, 0.0), 1.0)
            new_ts.append(j + w)
        ts = np.array(new_ts)
    final = 0.0 if c.get("final_sigmas_type", "zero") == "zero" else table[0]
    sigmas = list(sig) + [final]
    if c.get("timestep_type") == "continuous" and c["prediction_type"] == "v_prediction":
        ts = np.array([0.25 * math.log(s) for s in sigmas[:-1]])
    return [float(t) for t in ts], [float(s) for s in sigmas], table


# ------------------------------------------------------------------------------------- stand-in model
def model(x, t, k):
    """Deterministic stand-in for a UNet: smooth in x, depends on t and on the element index."""
    i = np.arange(len(x))
    return np.tanh(0.5 * x) * math.cos(t / 300.0) + 0.3 * np.sin(0.7 * i + t / 97.0) + 0.01 * k


def noise_for(k, n):
    i = np.arange(n)
    return np.sin(1.3 * i + 0.7 * k + 0.1) * 1.5 + np.cos(0.37 * i * (k + 1))


def initial(n):
    i = np.arange(n)
    return np.cos(0.37 * i) + 0.5 * np.sin(1.1 * i + 0.3)


def x0_alpha(pt, x, m, a):
    if pt == "epsilon":
        return (x - math.sqrt(1 - a) * m) / math.sqrt(a)
    if pt == "sample":
        return m
    return math.sqrt(a) * x - math.sqrt(1 - a) * m


def eps_alpha(pt, x, m, a, x0):
    if pt == "epsilon":
        return m
    if pt == "sample":
        return (x - math.sqrt(a) * x0) / math.sqrt(1 - a)
    return math.sqrt(a) * m + math.sqrt(1 - a) * x


def run(cls, raw, N, custom=None, original=None, eta=0.0):
    c = resolve(cls, raw)
    n = N_ELEM
    T = c["num_train_timesteps"]
    out = {"x0": [], "timesteps": None}
    x = initial(n)
    if cls in ("DDIMScheduler", "DDPMScheduler", "LCMScheduler"):
        a = alphas_cumprod_of(cls, c)
        if cls == "LCMScheduler":
            o = original or c["original_inference_steps"]
            ts = custom if custom is not None else lcm_timesteps(c, N, o)
        else:
            ts = custom if custom is not None else spaced(c, N, integer=True)
        ts = [int(t) for t in ts]
        out["timesteps"] = ts
        out["init_noise_sigma"] = 1.0
        for k, t in enumerate(ts):
            m = model(x, t, k)
            at = a[t]
            x0 = x0_alpha(c["prediction_type"], x, m, at)
            if c.get("clip_sample"):
                x0 = np.clip(x0, -c["clip_sample_range"], c["clip_sample_range"])
            if cls == "DDIMScheduler":
                pt = t - T // len(ts)
                ap = a[pt] if pt >= 0 else (1.0 if c["set_alpha_to_one"] else a[0])
                eps = eps_alpha(c["prediction_type"], x, m, at, x0 if c["prediction_type"] == "sample" else None)
                var = (1 - ap) / (1 - at) * (1 - at / ap)
                std = eta * math.sqrt(var)
                x = math.sqrt(ap) * x0 + math.sqrt(1 - ap - std ** 2) * eps
                if eta > 0:
                    x = x + std * noise_for(k, n)
            elif cls == "DDPMScheduler":
                pt = ts[k + 1] if k + 1 < len(ts) else -1
                ap = a[pt] if pt >= 0 else 1.0
                ca = at / ap
                cb = 1 - ca
                mean = math.sqrt(ap) * cb / (1 - at) * x0 + math.sqrt(ca) * (1 - ap) / (1 - at) * x
                if t > 0:
                    var = cb if c["variance_type"] == "fixed_large" else max((1 - ap) / (1 - at) * cb, 1e-20)
                    mean = mean + math.sqrt(var) * noise_for(k, n)
                x = mean
            else:
                s = t * c["timestep_scaling"]
                cskip = 0.25 / (s * s + 0.25)
                cout = s / math.sqrt(s * s + 0.25)
                den = cout * x0 + cskip * x
                x0 = den
                if k != len(ts) - 1:
                    an = a[ts[k + 1]]
                    x = math.sqrt(an) * den + math.sqrt(1 - an) * noise_for(k, n)
                else:
                    x = den
            out["x0"].append([float(v) for v in x0])
    else:
        ts, sig, _ = euler_sched(cls, c, N, custom)
        out["timesteps"] = ts
        out["sigmas"] = sig
        smax = max(sig)
        out["init_noise_sigma"] = smax if c["timestep_spacing"] in ("linspace", "trailing") else math.sqrt(smax ** 2 + 1)
        x = x * out["init_noise_sigma"]
        out["scaled_first"] = [float(v) for v in x / math.sqrt(sig[0] ** 2 + 1)]
        for k, t in enumerate(ts):
            s, sn = sig[k], sig[k + 1]
            m = model(x / math.sqrt(s * s + 1), t, k)
            pt = c["prediction_type"]
            if pt == "epsilon":
                x0 = x - s * m
            elif pt == "v_prediction":
                x0 = m * (-s / math.sqrt(s * s + 1)) + x / (s * s + 1)
            else:
                x0 = m
            d = (x - x0) / s
            if cls == "EulerDiscreteScheduler":
                x = x + d * (sn - s)
            else:
                up = math.sqrt(sn ** 2 * (s ** 2 - sn ** 2) / s ** 2)
                down = math.sqrt(sn ** 2 - up ** 2)
                x = x + d * (down - s) + up * noise_for(k, n)
            out["x0"].append([float(v) for v in x0])
    out["final"] = [float(v) for v in x]
    return out


SD15 = load_config("sd15-pndm.json")
LCM7 = load_config("lcm-dreamshaper-v7.json")
TURBO = load_config("sd-turbo.json")
XLTURBO = load_config("sdxl-turbo.json")

CASES = [
    # name, class, config, steps, extra
    ("ddim-sd15-4", "DDIMScheduler", SD15, 4, {}),
    ("ddim-sd15-50", "DDIMScheduler", SD15, 50, {}),
    ("ddim-sd15-trailing-1", "DDIMScheduler", {**SD15, "timestep_spacing": "trailing"}, 1, {}),
    ("ddim-sd15-trailing-4-eta", "DDIMScheduler", {**SD15, "timestep_spacing": "trailing"}, 4, {"eta": 0.7}),
    ("ddim-default-sample-clip-10", "DDIMScheduler", {"prediction_type": "sample"}, 10, {}),
    ("ddim-vpred-zsnr-trailing-6", "DDIMScheduler",
     {**SD15, "prediction_type": "v_prediction", "rescale_betas_zero_snr": True, "timestep_spacing": "trailing"}, 6, {}),
    ("ddim-cosine-linspace-eps-7", "DDIMScheduler",
     {"beta_schedule": "squaredcos_cap_v2", "timestep_spacing": "linspace", "clip_sample": False}, 7, {"eta": 1.0}),
    ("ddpm-default-10", "DDPMScheduler", {}, 10, {}),
    ("ddpm-scaled-vpred-large-trailing-5", "DDPMScheduler",
     {**SD15, "prediction_type": "v_prediction", "variance_type": "fixed_large", "timestep_spacing": "trailing"}, 5, {}),
    ("ddpm-cosine-sample-linspace-4", "DDPMScheduler",
     {"beta_schedule": "squaredcos_cap_v2", "prediction_type": "sample", "timestep_spacing": "linspace"}, 4, {}),
    ("ddpm-custom", "DDPMScheduler", {**SD15, "clip_sample": False}, 3, {"custom": [900, 500, 0]}),
    ("lcm-ds7-1", "LCMScheduler", LCM7, 1, {}),
    ("lcm-ds7-4", "LCMScheduler", LCM7, 4, {}),
    ("lcm-ds7-8", "LCMScheduler", LCM7, 8, {}),
    ("lcm-vpred-clip-3", "LCMScheduler", {**LCM7, "prediction_type": "v_prediction", "clip_sample": True}, 3, {}),
    ("lcm-sample-orig100-5", "LCMScheduler", {**LCM7, "prediction_type": "sample"}, 5, {"original": 100}),
    ("lcm-custom", "LCMScheduler", LCM7, 3, {"custom": [999, 499, 199]}),
    ("euler-turbo-1", "EulerDiscreteScheduler", TURBO, 1, {}),
    ("euler-turbo-4", "EulerDiscreteScheduler", TURBO, 4, {}),
    ("euler-vpred-linspace-5", "EulerDiscreteScheduler", {**TURBO, "prediction_type": "v_prediction",
                                                          "timestep_spacing": "linspace"}, 5, {}),
    ("euler-sample-leading-6", "EulerDiscreteScheduler", {**TURBO, "prediction_type": "sample",
                                                          "timestep_spacing": "leading"}, 6, {}),
    ("euler-karras-leading-8", "EulerDiscreteScheduler", {**SD15, "use_karras_sigmas": True}, 8, {}),
    ("euler-exponential-trailing-5", "EulerDiscreteScheduler", {**TURBO, "use_exponential_sigmas": True}, 5, {}),
    ("euler-final-sigma-min-4", "EulerDiscreteScheduler", {**TURBO, "final_sigmas_type": "sigma_min"}, 4, {}),
    ("euler-zsnr-vpred-trailing-4", "EulerDiscreteScheduler",
     {**TURBO, "rescale_betas_zero_snr": True, "prediction_type": "v_prediction"}, 4, {}),
    ("euler-continuous-vpred-karras-5", "EulerDiscreteScheduler",
     {**TURBO, "prediction_type": "v_prediction", "timestep_type": "continuous", "use_karras_sigmas": True}, 5, {}),
    ("euler-custom", "EulerDiscreteScheduler", TURBO, 3, {"custom": [999.0, 620.5, 250.0]}),
    ("ea-xlturbo-1", "EulerAncestralDiscreteScheduler", XLTURBO, 1, {}),
    ("ea-xlturbo-4", "EulerAncestralDiscreteScheduler", XLTURBO, 4, {}),
    ("ea-vpred-linspace-6", "EulerAncestralDiscreteScheduler", {**XLTURBO, "prediction_type": "v_prediction",
                                                                "timestep_spacing": "linspace"}, 6, {}),
    ("ea-sample-leading-3", "EulerAncestralDiscreteScheduler", {**XLTURBO, "prediction_type": "sample",
                                                                "timestep_spacing": "leading"}, 3, {}),
]


def timestep_tables():
    out = {}
    for name, cls, cfg, integer in [("sd15-ddim", "DDIMScheduler", SD15, True),
                                    ("sd-turbo", "EulerDiscreteScheduler", TURBO, False),
                                    ("sdxl-turbo", "EulerAncestralDiscreteScheduler", XLTURBO, False)]:
        c = resolve(cls, cfg)
        out[name] = {}
        for N in [1, 2, 3, 4, 8, 16, 25, 50]:
            if integer:
                out[name][N] = {"timesteps": spaced(c, N, True)}
            else:
                ts, sig, _ = euler_sched(cls, c, N)
                out[name][N] = {"timesteps": ts, "sigmas": sig}
    c = resolve("LCMScheduler", LCM7)
    out["lcm-dreamshaper-v7"] = {N: {"timesteps": lcm_timesteps(c, N, 50)} for N in [1, 2, 3, 4, 6, 8, 50]}
    return out


def alphas_tables():
    probe = [0, 1, 10, 100, 249, 250, 499, 500, 749, 750, 998, 999]
    out = {}
    for name, cls, cfg in [("linear", "DDIMScheduler", {}),
                           ("scaled_linear", "DDIMScheduler", SD15),
                           ("squaredcos_cap_v2", "DDIMScheduler", {"beta_schedule": "squaredcos_cap_v2"}),
                           ("scaled_linear_zsnr", "DDIMScheduler", {**SD15, "rescale_betas_zero_snr": True}),
                           ("scaled_linear_zsnr_euler", "EulerDiscreteScheduler", {**SD15, "rescale_betas_zero_snr": True})]:
        a = alphas_cumprod_of(cls, resolve(cls, cfg))
        out[name] = {"class": cls, "config": cfg, "probe": probe, "alphas_cumprod": [float(a[i]) for i in probe],
                     "sigmas": [float(math.sqrt((1 - a[i]) / a[i])) if a[i] > 0 else math.inf for i in probe]}
    return out


def torch_tables():
    """alphas_cumprod with torch float32 ops, the way diffusers builds it (checks our float32 emulation)."""
    try:
        import torch
    except ImportError:
        return None
    T = 1000
    lin = torch.linspace(1e-4, 0.02, T, dtype=torch.float32)
    scaled = torch.linspace(0.00085 ** 0.5, 0.012 ** 0.5, T, dtype=torch.float32) ** 2
    res = {"torch_version": torch.__version__, "guidance_embedding": []}
    for g in [1.0, 2.0, 8.5]:
        for dim in [256, 10, 7]:
            # float32 math as in the LCM pipeline's get_guidance_scale_embedding
            w = torch.tensor(g - 1) * 1000.0
            half = dim // 2
            e = torch.log(torch.tensor(10000.0)) / (half - 1)
            e = torch.exp(torch.arange(half, dtype=torch.float32) * -e)
            e = w.to(torch.float32) * e
            e = torch.cat([torch.sin(e), torch.cos(e)])
            if dim % 2 == 1:
                e = torch.nn.functional.pad(e, (0, 1))
            res["guidance_embedding"].append({"guidance_scale": g, "dim": dim, "values": [float(v) for v in e.tolist()]})
    for name, b in [("linear", lin), ("scaled_linear", scaled)]:
        a = torch.cumprod(1.0 - b, dim=0)
        res[name] = [float(v) for v in a.tolist()]
        res[name + "_sigmas"] = [float(v) for v in (((1 - a) / a) ** 0.5).tolist()]
    return res


def finite_or_none(obj):
    """JSON has no Infinity/NaN: write null for them (e.g. sigma at the zero-SNR timestep)."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: finite_or_none(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [finite_or_none(v) for v in obj]
    return obj


def main():
    cases = []
    for name, cls, cfg, N, extra in CASES:
        r = run(cls, cfg, N, custom=extra.get("custom"), original=extra.get("original"), eta=extra.get("eta", 0.0))
        cases.append({"name": name, "className": cls, "config": cfg, "steps": N,
                      "customTimesteps": extra.get("custom"), "originalInferenceSteps": extra.get("original"),
                      "eta": extra.get("eta", 0.0), **r})
    json.dump(finite_or_none({
        "_generated_by": "/usr/bin/python3 src/schedulers/__fixtures__/gen_reference.py",
        "numpy_version": np.__version__,
        "python": platform.python_version(),
        "n_elem": N_ELEM,
        "timestep_tables": timestep_tables(),
        "alphas_tables": alphas_tables(),
        "torch_float32": torch_tables(),
        "cases": cases,
    }), sys.stdout, allow_nan=False)


if __name__ == "__main__":
    main()
