"""Stage 5c: adversarial diffusion distillation (Sauer et al. 2023).

Student: epsilon U-Net initialised from the teacher, trained at the 4 student timesteps {999, 749, 499, 249}
(= EulerDiscreteScheduler trailing, 4 steps; 1 and 2 steps use subsets). x^_0 = (z_s - sigma_s eps^) / alpha_s.
Adversarial loss (hinge): a trainable text-conditioned discriminator on clean latents (real: data latents,
fake: x^_0), projection-conditioned on the mean text embedding; generator term -D(x^_0). (ADD's discriminator is
a frozen DINOv2 with trainable heads; no such feature net exists at this scale, so the whole discriminator is
trained, with an R1 penalty on real samples.)
Distillation loss: x^_0 re-noised to a teacher timestep t ~ U[0, 999]; teacher x0 with CFG (scale g_t);
c(t) = alpha_bar_t weighted MSE to the stop-gradient teacher x0. L_G = L_adv + lambda * L_distill, lambda = 2.5.

Optional regression loss (--reg-weight > 0): DMD's L_reg (Yin et al. 2024, "One-step Diffusion with Distribution
Matching Distillation", eq. 7): the 1-step output from a noise z_T is regressed onto the teacher's deterministic
sampler output x_0 from the same z_T (pairs made beforehand with train_direct.make_pairs, resumable; DMD uses LPIPS
on images, here squared error on latents as in train_direct.py). The student's 1-step input is sqrt(1 - alpha_bar_999)
z_T, which is what EulerDiscreteScheduler's scale_model_input makes of init_noise_sigma * z_T at 1 step.
L_G = L_adv + lambda * L_distill + reg_weight * L_reg.
"""
import argparse
import copy
import glob
import os
import sys

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fewstep.common import LatentData, load_unet, alpha_sigma, frozen, guided_eps, optimizer_step  # noqa: E402
from fewstep.loop import Run, setup_threads, RUNS  # noqa: E402
from fewstep.models import n_params  # noqa: E402

STUDENT_T = [999, 749, 499, 249]


