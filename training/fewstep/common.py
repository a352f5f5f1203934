"""Shared loading for the distillation stages."""
import copy
import os

import torch

from . import grammar
from .loop import RUNS
from .models import TextEncoder, UNet, legacy_unet_keys
from .schedule import ABAR


def load_text_encoder(text_run=os.path.join(RUNS, "text")):
    ck = torch.load(os.path.join(text_run, "final.pt"))
    if ck.get("vocab") is not None and ck["vocab"] != grammar.VOCAB:
        raise SystemExit(f"{text_run}/final.pt was trained with another vocabulary than fewstep/grammar.py's "
                         f"({len(ck['vocab'])} vs {len(grammar.VOCAB)} tokens): retrain it with train_text.py --init")
    te = TextEncoder(len(grammar.VOCAB), dim=ck["dim"], layers=ck["layers"])
    te.load_state_dict(ck["te"])
    return te.eval()


def round_weights_fp16(module):
    """Round every parameter to float16 and back (in place): the weights a pipeline exported with
    export.store_weights_fp16 computes with, so evaluation and parity see the shipped model exactly."""
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(p.half().float())
    return module


def load_pipeline_unet(spec):
    """The U-Net of a pipelines.registry() entry as it is shipped (eval mode; fp16-rounded weights when the
    pipeline stores them so)."""
    unet, _ = load_unet(spec["ckpt"])
    unet.eval()
    return round_weights_fp16(unet) if spec.get("weights_fp16") else unet


def load_unet(path, cond_dim=None, ctx_dim=None):
    ck = torch.load(path)
    sd = legacy_unet_keys(ck["unet"])
    ctx_dim = ctx_dim or sd["down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k.weight"].shape[1]
    u = UNet(ctx_dim=ctx_dim, ch=tuple(ck["unet_ch"]))
    if "time_embedding.cond_proj.weight" in sd:
        u.add_cond(sd["time_embedding.cond_proj.weight"].shape[1])
    u.load_state_dict(sd)
    if cond_dim and u.cond_proj is None:
        u.add_cond(cond_dim)
    return u, ck


class CaptionSampler:
    """Text embeddings of training captions, drawn per step: the canonical caption of each image's scene with
    probability p_full, else grammar.caption_variant (partial descriptions, synonyms, word order), so that prompts
    people write are in distribution. Encoded online by the frozen text encoder (~2 ms per batch of 32)."""

    def __init__(self, te, labels, p_full=0.5, seed=0):
        import random
        self.te, self.p_full = te, p_full
        self.scenes = [grammar.scene_from_labels(lab) for lab in labels.tolist()]
        self.rng = random.Random(seed)
        with torch.no_grad():
            self.uncond = te(torch.tensor([grammar.encode("")], dtype=torch.int64))[0]

    def embed(self, idx, g=None):
        """idx: LongTensor [B] of image indices -> encoder_hidden_states float32 [B,77,D]"""
        if g is not None:
            self.rng.seed(int(torch.randint(0, 2 ** 31, (1,), generator=g)))
        ids = [grammar.encode(grammar.training_caption(self.scenes[i], self.rng, self.p_full)) for i in idx.tolist()]
        with torch.no_grad():
            return self.te(torch.tensor(ids, dtype=torch.int64))[0]


class LatentData:
    """Cached VAE latents of the training images + frozen text embeddings of their captions."""

    def __init__(self, vae_run=os.path.join(RUNS, "vae"), text_run=os.path.join(RUNS, "text")):
        d = torch.load(os.path.join(vae_run, "latents.pt"))
        self.mean, self.std, self.scale = d["mean"].float(), d["std"].float(), d["scaling_factor"]
        self.te = load_text_encoder(text_run)
        self.captions = CaptionSampler(self.te, d["labels"], float(os.environ.get("FEWSTEP_P_FULL", "0.5")))
        self.uncond = self.captions.uncond
        self.n = len(self.mean)

    def batch(self, b, g):
        idx = torch.randint(0, self.n, (b,), generator=g)
        z0 = (self.mean[idx] + self.std[idx] * torch.randn(self.mean[idx].shape, generator=g)) * self.scale
        return z0, self.captions.embed(idx, g)


