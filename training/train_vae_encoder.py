"""Stage 2 (continuity): VAE encoder retrained against the frozen shipped decoder, then the latent cache.

Older trees shipped only the VAE decoder (the diffusers ONNX layout's vae_decoder), so the encoder that made the
teacher's training latents was lost with runs/. This stage trains a fresh encoder through the frozen decoder with
the objective of train_vae.py (L1 + MSE + 1e-4 KL). The decoder and its scaling_factor stay exactly the shipped
ones; the 1/std of the new latents is printed next to it as a check that the latent space is the same. It writes
runs/vae/final.pt (encoder + decoder + scaling_factor) and runs/vae/latents.pt, and the encoder is exported next to
the teacher (models/fewstep-teacher/vae_encoder/) so later sessions import it instead of retraining it.
"""
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
from fewstep.loop import Run, setup_threads, RUNS  # noqa: E402
from fewstep.models import VAEEncoder, VAEDecoder, n_params  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=1500)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--images", type=int, default=30000)
    ap.add_argument("--kl", type=float, default=1e-4)
    ap.add_argument("--run", default="vae-encoder")
    ap.add_argument("--init", default="", help="start from this VAE checkpoint's encoder (e.g. the shipped one "
                    "imported by import_onnx.py); with --steps 0 only the latent cache is written")
    args = ap.parse_args()
    setup_threads()
    torch.manual_seed(0)
    dck = torch.load(os.path.join(RUNS, "vae-decoder", "final.pt"))
    scale = dck["scaling_factor"]
    dec = VAEDecoder(scaling_factor=scale)
    dec.load_state_dict(dck["dec"])
    dec.eval()
    for p in dec.parameters():
        p.requires_grad_(False)
    imgs, labels, caps = data.make_dataset(args.images, seed=1, heldout=False)
    x_all = data.to_tensor(imgs)
    enc = VAEEncoder()
    if args.init:
        enc.load_state_dict(torch.load(args.init)["enc"])
    opt = torch.optim.Adam(enc.parameters(), lr=1e-3)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, s / 100) * (0.1 + 0.9 * 0.5 * (1 + np.cos(np.pi * min(1.0, s / max(1, args.steps))))))
    run = Run(args.run, {"enc": enc, "opt": opt, "sched": sched}, args.steps, log_every=100)
    run.print(f"encoder {n_params(enc)} params, decoder frozen (scaling_factor {scale:.5f})")
    g = torch.Generator().manual_seed(1000 + run.step)
    while not run.done:
        idx = torch.randint(0, len(x_all), (args.batch,), generator=g)
        loss, l1, mse, kl = vae_loss(enc, dec, x_all[idx], args.kl)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        run.tick(l1=l1.item(), mse=mse.item(), kl=kl.item())
    enc.eval()
    mean, std = encode_all(enc, x_all)
    with torch.no_grad():
        z = mean + std * torch.randn_like(mean)
        rec = dec(mean[:2000])
        psnr = float(10 * torch.log10(4.0 / F.mse_loss(rec, x_all[:2000])))
    run.print(f"1/std of the new latents {float(1.0 / z.std()):.5f} (shipped scaling_factor {scale:.5f}); "
              f"recon PSNR={psnr:.2f} dB")
    os.makedirs(os.path.join(RUNS, "vae"), exist_ok=True)
    torch.save({"enc": enc.state_dict(), "dec": dck["dec"], "scaling_factor": scale, "psnr": psnr,
                "elapsed": run.elapsed, "steps": run.step, "encoder_only": True},
               os.path.join(RUNS, "vae", "final.pt"))
    write_latents(mean, std, labels, caps, scale)
    torch.save({"steps": run.step}, os.path.join(run.dir, "final.pt"))
    run.print("wrote vae/final.pt and vae/latents.pt")


def write_latents(mean, std, labels, caps, scale):
    """runs/vae/latents.pt: posterior mean/std (float16) of every training image, labels, canonical caption ids"""
    tok = torch.tensor([grammar.encode(c) for c in caps], dtype=torch.int64)
    torch.save({"mean": mean.half(), "std": std.half(), "labels": torch.from_numpy(labels),
                "ids": tok, "scaling_factor": scale}, os.path.join(RUNS, "vae", "latents.pt"))


if __name__ == "__main__":
    main()