class Discriminator(nn.Module):
    def __init__(self, ctx_dim, ch=64):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(4, ch, 3, padding=1), nn.LeakyReLU(0.2),
            nn.Conv2d(ch, ch, 3, padding=1), nn.GroupNorm(8, ch), nn.LeakyReLU(0.2),
            nn.Conv2d(ch, 2 * ch, 3, stride=2, padding=1), nn.GroupNorm(8, 2 * ch), nn.LeakyReLU(0.2),
            nn.Conv2d(2 * ch, 2 * ch, 3, padding=1), nn.LeakyReLU(0.2), nn.Flatten(),
            nn.Linear(2 * ch * 16, 256), nn.LeakyReLU(0.2))
        self.out = nn.Linear(256, 1)
        self.proj = nn.Linear(ctx_dim, 256)

    def forward(self, x, ctx):
        h = self.body(x)
        c = self.proj(ctx.mean(1))
        return self.out(h).squeeze(1) + (h * c).sum(1) / 16.0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--teacher", default=os.path.join(RUNS, "teacher", "final.pt"))
    ap.add_argument("--steps", type=int, default=500)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=5e-5)
    ap.add_argument("--lr-d", type=float, default=2e-4)
    ap.add_argument("--teacher-guidance", type=float, default=4.0)
    ap.add_argument("--lam", type=float, default=2.5)
    ap.add_argument("--r1", type=float, default=1e-2)
    ap.add_argument("--run", default="turbo")
    ap.add_argument("--init", default="", help="initialise student (and discriminator) from this checkpoint")
    ap.add_argument("--reg-weight", type=float, default=0.0, help="weight of DMD's regression loss (0: plain ADD)")
    ap.add_argument("--reg-pairs", default="turbo-pairs", help="run folder of the (noise, teacher x0) pairs")
    ap.add_argument("--reg-n", type=int, default=6000, help="pairs to make (chunks of 200, resumable)")
    ap.add_argument("--reg-teacher-steps", type=int, default=32, help="teacher DDIM steps per pair (32: seen acc 0.92, as 50)")
    ap.add_argument("--reg-batch", type=int, default=32)
    ap.add_argument("--one-step-frac", type=float, default=0.0,
                    help="fraction of each batch drawn at t=999 (the 1-step sample) on top of ADD's uniform draw over "
                         "the 4 student timesteps: weights the 1-step case the app ships by default")
    args = ap.parse_args()
    setup_threads()
    torch.manual_seed(0)
    data = LatentData()
    teacher, _ = load_unet(args.teacher)
    student = copy.deepcopy(teacher).train()
    teacher = frozen(teacher)
    disc = Discriminator(teacher.ctx_dim)
    if args.init:  # continue from an earlier run (student + discriminator)
        ck = torch.load(args.init)
        student.load_state_dict(ck["unet"])
        if "disc" in ck:
            disc.load_state_dict(ck["disc"])
    reg = None
    if args.reg_weight > 0:
        from fewstep.pipelines import TEACHER_GUIDANCE
        from train_direct import make_pairs
        pairs_dir = os.path.join(RUNS, args.reg_pairs)
        os.makedirs(pairs_dir, exist_ok=True)
        with open(os.path.join(pairs_dir, "log.txt"), "a") as logf:
            def log(msg):
                print(msg, flush=True)
                logf.write(msg + "\n")
                logf.flush()
            make_pairs(teacher, data, os.path.join(pairs_dir, "pairs"), args.reg_n, min(200, args.reg_n), TEACHER_GUIDANCE, log,
                       teacher_steps=args.reg_teacher_steps)
        chunks = [torch.load(p) for p in sorted(glob.glob(os.path.join(pairs_dir, "pairs", "chunk_*.pt")))]
        ids = torch.cat([c["ids"] for c in chunks]).long()
        with torch.no_grad():
            reg_ctx = torch.cat([data.te(ids[i:i + 500])[0] for i in range(0, len(ids), 500)])
        reg = (torch.cat([c["noise"] for c in chunks]), torch.cat([c["x0"] for c in chunks]), reg_ctx)
    opt_g = torch.optim.Adam(student.parameters(), lr=args.lr, betas=(0.0, 0.99))
    opt_d = torch.optim.Adam(disc.parameters(), lr=args.lr_d, betas=(0.0, 0.99))
    run = Run(args.run, {"unet": student, "disc": disc, "opt_g": opt_g, "opt_d": opt_d}, args.steps, log_every=25)
    run.print(f"discriminator {n_params(disc)} params")
    st = torch.tensor(STUDENT_T)
    g = torch.Generator().manual_seed(11 + run.step)
    while not run.done:
        z0, ctx = data.batch(args.batch, g)
        s_t = st[torch.randint(0, len(STUDENT_T), (args.batch,), generator=g)]
        if args.one_step_frac > 0:
            s_t = torch.where(torch.rand(args.batch, generator=g) < args.one_step_frac, st[0], s_t)
        a, s = alpha_sigma(s_t)
        zs = a * z0 + s * torch.randn(z0.shape, generator=g)
        x_hat = (zs - s * student(zs, s_t.float(), ctx)) / a
        # --- discriminator step (hinge + R1 on real)
        real = z0.detach().requires_grad_(args.r1 > 0)
        d_real = disc(real, ctx)
        d_fake = disc(x_hat.detach(), ctx)
        loss_d = F.relu(1 - d_real).mean() + F.relu(1 + d_fake).mean()
        if args.r1 > 0:
            grad, = torch.autograd.grad(d_real.sum(), real, create_graph=True)
            loss_d = loss_d + args.r1 * 0.5 * grad.pow(2).flatten(1).sum(1).mean()
        opt_d.zero_grad()
        loss_d.backward()
        opt_d.step()
        # --- generator step: adversarial + distillation
        t = torch.randint(0, 1000, (args.batch,), generator=g)
        at, sgt = alpha_sigma(t)
        with torch.no_grad():
            xt = at * x_hat.detach() + sgt * torch.randn(z0.shape, generator=g)
            eps_t = guided_eps(teacher, xt, t, ctx, data.uncond, args.teacher_guidance)
            x_teacher = (xt - sgt * eps_t) / at
        c = (at ** 2).view(-1)
        loss_distill = (c * ((x_hat - x_teacher) ** 2).flatten(1).mean(1)).mean()
        for p in disc.parameters():
            p.requires_grad_(False)
        loss_adv = -disc(x_hat, ctx).mean()
        for p in disc.parameters():
            p.requires_grad_(True)
        loss_g = loss_adv + args.lam * loss_distill
        extra = {}
        if reg is not None:
            j = torch.randint(0, len(reg[0]), (args.reg_batch,), generator=g)
            a1, s1 = alpha_sigma(torch.full((args.reg_batch,), STUDENT_T[0]))
            z1 = s1 * reg[0][j]
            x1 = (z1 - s1 * student(z1, torch.full((args.reg_batch,), float(STUDENT_T[0])), reg[2][j])) / a1
            loss_reg = ((x1 - reg[1][j]) ** 2).mean()
            loss_g = loss_g + args.reg_weight * loss_reg
            extra["reg"] = loss_reg.item()
        optimizer_step(opt_g, loss_g, student.parameters())
        run.tick(d=loss_d.item(), adv=loss_adv.item(), distill=loss_distill.item(), **extra)
    torch.save({"unet": student.state_dict(), "unet_ch": student.ch, "elapsed": run.elapsed, "steps": run.step},
               os.path.join(run.dir, "final.pt"))
    run.print("wrote final.pt")


if __name__ == "__main__":
    main()
