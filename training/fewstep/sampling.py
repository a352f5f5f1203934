"""Reference samplers, written from diffusers' formulas (see shared/reference/schedulers.md).

Schedule scalars are float64, latents float32, as diffusers does. Each scheduler exposes
timesteps, init_noise_sigma, scale_model_input(x, i), step(model_output, i, x, noise) -> (prev, x0),
and needs_noise (whether step() consumes fresh noise).
"""
import math

import numpy as np
import torch

from .models import guidance_embedding
from .schedule import ABAR64, T, trailing, lcm_timesteps, sigmas_np


def _x0_eps(pred_type, out, x, abar):
    a, b = math.sqrt(abar), math.sqrt(1 - abar)
    if pred_type == "epsilon":
        return (x - b * out) / a, out
    if pred_type == "v_prediction":
        return a * x - b * out, a * out + b * x
    if pred_type == "sample":
        return out, (x - a * out) / b
    raise ValueError(pred_type)


class DDIM:
    needs_noise = False
    init_noise_sigma = 1.0

    def __init__(self, n, prediction_type="epsilon", spacing="trailing", set_alpha_to_one=True, steps_offset=1):
        self.n, self.pred = n, prediction_type
        if spacing == "trailing":
            self.timesteps = trailing(n)
        elif spacing == "leading":
            self.timesteps = ((np.arange(0, n) * (T // n))[::-1] + steps_offset).tolist()
        else:
            raise ValueError(spacing)
        self.final = 1.0 if set_alpha_to_one else float(ABAR64[0])

    def scale_model_input(self, x, i):
        return x

    def step(self, out, i, x, noise=None):
        t = self.timesteps[i]
        prev_t = t - T // self.n
        abar = float(ABAR64[t])
        abar_prev = float(ABAR64[prev_t]) if prev_t >= 0 else self.final
        x0, eps = _x0_eps(self.pred, out, x, abar)
        prev = math.sqrt(abar_prev) * x0 + math.sqrt(1 - abar_prev) * eps
        return prev.float(), x0


class DDPM:
    needs_noise = True
    init_noise_sigma = 1.0

    def __init__(self, n=1000, prediction_type="epsilon"):
        self.n, self.pred = n, prediction_type
        self.timesteps = trailing(n)

    def scale_model_input(self, x, i):
        return x

    def step(self, out, i, x, noise=None):
        t = self.timesteps[i]
        prev_t = self.timesteps[i + 1] if i + 1 < len(self.timesteps) else -1
        abar = float(ABAR64[t])
        abar_prev = float(ABAR64[prev_t]) if prev_t >= 0 else 1.0
        bbar, bbar_prev = 1 - abar, 1 - abar_prev
        cur_alpha = abar / abar_prev
        cur_beta = 1 - cur_alpha
        x0, _ = _x0_eps(self.pred, out, x, abar)
        mean = (math.sqrt(abar_prev) * cur_beta / bbar) * x0 + (math.sqrt(cur_alpha) * bbar_prev / bbar) * x
        if t > 0:
            var = max(bbar_prev / bbar * cur_beta, 1e-20)
            mean = mean + math.sqrt(var) * noise
        return mean.float(), x0


class LCM:
    init_noise_sigma = 1.0

    def __init__(self, n, original_steps=50, timestep_scaling=10.0, prediction_type="epsilon"):
        self.n, self.pred, self.scaling = n, prediction_type, timestep_scaling
        self.timesteps = lcm_timesteps(n, original_steps)
        self.needs_noise = n > 1

    def scale_model_input(self, x, i):
        return x

    @staticmethod
    def boundary(t, scaling=10.0, sigma_data=0.5):
        s = t * scaling
        return sigma_data ** 2 / (s ** 2 + sigma_data ** 2), s / math.sqrt(s ** 2 + sigma_data ** 2)

    def step(self, out, i, x, noise=None):
        t = self.timesteps[i]
        last = i == len(self.timesteps) - 1
        abar = float(ABAR64[t])
        c_skip, c_out = self.boundary(t, self.scaling)
        x0, _ = _x0_eps(self.pred, out, x, abar)
        denoised = c_out * x0 + c_skip * x
        if last:
            return denoised.float(), denoised
        abar_next = float(ABAR64[self.timesteps[i + 1]])
        prev = math.sqrt(abar_next) * denoised + math.sqrt(1 - abar_next) * noise
        return prev.float(), denoised


class Euler:
    needs_noise = False

    def __init__(self, n, prediction_type="epsilon"):
        self.n, self.pred = n, prediction_type
        ts = np.round(np.arange(T, 0, -T / n)) - 1  # trailing, floats
        self.timesteps = ts.astype(np.float32).tolist()
        sig = np.interp(ts, np.arange(T), sigmas_np())
        self.sigmas = np.concatenate([sig, [0.0]]).astype(np.float32).astype(np.float64)
        self.init_noise_sigma = float(self.sigmas.max())

    def scale_model_input(self, x, i):
        s = self.sigmas[i]
        return (x / math.sqrt(s * s + 1)).float()

    def step(self, out, i, x, noise=None):
        s, s_next = self.sigmas[i], self.sigmas[i + 1]
        if self.pred == "epsilon":
            x0 = x - s * out
        elif self.pred == "v_prediction":
            x0 = out * (-s / math.sqrt(s * s + 1)) + x / (s * s + 1)
        else:
            raise ValueError(self.pred)
        d = (x - x0) / s
        return (x + d * (s_next - s)).float(), x0


class CM:
    """diffusers' CMStochasticIterativeScheduler (Song et al. 2023, Algorithm 1, on the Karras ramp): sigmas from
    num_train_timesteps discretisation points, model timestep 250 ln(sigma), EDM boundary condition (sigma_data).
    Default timesteps: arange(0, n) * (N // n) reversed, indexing the ramp from sigma_max; or explicit ones."""

    def __init__(self, n, num_train_timesteps=40, sigma_min=0.002, sigma_max=80.0, sigma_data=0.5, rho=7.0,
                 s_noise=1.0, clip_denoised=False, timesteps=None):
        self.n, self.N, self.sigma_min, self.sigma_max = n, num_train_timesteps, sigma_min, sigma_max
        self.sigma_data, self.rho, self.s_noise, self.clip = sigma_data, rho, s_noise, clip_denoised
        ts = np.array(timesteps if timesteps is not None else (np.arange(0, n) * (self.N // n))[::-1], dtype=np.float64)
        ramp = ts[::-1].copy() / (self.N - 1)
        mn, mx = sigma_min ** (1 / rho), sigma_max ** (1 / rho)
        sig = (mx + ramp * (mn - mx)) ** rho
        self.sigmas = np.concatenate([sig, [sigma_min]]).astype(np.float32).astype(np.float64)
        self.timesteps = self.sigma_to_t(torch.tensor(sig)).tolist()
        self.init_noise_sigma = sigma_max
        self.needs_noise = n > 1

    @staticmethod
    def sigma_to_t(sigma):
        return 1000 * 0.25 * torch.log(torch.as_tensor(sigma) + 1e-44)

    @staticmethod
    def scalings(sigma, sigma_data, sigma_min=0.002):
        """(c_skip, c_out, c_in) of the EDM boundary condition at sigma (tensor or float)."""
        c_skip = sigma_data ** 2 / ((sigma - sigma_min) ** 2 + sigma_data ** 2)
        c_out = (sigma - sigma_min) * sigma_data / (sigma ** 2 + sigma_data ** 2) ** 0.5
        c_in = 1 / (sigma ** 2 + sigma_data ** 2) ** 0.5
        return c_skip, c_out, c_in

    def scale_model_input(self, x, i):
        s = self.sigmas[i]
        return (x / math.sqrt(s * s + self.sigma_data ** 2)).float()

    def step(self, out, i, x, noise=None):
        s = self.sigmas[i]
        c_skip, c_out, _ = self.scalings(s, self.sigma_data, self.sigma_min)
        denoised = c_out * out + c_skip * x
        if self.clip:
            denoised = denoised.clamp(-1, 1)
        hat = min(max(self.sigmas[i + 1], self.sigma_min), self.sigma_max)
        if noise is None or i == len(self.timesteps) - 1:
            return denoised.float(), denoised
        return (denoised + noise * self.s_noise * math.sqrt(hat * hat - self.sigma_min ** 2)).float(), denoised


CM_KEYS = ("num_train_timesteps", "sigma_min", "sigma_max", "sigma_data", "rho", "s_noise", "clip_denoised")


def make_scheduler(name, n, prediction_type="epsilon", original_steps=50, config=None):
    """The reference scheduler for a diffusers class name at n steps; config: the pipeline's scheduler_config.json
    (read by the schedulers whose parameters are not the family's shared ones: CMStochasticIterativeScheduler)."""
    if name == "DDIMScheduler":
        return DDIM(n, prediction_type)
    if name == "DDPMScheduler":
        return DDPM(n, prediction_type)
    if name == "LCMScheduler":
        return LCM(n, original_steps, prediction_type=prediction_type)
    if name == "EulerDiscreteScheduler":
        return Euler(n, prediction_type)
    if name == "CMStochasticIterativeScheduler":
        return CM(n, **{k: v for k, v in (config or {}).items() if k in CM_KEYS})
    raise ValueError(name)


@torch.no_grad()
def sample(unet, sched, ctx, uncond_ctx, x, guidance_scale=1.0, lcm=False, noise_fn=None, trace=None):
    """Run the denoising loop like diffusers' pipelines. ctx [B,77,D]; uncond_ctx [1,77,D] or None.
    CFG (batch [uncond, cond]) when guidance_scale > 1 and not lcm; LCM takes w = g - 1 via timestep_cond.
    noise_fn(i) -> noise tensor for schedulers that need it. Returns the final latents (LCM: denoised)."""
    b = x.shape[0]
    x = (x * sched.init_noise_sigma).float()
    cond = guidance_embedding(torch.full((b,), guidance_scale - 1.0)) if lcm else None
    cfg = guidance_scale > 1.0 and not lcm
    final = x
    for i, t in enumerate(sched.timesteps):
        xin = sched.scale_model_input(x, i)
        tt = torch.full((b,), float(t))
        if cfg:
            out = unet(torch.cat([xin, xin]), torch.cat([tt, tt]),
                       torch.cat([uncond_ctx.expand(b, -1, -1), ctx]))
            eu, ec = out.chunk(2)
            out = eu + guidance_scale * (ec - eu)
        else:
            out = unet(xin, tt, ctx, cond) if lcm else unet(xin, tt, ctx)
        noise = noise_fn(i) if (sched.needs_noise and noise_fn is not None) else None
        if sched.needs_noise and noise is None:
            noise = torch.randn_like(x)
        x, x0 = sched.step(out, i, x, noise)
        if trace is not None:
            trace.append({"t": t, "x": x.clone()})
        final = x
    return final
