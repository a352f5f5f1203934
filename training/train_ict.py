"""Consistency training from scratch, without a teacher (issue 14): Song et al. 2023, "Consistency Models"
(arXiv:2303.01469, Algorithm 3, CT) with the improvements of Song & Dhariwal 2023, "Improved Techniques for
Training Consistency Models" (arXiv:2310.14189, iCT), in the latent space of the shipped VAE, conditioned on the
shipped (frozen) text encoder. The U-Net starts from random weights; no diffusion model is used anywhere.

Parameterisation (EDM, Karras et al. 2022, as diffusers' CMStochasticIterativeScheduler evaluates it):
    f(x, sigma) = c_skip(sigma) x + c_out(sigma) F(c_in(sigma) x, c_noise(sigma), text)
    c_skip = sigma_data^2 / ((sigma - sigma_min)^2 + sigma_data^2),  c_out = (sigma - sigma_min) sigma_data /
    sqrt(sigma^2 + sigma_data^2),  c_in = 1 / sqrt(sigma^2 + sigma_data^2),  c_noise = 250 ln(sigma)
so the exported U-Net runs unchanged under CMStochasticIterativeScheduler (sigma_data from the data: the scaled
latents have std ~1, so sigma_data = 1.0, written into scheduler_config.json; clip_denoised false for latents).

iCT choices (paper section in brackets):
- no EMA teacher: the target is the student itself under stop-gradient, theta^- = theta (3.2);
- pseudo-Huber metric d(x, y) = sqrt(||x - y||^2 + c^2) - c, c = 0.00054 sqrt(dim) (3.3); dim = 4*8*8;
- loss weight lambda(sigma_i) = 1 / (sigma_{i+1} - sigma_i) (3.4);
- discretisation curriculum N(k) = min(s0 2^floor(k / K'), s1) + 1, s0 = 10, s1 = 1280, K' = floor(K / (log2(s1/s0)
  + 1)) (3.5), over Karras sigmas with rho = 7 between sigma_min 0.002 and sigma_max 80;
- noise levels drawn from the discretised lognormal p(sigma_i) ~ erf((ln sigma_{i+1} - P_mean) / (sqrt2 P_std)) -
  erf((ln sigma_i - P_mean) / (sqrt2 P_std)), P_mean = -1.1, P_std = 2.0 (3.5).
Deviations, stated: Adam (not RAdam), batch 64 (not 1024+), no dropout (the family's U-Net has none), and an EMA of
the weights (0.999) kept only for export, as iCT keeps one for sampling. Captions: 10% empty (so classifier-free
guidance can be tried at sampling time), the rest the grammar's canonical and partial captions, as the teacher.
Resumable (runs/ict/ckpt.pt); final.pt holds the EMA U-Net.
"""
import argparse
import math
import os
import sys

import numpy as np
import torch

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fewstep.common import LatentData, optimizer_step  # noqa: E402
from fewstep.loop import Run, setup_threads  # noqa: E402
from fewstep.models import UNet, n_params  # noqa: E402
from fewstep.sampling import CM  # noqa: E402
from train_teacher import EMA  # noqa: E402

SIGMA_MIN, SIGMA_MAX, RHO = 0.002, 80.0, 7.0
P_MEAN, P_STD = -1.1, 2.0
S0, S1 = 10, 1280


def n_discretisation(k, total):
    """iCT's exponential curriculum N(k) (section 3.5): the number of Karras sigmas at training step k."""
    k_prime = math.floor(total / (math.log2(S1 / S0) + 1))
    return min(S0 * 2 ** math.floor(k / max(1, k_prime)), S1) + 1


def karras_sigmas(n):
    """Karras et al. eq. 5, ascending: sigma_1 = sigma_min ... sigma_n = sigma_max (float64 numpy)."""
    i = np.arange(n) / (n - 1)
    return (SIGMA_MIN ** (1 / RHO) + i * (SIGMA_MAX ** (1 / RHO) - SIGMA_MIN ** (1 / RHO))) ** RHO


