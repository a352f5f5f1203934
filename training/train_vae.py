"""Stage 2: KL autoencoder 64x64x3 <-> 4x8x8; scaling_factor = 1 / std of the latents; caches latents."""
import argparse
import os
import sys

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fewstep import data, grammar  # noqa: E402
from fewstep.common import encode_all, vae_loss  # noqa: E402
from fewstep.loop import Run, setup_threads  # noqa: E402
from fewstep.models import VAEEncoder, VAEDecoder, n_params  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=4000)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--images", type=int, default=30000)
    ap.add_argument("--kl", type=float, default=1e-4)
    ap.add_argument("--run", default="vae")
    args = ap.parse_args()
    setup_threads()
    torch.manual_seed(0)
    imgs, labels, caps = data.make_dataset(args.images, seed=1, heldout=False)
    x_all = data.to_tensor(imgs)
    enc, dec = VAEEncoder(), VAEDecoder()
    opt = torch.optim.Adam(list(enc.parameters()) + list(dec.parameters()), lr=1e-3)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, s / 200) * (0.1 + 0.9 * 0.5 * (1 + np.cos(np.pi * min(1.0, s / args.steps)))))
    run = Run(args.run, {"enc": enc, "dec": dec, "opt": opt, "sched": sched}, args.steps, log_every=100)
    run.print(f"encoder {n_params(enc)} params, decoder {n_params(dec)} params")
    g = torch.Generator().manual_seed(1000 + run.step)
    while not run.done:
        idx = torch.randint(0, len(x_all), (args.batch,), generator=g)
        loss, l1, mse, kl = vae_loss(enc, dec, x_all[idx], args.kl)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        run.tick(l1=l1.item(), mse=mse.item(), kl=kl.item())
    # latents of the training images: mean and std of the posterior, and the scaling factor
    enc.eval()
    dec.eval()
    mean, std = encode_all(enc, x_all)
    with torch.no_grad():
        z = mean + std * torch.randn_like(mean)
        scale = float(1.0 / z.std())
        rec = dec(mean[:2000])
        psnr = float(10 * torch.log10(4.0 / F.mse_loss(rec, x_all[:2000])))
    dec.scaling_factor = scale
    run.print(f"scaling_factor={scale:.5f} latent std={float(z.std()):.4f} posterior std mean={float(std.mean()):.4f} "
              f"recon PSNR={psnr:.2f} dB")
    torch.save({"enc": enc.state_dict(), "dec": dec.state_dict(), "scaling_factor": scale, "psnr": psnr,
                "elapsed": run.elapsed, "steps": run.step}, os.path.join(run.dir, "final.pt"))
    tok = torch.tensor([grammar.encode(c) for c in caps], dtype=torch.int64)
    torch.save({"mean": mean.half(), "std": std.half(), "labels": torch.from_numpy(labels), "ids": tok,
                "scaling_factor": scale}, os.path.join(run.dir, "latents.pt"))
    run.print("wrote latents.pt")


if __name__ == "__main__":
    main()
