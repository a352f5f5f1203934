"""Stage 5d: the "your model" of the LoRA issue: the teacher fine-tuned on another rendering of the same scenes
(fewstep/data.py style "ink": thick dark outlines and a drop shadow), three ways:

  data   runs/style/latents.pt: the 30000 training scenes of runs/vae (same seed, same captions) rendered in the ink
         style and encoded by the shipped VAE encoder (the VAE is shared, as in SD fine-tunes).
  full   runs/style-full/final.pt: every U-Net weight fine-tuned from the teacher (the comparison model; evaluated in
         training, not shipped).
  head   runs/style-head/final.pt: the style score of the evaluation, a small CNN giving P(ink) for an image,
         trained on VAE reconstructions (encode -> decode, so it sees what generated images look like) of plain and
         ink renderings of other scenes (seed 9), checked on 1000 more (seed 10).
  lora   runs/style-lora/final.pt: a LoRA (fewstep/lora.py, rank/alpha below) on the frozen teacher, same data and
         objective; shipped as models/loras/fewstep-style-ink.safetensors (kohya keys).

Objective: the teacher's own (common.eps_loss: epsilon, min-SNR-5, 10% caption dropout). Resumable like every stage.
usage: train_style.py data | head | full [--steps N] | lora [--steps N --rank R --alpha A]
"""
import argparse
import os
import sys

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fewstep import data, lora  # noqa: E402
from fewstep.common import LatentData, encode_all, eps_loss, load_unet, load_vae, optimizer_step  # noqa: E402
from fewstep.loop import Run, setup_threads, RUNS  # noqa: E402

STYLE = "ink"
STYLE_RUN = os.path.join(RUNS, "style")


def make_data(n):
    """Render runs/vae's scenes (seed 1, as train_vae_encoder.py) in the ink style and encode them."""
    import torch.nn.functional as F
    os.makedirs(STYLE_RUN, exist_ok=True)
    plain = torch.load(os.path.join(RUNS, "vae", "latents.pt"))
    imgs, labels, _ = data.make_dataset(n, seed=1, heldout=False, style=STYLE)
    if not torch.equal(torch.from_numpy(labels), plain["labels"][:n]):
        raise SystemExit("the ink renderings do not reproduce runs/vae's scenes (data.make_dataset changed?)")
    enc, dec, scale = load_vae()
    x = data.to_tensor(imgs)
    mean, std = encode_all(enc, x)
    with torch.no_grad():
        psnr = float(10 * torch.log10(4.0 / F.mse_loss(dec(mean[:2000]), x[:2000])))
    torch.save({"mean": mean.half(), "std": std.half(), "labels": torch.from_numpy(labels), "ids": plain["ids"][:n],
                "scaling_factor": scale, "style": STYLE, "psnr": psnr}, os.path.join(STYLE_RUN, "latents.pt"))
    print(f"wrote {STYLE_RUN}/latents.pt: {n} {STYLE} scenes, VAE reconstruction PSNR {psnr:.2f} dB")


class StyleHead(torch.nn.Module):
    """image float32 [B,3,64,64] in [-1,1] -> logit of P(style == ink) [B]."""

    def __init__(self):
        super().__init__()
        nn = torch.nn
        self.net = nn.Sequential(nn.Conv2d(3, 16, 3, 2, 1), nn.SiLU(), nn.Conv2d(16, 32, 3, 2, 1), nn.SiLU(),
                                 nn.Conv2d(32, 32, 3, 2, 1), nn.SiLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                                 nn.Linear(32, 1))

    def forward(self, x):
        return self.net(x)[:, 0]


def load_style_head():
    h = StyleHead()
    h.load_state_dict(torch.load(os.path.join(RUNS, "style-head", "final.pt"))["head"])
    return h.eval()


def _reconstructions(n, seed):
    enc, dec, _ = load_vae()
    xs, ys = [], []
    for k, style in enumerate(data.STYLES):
        imgs, _, _ = data.make_dataset(n, seed=seed, heldout=None, style=style)
        x = data.to_tensor(imgs)
        with torch.no_grad():
            xs.append(torch.cat([dec(enc(x[i:i + 500])[0]).clamp(-1, 1) for i in range(0, n, 500)]))
        ys.append(torch.full((n,), float(k)))
    return torch.cat(xs), torch.cat(ys)


def train_head(steps=3000, n=3000):
    torch.manual_seed(0)
    x, y = _reconstructions(n, 9)
    xv, yv = _reconstructions(max(10, n // 6), 10)
    head = StyleHead()
    opt = torch.optim.Adam(head.parameters(), lr=1e-3)
    g = torch.Generator().manual_seed(0)
    for _ in range(steps):
        idx = torch.randint(0, len(x), (64,), generator=g)
        loss = torch.nn.functional.binary_cross_entropy_with_logits(head(x[idx]), y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
    head.eval()
    with torch.no_grad():
        acc = float(((head(xv) > 0).float() == yv).float().mean())
    os.makedirs(os.path.join(RUNS, "style-head"), exist_ok=True)
    torch.save({"head": head.state_dict(), "val_accuracy": acc}, os.path.join(RUNS, "style-head", "final.pt"))
    print(f"style head: validation accuracy {acc:.3f} on {len(xv)} reconstructions (plain vs {STYLE})")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["data", "head", "full", "lora"])
    ap.add_argument("--teacher", default=os.path.join(RUNS, "teacher", "final.pt"))
    ap.add_argument("--images", type=int, default=30000)
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=0.0, help="default 1e-4 (full), 5e-4 (lora)")
    ap.add_argument("--rank", type=int, default=8)
    ap.add_argument("--alpha", type=float, default=8.0)
    ap.add_argument("--head-steps", type=int, default=3000)
    args = ap.parse_args()
    setup_threads()
    if args.mode == "data":
        make_data(args.images)
        return
    if args.mode == "head":
        train_head(args.head_steps, min(3000, args.images))
        return
    torch.manual_seed(0)
    d = LatentData(vae_run=STYLE_RUN)
    unet, _ = load_unet(args.teacher)
    if args.mode == "lora":
        names = lora.inject(unet, args.rank, args.alpha)
        params = lora.lora_parameters(unet)
        lr = args.lr or 5e-4
    else:
        names, params, lr = [], list(unet.parameters()), args.lr or 1e-4
    unet.train()
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=0.0)
    run = Run(f"style-{args.mode}", {"unet": unet, "opt": opt}, args.steps, log_every=50)
    run.print(f"{args.mode}: {sum(p.numel() for p in params)} trained parameters"
              + (f" ({len(names)} adapted modules, rank {args.rank}, alpha {args.alpha})" if names else "")
              + f", lr {lr}, {d.n} {STYLE} latents")
    g = torch.Generator().manual_seed(23 + run.step)
    while not run.done:
        z0, ctx = d.batch(args.batch, g)
        loss, mse = eps_loss(unet, z0, ctx, d.uncond, g)
        optimizer_step(opt, loss, params)
        run.tick(loss=loss.item(), mse=mse.item())
    out = {"elapsed": run.elapsed, "steps": run.step, "teacher": args.teacher, "style": STYLE}
    if args.mode == "lora":
        out.update(adapters=lora.adapter_state(unet), r=args.rank, alpha=args.alpha, targets=list(lora.LCM_TARGETS))
    else:
        out.update(unet=unet.state_dict(), unet_ch=list(unet.ch))
    torch.save(out, os.path.join(run.dir, "final.pt"))
    run.print("wrote final.pt")


if __name__ == "__main__":
    main()
