"""Stage 2c: fine-tune the VAE decoder alone (encoder frozen, so the cached latents and everything trained on them
stay valid) for sharper reconstructions: L1 + MSE + L1 on image gradients."""
import argparse
import os
import sys

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fewstep import data  # noqa: E402
from fewstep.loop import Run, setup_threads, RUNS  # noqa: E402
from fewstep.models import VAEDecoder  # noqa: E402


def grads(x):
    return x[..., 1:, :] - x[..., :-1, :], x[..., :, 1:] - x[..., :, :-1]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=900)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=5e-4)
    ap.add_argument("--run", default="vae-decoder")
    args = ap.parse_args()
    setup_threads()
    torch.manual_seed(0)
    ck = torch.load(os.path.join(RUNS, "vae", "final.pt"))
    lat = torch.load(os.path.join(RUNS, "vae", "latents.pt"))
    mean, std = lat["mean"].float(), lat["std"].float()
    imgs, _, _ = data.make_dataset(len(mean), seed=1, heldout=False)  # the same images the latents came from
    x_all = data.to_tensor(imgs)
    dec = VAEDecoder(scaling_factor=ck["scaling_factor"])
    dec.load_state_dict(ck["dec"])
    opt = torch.optim.Adam(dec.parameters(), lr=args.lr)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 0.05 + 0.95 * 0.5 * (1 + np.cos(np.pi * min(1.0, s / args.steps))))
    run = Run(args.run, {"dec": dec, "opt": opt, "sched": sched}, args.steps, log_every=100)
    g = torch.Generator().manual_seed(5 + run.step)
    while not run.done:
        idx = torch.randint(0, len(mean), (args.batch,), generator=g)
        z = mean[idx] + std[idx] * torch.randn(mean[idx].shape, generator=g)
        x = x_all[idx]
        rec = dec(z)
        l1 = (rec - x).abs().mean()
        mse = F.mse_loss(rec, x)
        gl = sum((a - b).abs().mean() for a, b in zip(grads(rec), grads(x)))
        loss = l1 + mse + gl
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        run.tick(l1=l1.item(), mse=mse.item(), grad=gl.item())
    with torch.no_grad():
        rec = torch.cat([dec(mean[i:i + 500]) for i in range(0, 2000, 500)])
        psnr = float(10 * torch.log10(4.0 / F.mse_loss(rec.clamp(-1, 1), x_all[:2000])))
    run.print(f"recon PSNR={psnr:.2f} dB (before: {ck['psnr']:.2f} dB)")
    torch.save({"dec": dec.state_dict(), "scaling_factor": ck["scaling_factor"], "psnr": psnr, "elapsed": run.elapsed,
                "steps": run.step}, os.path.join(run.dir, "final.pt"))


if __name__ == "__main__":
    main()
