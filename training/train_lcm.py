"""Stage 5b: latent consistency distillation (Luo et al. 2023, Algorithm 1).

Student f(z, t, w) = c_skip(t) z + c_out(t) x0(eps_theta(z, t, w)), eps-parameterised, initialised from the
teacher with a zero-initialised projection of the guidance embedding timestep_cond = emb(w) (diffusers'
get_guidance_scale_embedding, w = guidance_scale - 1, scaled by 1000). Boundary condition as in diffusers'
LCMScheduler: sigma_data 0.5, c_skip = 0.25/((10t)^2+0.25), c_out = 10t/sqrt((10t)^2+0.25).
Skipping-step DDIM solver on the 50-step origin grid (k = 20): z_{t_{n+k}} -> z_{t_n} with the teacher's
guided epsilon eps_u + (1+w)(eps_c - eps_u), w ~ U[w_min, w_max]. Target: EMA student (mu = 0.95) at t_n.
Loss: pseudo-Huber (c = 0.001).
"""
import argparse
import copy
import os
import sys

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fewstep.common import LatentData, load_unet, alpha_sigma, frozen, guided_eps, optimizer_step, pseudo_huber  # noqa: E402
from fewstep.loop import Run, setup_threads, RUNS  # noqa: E402
from fewstep.models import guidance_embedding, COND_DIM  # noqa: E402
from fewstep.sampling import LCM  # noqa: E402

K = 20  # 1000 // original_inference_steps (50)


def boundary(t):
    cs, co = zip(*[LCM.boundary(float(x)) for x in t.tolist()])
    return torch.tensor(cs).view(-1, 1, 1, 1), torch.tensor(co).view(-1, 1, 1, 1)


def consistency_fn(unet, z, t, ctx, wemb):
    a, s = alpha_sigma(t)
    eps = unet(z, t.float(), ctx, wemb)
    x0 = (z - s * eps) / a
    c_skip, c_out = boundary(t)
    return c_skip * z + c_out * x0


def solver_batch(teacher, data, batch, w_min, w_max, g):
    """One LCD training batch (Luo et al. 2023, Alg. 1): data latents z0 noised to t_{n+k} on the 50-step origin
    grid, and the teacher's guided DDIM step (eta 0, guidance 1 + w, w ~ U[w_min, w_max]) down to t_n.
    Returns (z [B,4,8,8] at t, t [B] int, z_prev at t_prev, t_prev [B], ctx [B,77,D], w [B])."""
    origin = torch.arange(1, 51) * K - 1  # 19, 39, ..., 999
    z0, ctx = data.batch(batch, g)
    t = origin[torch.randint(0, 50, (batch,), generator=g)]
    t_prev = (t - K).clamp(min=0)
    w = w_min + (w_max - w_min) * torch.rand(batch, generator=g)
    a, s = alpha_sigma(t)
    z = a * z0 + s * torch.randn(z0.shape, generator=g)
    with torch.no_grad():
        eps = guided_eps(teacher, z, t, ctx, data.uncond, 1.0 + w)
        x0 = (z - s * eps) / a
        a2, s2 = alpha_sigma(t_prev)
        z_prev = a2 * x0 + s2 * eps  # DDIM (eta 0) from t_{n+k} to t_n
    return z, t, z_prev, t_prev, ctx, w


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--teacher", default=os.path.join(RUNS, "teacher", "final.pt"))
    ap.add_argument("--steps", type=int, default=500)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=1e-4)
    ap.add_argument("--w-min", type=float, default=1.0, help="w = guidance_scale - 1")
    ap.add_argument("--w-max", type=float, default=5.0)
    ap.add_argument("--ema", type=float, default=0.95)
    ap.add_argument("--huber-c", type=float, default=0.001)
    ap.add_argument("--run", default="lcm")
    ap.add_argument("--init", default="", help="initialise the student from this LCM checkpoint")
    args = ap.parse_args()
    setup_threads()
    torch.manual_seed(0)
    data = LatentData()
    teacher, _ = load_unet(args.teacher)
    student = copy.deepcopy(teacher).add_cond(COND_DIM).train()
    if args.init:  # continue from an earlier LCM student (e.g. distilled from an earlier teacher snapshot)
        student.load_state_dict(torch.load(args.init)["unet"])
    teacher = frozen(teacher)
    target = frozen(student)
    opt = torch.optim.Adam(student.parameters(), lr=args.lr)
    run = Run(args.run, {"unet": student, "target": target, "opt": opt}, args.steps, log_every=25)
    g = torch.Generator().manual_seed(7 + run.step)
    while not run.done:
        z, t, z_prev, t_prev, ctx, w = solver_batch(teacher, data, args.batch, args.w_min, args.w_max, g)
        wemb = guidance_embedding(w)
        with torch.no_grad():
            tgt = consistency_fn(target, z_prev, t_prev, ctx, wemb)
        pred = consistency_fn(student, z, t, ctx, wemb)
        d = pred - tgt
        loss = pseudo_huber(d, args.huber_c).mean()
        optimizer_step(opt, loss, student.parameters())
        with torch.no_grad():
            for pt, ps in zip(target.parameters(), student.parameters()):
                pt.mul_(args.ema).add_(ps.detach(), alpha=1 - args.ema)
        run.tick(loss=loss.item())
    torch.save({"unet": target.state_dict(), "unet_ch": student.ch, "elapsed": run.elapsed, "steps": run.step,
                "w_range": [args.w_min, args.w_max]}, os.path.join(run.dir, "final.pt"))
    run.print("wrote final.pt (EMA target network)")


if __name__ == "__main__":
    main()
