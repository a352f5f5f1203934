"""Direct knowledge distillation (issue 14): Luhman & Luhman 2021, "Knowledge Distillation in Iterative Generative
Models for Improved Sampling Speed" (arXiv:2101.02388). The chapter's first method: a one-step student learns the
deterministic map noise -> sample of a many-step teacher sampler by regression on pairs made beforehand.

1. Pairs (resumable, one file per chunk under runs/direct/pairs/): for each pair a caption (the grammar's canonical
   or partial captions, as the other students see), a noise z_T ~ N(0, I) [4,8,8] and the teacher's DDIM-50
   (trailing, eta 0, classifier-free guidance at the teacher's guidance_scale) output latent x_0 from that noise.
2. Student: the teacher's U-Net (initialised from the teacher's weights), run once at t = 999 with
   prediction_type "sample": its output is x_0 itself, so the exported pipeline is DDIMScheduler (trailing,
   set_alpha_to_one) at 1 step, which returns the model output unchanged. No CFG at sampling: guidance is in the
   targets. Loss: squared error to the teacher's x_0 (the paper's L2 regression), in latent space; a held-out
   slice of the pairs gives the validation error. final.pt keeps the EMA (0.999) weights.
"""
import argparse
import glob
import os
import random
import sys
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fewstep import grammar  # noqa: E402
from fewstep.common import LatentData, load_unet, optimizer_step  # noqa: E402
from fewstep.loop import Run, setup_threads, RUNS  # noqa: E402
from fewstep.pipelines import TEACHER_GUIDANCE  # noqa: E402
from fewstep.sampling import DDIM, sample  # noqa: E402
from train_teacher import EMA  # noqa: E402

T_STUDENT = 999  # the trailing 1-step timestep


def make_pairs(teacher, data, out_dir, n_pairs, chunk, guidance, log, teacher_steps=50):
    """Write chunk files {ids int16 [C,77], noise float32 [C,4,8,8], x0 float32 [C,4,8,8]} until n_pairs exist.
    x0 is the teacher's DDIM-`teacher_steps` (trailing, eta 0, CFG `guidance`) output from z_T = noise."""
    os.makedirs(out_dir, exist_ok=True)
    scenes = [grammar.scene_from_labels(lab) for lab in torch.load(os.path.join(RUNS, "vae", "latents.pt"))["labels"].tolist()]
    for c in range((n_pairs + chunk - 1) // chunk):
        path = os.path.join(out_dir, f"chunk_{c:04d}.pt")
        if os.path.exists(path):
            continue
        t_chunk = time.time()
        rng = random.Random(1000 + c)
        g = torch.Generator().manual_seed(2000 + c)
        ids = [grammar.encode(grammar.training_caption(scenes[rng.randrange(len(scenes))], rng, 0.5)) for _ in range(chunk)]
        ids = torch.tensor(ids, dtype=torch.int64)
        with torch.no_grad():
            ctx = data.te(ids)[0]
        noise = torch.randn((chunk, 4, 8, 8), generator=g)
        x0 = sample(teacher, DDIM(teacher_steps), ctx, data.uncond, noise.clone(), guidance_scale=guidance)
        torch.save({"ids": ids.to(torch.int16), "noise": noise, "x0": x0, "seconds": time.time() - t_chunk},
                   path + ".tmp")
        os.replace(path + ".tmp", path)
        log(f"pairs: chunk {c + 1}/{(n_pairs + chunk - 1) // chunk} written")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--teacher", default=os.path.join(RUNS, "teacher", "final.pt"))
    ap.add_argument("--pairs", type=int, default=12000)
    ap.add_argument("--chunk", type=int, default=200)
    ap.add_argument("--val", type=int, default=400, help="pairs held out for the validation error")
    ap.add_argument("--steps", type=int, default=6000)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--lr", type=float, default=2e-4)
    ap.add_argument("--guidance", type=float, default=TEACHER_GUIDANCE)
    ap.add_argument("--run", default="direct")
    args = ap.parse_args()
    setup_threads()
    torch.manual_seed(0)
    data = LatentData()
    teacher, _ = load_unet(args.teacher)
    teacher.eval()
    run_dir = os.path.join(RUNS, args.run)
    os.makedirs(run_dir, exist_ok=True)
    logf = open(os.path.join(run_dir, "log.txt"), "a")

    def log(msg):
        print(msg, flush=True)
        logf.write(msg + "\n")
        logf.flush()

    make_pairs(teacher, data, os.path.join(run_dir, "pairs"), args.pairs, args.chunk, args.guidance, log)
    chunks = [torch.load(p) for p in sorted(glob.glob(os.path.join(run_dir, "pairs", "chunk_*.pt")))]
    pairs_s = sum(c["seconds"] for c in chunks)
    log(f"{len(chunks)} chunks of pairs ready: {pairs_s:.0f} s of teacher sampling in all")
    ids = torch.cat([c["ids"] for c in chunks]).long()
    noise = torch.cat([c["noise"] for c in chunks])
    x0 = torch.cat([c["x0"] for c in chunks])
    with torch.no_grad():
        ctx = torch.cat([data.te(ids[i:i + 500])[0] for i in range(0, len(ids), 500)])
    n_train = len(ids) - args.val
    student = load_unet(args.teacher)[0].train()
    ema = EMA(student, 0.999)
    opt = torch.optim.Adam(student.parameters(), lr=args.lr)
    run = Run(args.run, {"unet": student, "ema": ema, "opt": opt}, args.steps, log_every=100)
    run.print(f"student from the teacher's weights; {n_train} training pairs, {args.val} held out")
    g = torch.Generator().manual_seed(5 + run.step)
    t_vec = torch.full((args.batch,), float(T_STUDENT))

    def val_mse(model):
        with torch.no_grad():
            v = slice(n_train, len(ids))
            out = model(noise[v], torch.full((args.val,), float(T_STUDENT)), ctx[v])
            return float(((out - x0[v]) ** 2).mean())

    while not run.done:
        i = torch.randint(0, n_train, (args.batch,), generator=g)
        out = student(noise[i], t_vec, ctx[i])
        loss = ((out - x0[i]) ** 2).mean()
        optimizer_step(opt, loss, student.parameters())
        ema.update(student)
        run.tick(loss=loss.item())
        if run.step % 1000 == 0:
            run.print(f"validation mse (EMA) {val_mse(ema.model):.4f}")
    run.print(f"final validation mse (EMA) {val_mse(ema.model):.4f}; data std {float(x0.std()):.3f}")
    torch.save({"unet": ema.state_dict(), "unet_ch": list(student.ch), "elapsed": run.elapsed, "steps": run.step,
                "pairs_s": pairs_s, "method": "direct", "val_mse": val_mse(ema.model)},
               os.path.join(run.dir, "final.pt"))
    run.print("wrote final.pt (EMA weights)")


if __name__ == "__main__":
    main()
