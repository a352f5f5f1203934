"""Stage 5c: LCM-LoRA (Luo et al. 2023b, "LCM-LoRA: A Universal Stable-Diffusion Acceleration Module").

Latent consistency distillation (train_lcm.py's objective: skipping-step DDIM solver on the 50-step origin grid,
k = 20, boundary c_skip/c_out of diffusers' LCMScheduler, pseudo-Huber loss) where only a low-rank adapter on the
frozen teacher is trained (fewstep/lora.py, LCM_TARGETS). As in diffusers' examples/consistency_distillation/
train_lcm_distill_lora_sd.py: the base U-Net has no timestep_cond projection, so the student gets no guidance
embedding; the teacher's guided epsilon eps_u + (1 + w)(eps_c - eps_u) uses w ~ U[w_min, w_max], which the
adapter bakes in (sampled with guidance_scale 1, no CFG batch); the target is the student itself under
stop-gradient (no EMA copy: the script calls the same LoRA U-Net under no_grad).

Writes runs/<run>/final.pt {"adapters": lora.adapter_state, "r", "alpha", "targets", "w_range"}.
"""
import argparse
import copy
import os
import sys

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fewstep import lora  # noqa: E402
from fewstep.common import LatentData, load_unet, frozen, optimizer_step, pseudo_huber  # noqa: E402
from fewstep.loop import Run, setup_threads, RUNS  # noqa: E402
from train_lcm import consistency_fn, solver_batch  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--teacher", default=os.path.join(RUNS, "teacher", "final.pt"))
    ap.add_argument("--steps", type=int, default=9000)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=3e-4)
    ap.add_argument("--rank", type=int, default=8)
    ap.add_argument("--alpha", type=float, default=8.0)
    ap.add_argument("--w-min", type=float, default=2.0, help="w = guidance_scale - 1 of the teacher's solver")
    ap.add_argument("--w-max", type=float, default=4.0)
    ap.add_argument("--huber-c", type=float, default=0.001)
    ap.add_argument("--run", default="lcm-lora")
    args = ap.parse_args()
    setup_threads()
    torch.manual_seed(0)
    data = LatentData()
    teacher, _ = load_unet(args.teacher)
    student = copy.deepcopy(teacher)
    names = lora.inject(student, args.rank, args.alpha)
    teacher = frozen(teacher)
    student.train()
    params = lora.lora_parameters(student)
    opt = torch.optim.Adam(params, lr=args.lr)
    run = Run(args.run, {"unet": student, "opt": opt}, args.steps, log_every=25)
    run.print(f"{len(names)} adapted modules, rank {args.rank}, alpha {args.alpha}, "
              f"{sum(p.numel() for p in params)} adapter parameters")
    g = torch.Generator().manual_seed(11 + run.step)
    while not run.done:
        z, t, z_prev, t_prev, ctx, _ = solver_batch(teacher, data, args.batch, args.w_min, args.w_max, g)
        with torch.no_grad():
            tgt = consistency_fn(student, z_prev, t_prev, ctx, None)
        pred = consistency_fn(student, z, t, ctx, None)
        d = pred - tgt
        loss = pseudo_huber(d, args.huber_c).mean()
        optimizer_step(opt, loss, params)
        run.tick(loss=loss.item())
    torch.save({"adapters": lora.adapter_state(student), "r": args.rank, "alpha": args.alpha,
                "targets": list(lora.LCM_TARGETS), "w_range": [args.w_min, args.w_max], "elapsed": run.elapsed,
                "steps": run.step, "teacher": args.teacher}, os.path.join(run.dir, "final.pt"))
    run.print("wrote final.pt (adapter weights)")


if __name__ == "__main__":
    main()
