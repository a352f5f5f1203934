"""Stage 3: teacher U-Net (epsilon prediction, SD scaled_linear schedule), conditioned on the frozen text encoder
(stage 2b; its embeddings of the training captions are cached). Caption dropout (p=0.1, empty prompt) makes
classifier-free guidance work. Min-SNR-5 loss weighting. Keeps an EMA copy for export."""
import argparse
import copy
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fewstep import grammar  # noqa: E402
from fewstep.loop import Run, setup_threads, RUNS  # noqa: E402
from fewstep.models import TextEncoder, UNet, n_params  # noqa: E402
from fewstep.common import CaptionSampler, eps_loss, load_text_encoder, load_unet, optimizer_step  # noqa: E402


class EMA:
    def __init__(self, model, decay):
        self.model = copy.deepcopy(model).eval()
        self.decay = decay
        for p in self.model.parameters():
            p.requires_grad_(False)

    @torch.no_grad()
    def update(self, model, decay=None):
        d = self.decay if decay is None else decay
        for pe, p in zip(self.model.parameters(), model.parameters()):
            pe.mul_(d).add_(p.detach(), alpha=1 - d)

    def state_dict(self):
        return self.model.state_dict()

    def load_state_dict(self, sd):
        self.model.load_state_dict(sd)


def load_latents(vae_run):
    d = torch.load(os.path.join(vae_run, "latents.pt"))
    return d["mean"].float(), d["std"].float(), d["ids"], d["labels"], d["scaling_factor"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=1400)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--lr", type=float, default=6e-4)
    ap.add_argument("--vae-run", default=os.path.join(RUNS, "vae"))
    ap.add_argument("--text-run", default=os.path.join(RUNS, "text"))
    ap.add_argument("--run", default="teacher")
    ap.add_argument("--small", action="store_true", help="tiny widths (smoke test)")
    ap.add_argument("--init", default="", help="fine-tune from this U-Net checkpoint (e.g. the shipped teacher, "
                    "rebuilt by import_onnx.py) instead of training from scratch")
    ap.add_argument("--warmup", type=int, default=500)
    ap.add_argument("--p-full", type=float, default=0.5, help="share of canonical captions; the rest are "
                    "grammar.caption_variant (partial, synonyms, word order), encoded online by the frozen text encoder")
    args = ap.parse_args()
    setup_threads()
    torch.manual_seed(0)
    mean, std, ids, labels, scale = load_latents(args.vae_run)
    te = load_text_encoder(args.text_run)
    captions = CaptionSampler(te, labels, args.p_full)
    uncond_ctx = captions.uncond
    if args.init:
        unet, _ = load_unet(args.init)
    else:
        unet = UNet(ctx_dim=te.dim, **({"ch": (16, 32)} if args.small else {}))
    params = list(unet.parameters())
    opt = torch.optim.AdamW(params, lr=args.lr, weight_decay=0.01)
    warm = args.warmup
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / warm) * (0.05 + 0.95 * 0.5 * (1 + np.cos(np.pi * min(1.0, s / args.steps)))))
    ema_u = EMA(unet, 0.999)
    run = Run(args.run, {"unet": unet, "opt": opt, "sched": sched, "ema_u": ema_u}, args.steps, log_every=100)
    run.print(f"unet {n_params(unet)} params, text encoder {n_params(te)} params (frozen), {len(mean)} latents, "
              f"captions: {args.p_full:.0%} canonical, the rest grammar variants" + (f"; init {args.init}" if args.init else ""))
    g = torch.Generator().manual_seed(run.step)
    while not run.done:
        idx = torch.randint(0, len(mean), (args.batch,), generator=g)
        z0 = (mean[idx] + std[idx] * torch.randn(mean[idx].shape, generator=g)) * scale
        ctx = captions.embed(idx, g)
        loss, mse = eps_loss(unet, z0, ctx, uncond_ctx, g)
        optimizer_step(opt, loss, params)
        sched.step()
        decay = min(0.999, (1 + run.step) / (10 + run.step))
        ema_u.update(unet, decay)
        run.tick(loss=loss.item(), mse=mse.item())
    torch.save({"unet": ema_u.model.state_dict(), "unet_ch": list(unet.ch), "init": args.init or None, "scaling_factor": scale, "elapsed": run.elapsed,
                "steps": run.step}, os.path.join(run.dir, "final.pt"))
    run.print("wrote final.pt")


if __name__ == "__main__":
    main()
