"""SD's scaled_linear 1000-step schedule and scheduler configs (diffusers keys), plus timestep rules."""
import numpy as np
import torch

T = 1000
BETA_START, BETA_END = 0.00085, 0.012


def alphas_cumprod_np():
    betas = (np.linspace(BETA_START ** 0.5, BETA_END ** 0.5, T, dtype=np.float32) ** 2).astype(np.float32)
    alphas = 1.0 - betas.astype(np.float64)
    return np.cumprod(alphas)  # float64, like diffusers' cumprod of float32 alphas (within ~1e-7)


ABAR64 = alphas_cumprod_np()
ABAR = torch.tensor(ABAR64, dtype=torch.float32)


def abar_at(t):
    """alphas_cumprod at integer timesteps (tensor), 1.0 where t < 0 (set_alpha_to_one / clean data)."""
    t = torch.as_tensor(t)
    out = ABAR[t.clamp(min=0).long()]
    return torch.where(t < 0, torch.ones_like(out), out)


def sigmas_np():
    return np.sqrt((1 - ABAR64) / ABAR64)


def trailing(n):
    return (np.round(np.arange(T, 0, -T / n)).astype(np.int64) - 1).tolist()


def leading(n, offset=1):
    return (np.arange(0, n) * (T // n))[::-1].astype(np.int64) + offset


def lcm_timesteps(n, original_steps=50):
    k = T // original_steps
    origin = (np.arange(1, original_steps + 1) * k - 1)[::-1]
    idx = np.floor(np.linspace(0, len(origin), n, endpoint=False)).astype(np.int64)
    return origin[idx].tolist()


_COMMON = {"num_train_timesteps": T, "beta_start": BETA_START, "beta_end": BETA_END,
           "beta_schedule": "scaled_linear", "trained_betas": None, "_diffusers_version": "0.30.0"}


def ddim_config(prediction_type="epsilon", spacing="trailing"):
    return {"_class_name": "DDIMScheduler", **_COMMON, "clip_sample": False, "clip_sample_range": 1.0,
            "set_alpha_to_one": True, "steps_offset": 1, "prediction_type": prediction_type,
            "thresholding": False, "dynamic_thresholding_ratio": 0.995, "sample_max_value": 1.0,
            "timestep_spacing": spacing, "rescale_betas_zero_snr": False}


def lcm_config(original_inference_steps=50):
    return {"_class_name": "LCMScheduler", **_COMMON, "original_inference_steps": original_inference_steps,
            "clip_sample": False, "clip_sample_range": 1.0, "set_alpha_to_one": True, "steps_offset": 1,
            "prediction_type": "epsilon", "thresholding": False, "dynamic_thresholding_ratio": 0.995,
            "sample_max_value": 1.0, "timestep_spacing": "leading", "timestep_scaling": 10.0,
            "rescale_betas_zero_snr": False}


def euler_config():
    return {"_class_name": "EulerDiscreteScheduler", **_COMMON, "prediction_type": "epsilon",
            "interpolation_type": "linear", "use_karras_sigmas": False, "timestep_spacing": "trailing",
            "steps_offset": 1, "rescale_betas_zero_snr": False, "timestep_type": "discrete",
            "final_sigmas_type": "zero", "sigma_min": None, "sigma_max": None}


def cm_config(sigma_data=1.0, num_train_timesteps=40):
    """diffusers' CMStochasticIterativeScheduler config for the iCT pipeline: Karras ramp 0.002..80 (rho 7) over
    num_train_timesteps points, sigma_data of the scaled latents (std ~1), no clamp of the denoised latents."""
    return {"_class_name": "CMStochasticIterativeScheduler", "_diffusers_version": "0.30.0",
            "num_train_timesteps": num_train_timesteps, "sigma_min": 0.002, "sigma_max": 80.0,
            "sigma_data": sigma_data, "s_noise": 1.0, "rho": 7.0, "clip_denoised": False}
