"""Stage 5a: progressive distillation (Salimans & Ho 2022, Algorithm 2), with guidance distilled into the first
stage (Meng et al. 2023): the first teacher is the epsilon teacher with classifier-free guidance w, run as 2N-step
DDIM; every later stage's teacher is the previous student. Students are v-parameterised, initialised from their
teacher, and trained on the student's own DDIM grid t_i = 999 - i*1000/N (next t - 1000/N, -1 = clean), which is
exactly diffusers' DDIMScheduler with timestep_spacing="trailing", set_alpha_to_one=True for N in {8,4,2,1}.

Target (paper eq. 8): two teacher DDIM steps t -> t' -> t''; x~ = (z'' - (s''/s) z) / (a'' - (s''/s) a).
Loss: max(SNR(t), 1) * ||x^ - x~||^2 ("truncated SNR" weighting), x^ = a z - s v.
"""
import argparse
import os
import sys

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fewstep.common import LatentData, load_unet, alpha_sigma, frozen, guided_eps, optimizer_step  # noqa: E402
from fewstep.loop import Run, setup_threads, RUNS  # noqa: E402


def teacher_x0(kind, unet, z, t, ctx, uncond, w):
    a, s = alpha_sigma(t)
    if kind == "eps":
        eps = guided_eps(unet, z, t, ctx, uncond, w)
        return (z - s * eps) / a
    v = unet(z, t.float(), ctx)
    return a * z - s * v


def ddim_step(x0, z, t, t_next):
    a, s = alpha_sigma(t)
    a2, s2 = alpha_sigma(t_next)
    eps = (z - a * x0) / s
    return a2 * x0 + s2 * eps


def grid(n):
    """student timesteps for n steps and their successors (-1 = clean)"""
    stride = 1000 // n
    ts = [999 - i * stride for i in range(n)]
    return ts, [t - stride for t in ts]


def distill_stage(n_student, teacher, kind, data, args, run_name):
    init = os.path.join(args.init_prefix + f"-{n_student}", "final.pt") if args.init_prefix else ""
    if init and os.path.exists(init):  # continue an earlier student of this stage (e.g. the shipped one)
        student, _ = load_unet(init)
        student = load_student_from(student)
    else:
        student = load_student_from(teacher)
    teacher = frozen(teacher)
    opt = torch.optim.Adam(student.parameters(), lr=args.lr)
    steps = args.first_stage_steps if kind == "eps" else (args.stage_steps if n_student > 1 else args.last_stage_steps)
    run = Run(run_name, {"unet": student, "opt": opt}, steps, log_every=25)
    ts, tn = grid(n_student)
    ts, tn = torch.tensor(ts), torch.tensor(tn)
    g = torch.Generator().manual_seed(100 * n_student + run.step)
    while not run.done:
        z0, ctx = data.batch(args.batch, g)
        i = torch.randint(0, n_student, (args.batch,), generator=g)
        t, t2 = ts[i], tn[i]
        t1 = t - (t - t2) // 2  # teacher's midpoint (62 or 63 apart on the 16-step grid)
        a, s = alpha_sigma(t)
        eps = torch.randn(z0.shape, generator=g)
        z = a * z0 + s * eps
        with torch.no_grad():
            x0 = teacher_x0(kind, teacher, z, t, ctx, data.uncond, args.guidance)
            z1 = ddim_step(x0, z, t, t1)
            x1 = teacher_x0(kind, teacher, z1, t1, ctx, data.uncond, args.guidance)
            a2, s2 = alpha_sigma(t2)
            z2 = a2 * x1 + s2 * (z1 - alpha_sigma(t1)[0] * x1) / alpha_sigma(t1)[1]
            r = s2 / s
            x_tgt = (z2 - r * z) / (a2 - r * a)
        v = student(z, t.float(), ctx)
        x_hat = a * z - s * v
        wt = torch.clamp(a ** 2 / s ** 2, min=1.0)
        loss = (wt * (x_hat - x_tgt) ** 2).mean()
        optimizer_step(opt, loss, student.parameters())
        run.tick(loss=loss.item())
    return student, run


def load_student_from(teacher):
    import copy
    s = copy.deepcopy(teacher).train()
    for p in s.parameters():
        p.requires_grad_(True)
    return s


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--teacher", default=os.path.join(RUNS, "teacher", "final.pt"))
    ap.add_argument("--guidance", type=float, default=4.0)
    ap.add_argument("--start", type=int, default=16, help="teacher DDIM steps distilled by the first stage")
    ap.add_argument("--first-stage-steps", type=int, default=250)
    ap.add_argument("--stage-steps", type=int, default=150)
    ap.add_argument("--last-stage-steps", type=int, default=250)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=1e-4)
    ap.add_argument("--prefix", default="progressive")
    ap.add_argument("--init-prefix", default="", help="start stage n's student from <init-prefix>-n/final.pt when it "
                    "exists (e.g. runs/shipped/progressive), else from its teacher")
    args = ap.parse_args()
    setup_threads()
    torch.manual_seed(0)
    data = LatentData()
    teacher, ck = load_unet(args.teacher)
    kind = "eps"
    n = args.start
    while n > 1:
        n //= 2
        name = f"{args.prefix}-{n}"
        final = os.path.join(RUNS, name, "final.pt")
        if os.path.exists(final):
            student, sck = load_unet(final)
            print(f"{name}: already trained ({sck['elapsed']:.0f}s)")
        else:
            student, run = distill_stage(n, teacher, kind, data, args, name)
            torch.save({"unet": student.state_dict(), "unet_ch": student.ch, "elapsed": run.elapsed, "steps": run.step,
                        "prediction_type": "v_prediction", "n_steps": n, "guidance_distilled": args.guidance},
                       final)
            run.print(f"wrote {final}")
        teacher, kind = student.eval(), "v"


if __name__ == "__main__":
    main()