def lognormal_index_probs(sigmas):
    """p(i) for the pair (sigma_i, sigma_{i+1}), i = 0..n-2: the discretised lognormal of iCT section 3.5."""
    from math import erf
    ls = np.log(sigmas)
    cdf = np.array([erf((x - P_MEAN) / (math.sqrt(2) * P_STD)) for x in ls])
    p = cdf[1:] - cdf[:-1]
    return p / p.sum()


def consistency_fn(unet, x, sigma, ctx, sigma_data):
    """f(x, sigma) [B,4,8,8]; sigma: [B] float tensor (> sigma_min)."""
    s = sigma.view(-1, 1, 1, 1)
    c_skip, c_out, c_in = CM.scalings(s, sigma_data)
    return c_skip * x + c_out * unet(c_in * x, CM.sigma_to_t(sigma), ctx)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=12000, help="K, the total training steps (sets the curriculum)")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--lr", type=float, default=2e-4)
    ap.add_argument("--sigma-data", type=float, default=1.0)
    ap.add_argument("--ema", type=float, default=0.999)
    ap.add_argument("--p-uncond", type=float, default=0.1)
    ap.add_argument("--ch", default="48,96", help="U-Net widths (the teacher's by default)")
    ap.add_argument("--run", default="ict")
    args = ap.parse_args()
    setup_threads()
    torch.manual_seed(0)
    data = LatentData()
    unet = UNet(ctx_dim=data.te.dim, ch=tuple(int(c) for c in args.ch.split(","))).train()
    ema = EMA(unet, args.ema)
    opt = torch.optim.Adam(unet.parameters(), lr=args.lr)
    run = Run(args.run, {"unet": unet, "ema": ema, "opt": opt}, args.steps, log_every=100)
    huber_c = 0.00054 * math.sqrt(4 * 8 * 8)
    run.print(f"iCT from random init: unet {n_params(unet)} params, K={args.steps}, batch {args.batch}, "
              f"sigma_data {args.sigma_data}, pseudo-Huber c={huber_c:.5f}")
    g = torch.Generator().manual_seed(11 + run.step)
    cached_n, sig, probs = None, None, None
    while not run.done:
        n = n_discretisation(run.step, args.steps)
        if n != cached_n:
            cached_n, sig = n, karras_sigmas(n)
            probs = torch.tensor(lognormal_index_probs(sig))
            run.print(f"curriculum: N = {n} discretisation steps")
        z0, ctx = data.batch(args.batch, g)
        drop = torch.rand(args.batch, generator=g) < args.p_uncond
        ctx = torch.where(drop.view(-1, 1, 1), data.uncond.expand_as(ctx), ctx)
        i = torch.multinomial(probs, args.batch, replacement=True, generator=g)
        s_lo = torch.tensor(sig, dtype=torch.float64)[i].float()
        s_hi = torch.tensor(sig, dtype=torch.float64)[i + 1].float()
        z = torch.randn(z0.shape, generator=g)
        pred = consistency_fn(unet, z0 + s_hi.view(-1, 1, 1, 1) * z, s_hi, ctx, args.sigma_data)
        with torch.no_grad():  # theta^- = stopgrad(theta); same noise z, adjacent sigma (CT's Euler step is exact)
            tgt = consistency_fn(unet, z0 + s_lo.view(-1, 1, 1, 1) * z, s_lo, ctx, args.sigma_data)
        d2 = ((pred - tgt) ** 2).flatten(1).sum(1)
        huber = torch.sqrt(d2 + huber_c ** 2) - huber_c  # pseudo-Huber of the norm ||d|| (d2 = ||d||^2)
        loss = (huber / (s_hi - s_lo)).mean()
        optimizer_step(opt, loss, unet.parameters())
        ema.update(unet)
        run.tick(loss=loss.item(), huber=huber.mean().item())
    torch.save({"unet": ema.state_dict(), "unet_ch": list(unet.ch), "elapsed": run.elapsed, "steps": run.step,
                "sigma_data": args.sigma_data, "method": "iCT"}, os.path.join(run.dir, "final.pt"))
    run.print("wrote final.pt (EMA weights)")


if __name__ == "__main__":
    main()
