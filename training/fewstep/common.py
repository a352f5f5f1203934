"""Shared loading for the distillation stages."""
import copy
import os

import torch

from . import grammar
from .loop import RUNS
from .models import TextEncoder, UNet
from .schedule import ABAR


def load_text_encoder(text_run=os.path.join(RUNS, "text")):
    ck = torch.load(os.path.join(text_run, "final.pt"))
    te = TextEncoder(len(grammar.VOCAB), dim=ck["dim"], layers=ck["layers"])
    te.load_state_dict(ck["te"])
    return te.eval()


def load_unet(path, cond_dim=None, ctx_dim=None):
    ck = torch.load(path)
    sd = ck["unet"]
    ctx_dim = ctx_dim or sd["a1.cross.k.weight"].shape[1]
    u = UNet(ctx_dim=ctx_dim, ch=tuple(ck["unet_ch"]))
    if "cond_proj.weight" in sd:
        u.add_cond(sd["cond_proj.weight"].shape[1])
    u.load_state_dict(sd)
    if cond_dim and u.cond_proj is None:
        u.add_cond(cond_dim)
    return u, ck


class LatentData:
    """Cached VAE latents of the training images + frozen text embeddings of their captions."""

    def __init__(self, vae_run=os.path.join(RUNS, "vae"), text_run=os.path.join(RUNS, "text")):
        d = torch.load(os.path.join(vae_run, "latents.pt"))
        self.mean, self.std, self.scale = d["mean"].float(), d["std"].float(), d["scaling_factor"]
        self.te = load_text_encoder(text_run)
        uniq, self.inverse = torch.unique(d["ids"], dim=0, return_inverse=True)
        with torch.no_grad():
            self.table = torch.cat([self.te(uniq[i:i + 256])[0] for i in range(0, len(uniq), 256)])
            self.uncond = self.te(torch.tensor([grammar.encode("")], dtype=torch.int64))[0]
        self.n = len(self.mean)

    def batch(self, b, g):
        idx = torch.randint(0, self.n, (b,), generator=g)
        z0 = (self.mean[idx] + self.std[idx] * torch.randn(self.mean[idx].shape, generator=g)) * self.scale
        return z0, self.table[self.inverse[idx]]


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