def eps_loss(unet, z0, ctx, uncond, g, p_drop=0.1):
    """The teacher's training objective (train_teacher.py): caption dropout p_drop (empty prompt, for classifier-free
    guidance), t ~ U{0..999}, epsilon prediction with min-SNR-5 weighting (Hang et al. 2023). z0: scaled latents
    [B,4,8,8]; ctx [B,77,D]; uncond [1,77,D]; g: torch.Generator (draw order: dropout, t, noise).
    Returns (weighted loss, plain MSE) tensors."""
    import torch.nn.functional as F
    b = z0.shape[0]
    drop = torch.rand(b, generator=g) < p_drop
    ctx = torch.where(drop.view(-1, 1, 1), uncond.expand_as(ctx), ctx)
    t = torch.randint(0, 1000, (b,), generator=g)
    noise = torch.randn(z0.shape, generator=g)
    a = ABAR[t].view(-1, 1, 1, 1)
    pred = unet(a.sqrt() * z0 + (1 - a).sqrt() * noise, t.float(), ctx)
    snr = ABAR[t] / (1 - ABAR[t])
    w = (torch.clamp(snr, max=5.0) / snr).clamp(min=0.0)
    w = w / w.mean()
    return (w.view(-1, 1, 1, 1) * (pred - noise) ** 2).mean(), F.mse_loss(pred, noise)


def alpha_sigma(t):
    """alpha_t, sigma_t as [B,1,1,1] for integer timesteps; t < 0 means clean data (alpha 1, sigma 0)."""
    t = torch.as_tensor(t)
    a = torch.where(t < 0, torch.ones(t.shape), ABAR[t.clamp(min=0).long()])
    return a.sqrt().view(-1, 1, 1, 1), (1 - a).clamp(min=0).sqrt().view(-1, 1, 1, 1)


def frozen(m):
    m = copy.deepcopy(m).eval()
    for p in m.parameters():
        p.requires_grad_(False)
    return m


def guided_eps(unet, z, t, ctx, uncond, w):
    """classifier-free guided epsilon of an epsilon-prediction teacher; w is the guidance scale [B] or float"""
    b = z.shape[0]
    out = unet(torch.cat([z, z]), torch.cat([t, t]).float(), torch.cat([uncond.expand(b, -1, -1), ctx]))
    eu, ec = out.chunk(2)
    w = torch.as_tensor(w, dtype=torch.float32).view(-1, 1, 1, 1)
    return eu + w * (ec - eu)


def load_vae():
    """(encoder, decoder, scaling_factor); the decoder comes from the fine-tuning stage when it exists."""
    from .models import VAEEncoder, VAEDecoder
    ck = torch.load(os.path.join(RUNS, "vae", "final.pt"))
    enc, dec = VAEEncoder(), VAEDecoder(scaling_factor=ck["scaling_factor"])
    enc.load_state_dict(ck["enc"])
    ft = os.path.join(RUNS, "vae-decoder", "final.pt")
    dec.load_state_dict(torch.load(ft)["dec"] if os.path.exists(ft) else ck["dec"])
    return enc.eval(), dec.eval(), ck["scaling_factor"]


def vae_loss(enc, dec, x, kl_weight):
    """The KL autoencoder objective of train_vae.py: L1 + MSE of a reparameterised reconstruction + kl_weight * KL.
    x: float [B,3,64,64] in [-1,1]. Returns (loss, l1, mse, kl) tensors."""
    import torch.nn.functional as F
    mean, logvar = enc(x)
    rec = dec(mean + torch.exp(0.5 * logvar) * torch.randn_like(mean))
    l1 = (rec - x).abs().mean()
    mse = F.mse_loss(rec, x)
    kl = 0.5 * (mean ** 2 + logvar.exp() - 1 - logvar).mean()
    return l1 + mse + kl_weight * kl, l1, mse, kl


@torch.no_grad()
def encode_all(enc, x_all, bs=500):
    """Posterior mean and std [N,4,8,8] of every image (float32), in batches."""
    means, stds = [], []
    for i in range(0, len(x_all), bs):
        m, lv = enc(x_all[i:i + bs])
        means.append(m)
        stds.append(torch.exp(0.5 * lv))
    return torch.cat(means), torch.cat(stds)


def optimizer_step(opt, loss, params, max_norm=1.0):
    """One update: zero the gradients, backpropagate `loss` (a scalar tensor), clip the gradient norm of `params`
    to `max_norm` (torch.nn.utils.clip_grad_norm_), step `opt`. Every training stage updates this way."""
    opt.zero_grad()
    loss.backward()
    torch.nn.utils.clip_grad_norm_(params, max_norm)
    opt.step()


def pseudo_huber(d, c):
    """Pseudo-Huber distance sqrt(d^2 + c^2) - c, elementwise (Song & Dhariwal 2023, "Improved techniques for
    training consistency models", sec. 3.3); the consistency losses of train_lcm*.py and train_ict.py."""
    return torch.sqrt(d ** 2 + c ** 2) - c
