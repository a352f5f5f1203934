"""Small networks with Stable Diffusion's component interfaces.

TextEncoder: input_ids [B,77] -> last_hidden_state [B,77,D], pooler_output [B,D]   (CLIP-style, causal)
UNet:        sample [B,4,8,8], timestep [B] (0..999), encoder_hidden_states [B,77,D] (+ timestep_cond [B,256])
             -> out_sample [B,4,8,8]
VAE:         64x64x3 <-> 4x8x8 (KL); the decoder is exported alone: latent_sample -> sample in [-1,1]
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

# ------------------------------------------------------------------ default sizes
TEXT_DIM = 64
TEXT_LAYERS = 2
TEXT_HEADS = 2
UNET_CH = (48, 96)
VAE_CH = (32, 48, 64)
LATENT_CH = 4
COND_DIM = 256  # timestep_cond width (LCM guidance embedding)


class Attention(nn.Module):
    """Multi-head attention written with plain matmuls (exports cleanly to opset 17)."""

    def __init__(self, dim, ctx_dim, heads):
        super().__init__()
        self.heads = heads
        self.scale = 1.0 / math.sqrt(dim // heads)
        self.q = nn.Linear(dim, dim, bias=False)
        self.k = nn.Linear(ctx_dim, dim, bias=False)
        self.v = nn.Linear(ctx_dim, dim, bias=False)
        self.o = nn.Linear(dim, dim)

    def forward(self, x, ctx, mask=None):
        b, n, d = x.shape
        h = self.heads
        q = self.q(x).reshape(b, n, h, d // h).transpose(1, 2)
        k = self.k(ctx).reshape(b, ctx.shape[1], h, d // h).transpose(1, 2)
        v = self.v(ctx).reshape(b, ctx.shape[1], h, d // h).transpose(1, 2)
        w = torch.matmul(q, k.transpose(-1, -2)) * self.scale
        if mask is not None:
            w = w + mask
        w = torch.softmax(w, dim=-1)
        out = torch.matmul(w, v).transpose(1, 2).reshape(b, n, d)
        return self.o(out)


# ------------------------------------------------------------------ text encoder
class TextLayer(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.ln1 = nn.LayerNorm(dim)
        self.attn = Attention(dim, dim, heads)
        self.ln2 = nn.LayerNorm(dim)
        self.fc1 = nn.Linear(dim, 4 * dim)
        self.fc2 = nn.Linear(4 * dim, dim)

    def forward(self, x, mask):
        h = self.ln1(x)
        x = x + self.attn(h, h, mask)
        return x + self.fc2(F.gelu(self.fc1(self.ln2(x))))


class TextEncoder(nn.Module):
    def __init__(self, vocab_size, dim=TEXT_DIM, layers=TEXT_LAYERS, heads=TEXT_HEADS, max_len=77):
        super().__init__()
        self.vocab_size, self.dim, self.num_layers, self.heads, self.max_len = vocab_size, dim, layers, heads, max_len
        self.tok = nn.Embedding(vocab_size, dim)
        self.pos = nn.Parameter(torch.randn(max_len, dim) * 0.01)
        self.layers = nn.ModuleList([TextLayer(dim, heads) for _ in range(layers)])
        self.ln = nn.LayerNorm(dim)
        self.register_buffer("mask", torch.full((max_len, max_len), -1e9).triu(1), persistent=False)

    def forward(self, input_ids):
        x = self.tok(input_ids) + self.pos
        for layer in self.layers:
            x = layer(x, self.mask)
        x = self.ln(x)
        eos = input_ids.argmax(dim=-1)  # <|endoftext|> has the highest id (first occurrence wins)
        pooled = x.gather(1, eos[:, None, None].expand(-1, 1, x.shape[2])).squeeze(1)
        return x, pooled

    def config(self):
        return {"_class_name": "CLIPTextModel", "architectures": ["CLIPTextModel"], "model_type": "clip_text_model",
                "hidden_size": self.dim, "intermediate_size": 4 * self.dim, "num_hidden_layers": self.num_layers,
                "num_attention_heads": self.heads, "max_position_embeddings": self.max_len,
                "vocab_size": self.vocab_size, "hidden_act": "gelu", "projection_dim": self.dim,
                "torch_dtype": "float32"}


# ------------------------------------------------------------------ U-Net
def timestep_embedding(t, dim):
    """Sinusoidal embedding of the (float) diffusers timestep, flip_sin_to_cos like SD."""
    half = dim // 2
    freqs = torch.exp(-math.log(10000.0) * torch.arange(half, dtype=torch.float32) / half)
    args = t.float()[:, None] * freqs[None]
    return torch.cat([torch.cos(args), torch.sin(args)], dim=-1)


def guidance_embedding(w, dim=COND_DIM):
    """diffusers' get_guidance_scale_embedding: w (= guidance_scale - 1) scaled by 1000, [sin | cos], float32."""
    w = w.float() * 1000.0
    half = dim // 2
    freqs = torch.exp(torch.arange(half, dtype=torch.float32) * -(math.log(10000.0) / (half - 1)))
    args = w[:, None] * freqs[None]
    return torch.cat([torch.sin(args), torch.cos(args)], dim=1)


class ResBlock(nn.Module):
    def __init__(self, cin, cout, temb):
        super().__init__()
        self.n1 = nn.GroupNorm(8, cin)
        self.c1 = nn.Conv2d(cin, cout, 3, padding=1)
        self.t = nn.Linear(temb, cout)
        self.n2 = nn.GroupNorm(8, cout)
        self.c2 = nn.Conv2d(cout, cout, 3, padding=1)
        self.skip = nn.Conv2d(cin, cout, 1) if cin != cout else nn.Identity()

    def forward(self, x, t):
        h = self.c1(F.silu(self.n1(x)))
        h = h + self.t(t)[:, :, None, None]
        h = self.c2(F.silu(self.n2(h)))
        return self.skip(x) + h


class CrossBlock(nn.Module):
    """Self-attention + cross-attention to the text + feed-forward, on the flattened feature map."""

    def __init__(self, ch, ctx_dim, heads=4, self_attn=True):
        super().__init__()
        self.norm = nn.GroupNorm(8, ch)
        self.ln1 = nn.LayerNorm(ch) if self_attn else None
        self.self_attn = Attention(ch, ch, heads) if self_attn else None
        self.ln2 = nn.LayerNorm(ch)
        self.cross = Attention(ch, ctx_dim, heads)
        self.ln3 = nn.LayerNorm(ch)
        self.ff1 = nn.Linear(ch, 2 * ch)
        self.ff2 = nn.Linear(2 * ch, ch)

    def forward(self, x, ctx):
        b, c, h, w = x.shape
        y = self.norm(x).reshape(b, c, h * w).transpose(1, 2)
        if self.self_attn is not None:
            z = self.ln1(y)
            y = y + self.self_attn(z, z)
        y = y + self.cross(self.ln2(y), ctx)
        y = y + self.ff2(F.gelu(self.ff1(self.ln3(y))))
        return x + y.transpose(1, 2).reshape(b, c, h, w)


class UNet(nn.Module):
    def __init__(self, ctx_dim=TEXT_DIM, ch=UNET_CH, cond_dim=None):
        super().__init__()
        c0, c1 = ch
        self.ctx_dim, self.ch, self.cond_dim = ctx_dim, ch, cond_dim
        tdim = 4 * c0
        self.temb = nn.Sequential(nn.Linear(c0, tdim), nn.SiLU(), nn.Linear(tdim, tdim))
        self.cond_proj = nn.Linear(cond_dim, c0, bias=False) if cond_dim else None
        self.conv_in = nn.Conv2d(LATENT_CH, c0, 3, padding=1)
        self.d1 = ResBlock(c0, c0, tdim)
        self.a1 = CrossBlock(c0, ctx_dim, self_attn=False)
        self.down = nn.Conv2d(c0, c0, 3, stride=2, padding=1)
        self.d2 = ResBlock(c0, c1, tdim)
        self.a2 = CrossBlock(c1, ctx_dim)
        self.m1 = ResBlock(c1, c1, tdim)
        self.ma = CrossBlock(c1, ctx_dim)
        self.u2 = ResBlock(2 * c1, c1, tdim)
        self.ua2 = CrossBlock(c1, ctx_dim)
        self.up = nn.Conv2d(c1, c1, 3, padding=1)
        self.u1 = ResBlock(c1 + c0, c0, tdim)
        self.ua1 = CrossBlock(c0, ctx_dim, self_attn=False)
        self.norm_out = nn.GroupNorm(8, c0)
        self.conv_out = nn.Conv2d(c0, LATENT_CH, 3, padding=1)

    def add_cond(self, cond_dim=COND_DIM):
        """Turn a teacher copy into an LCM student: zero-initialised projection of timestep_cond."""
        self.cond_dim = cond_dim
        self.cond_proj = nn.Linear(cond_dim, self.ch[0], bias=False)
        nn.init.zeros_(self.cond_proj.weight)
        return self

    def forward(self, sample, timestep, encoder_hidden_states, timestep_cond=None):
        e = timestep_embedding(timestep, self.ch[0])
        if self.cond_proj is not None and timestep_cond is not None:
            e = e + self.cond_proj(timestep_cond)
        t = self.temb(e)
        ctx = encoder_hidden_states
        h0 = self.conv_in(sample)
        h1 = self.a1(self.d1(h0, t), ctx)
        h = self.down(h1)
        h2 = self.a2(self.d2(h, t), ctx)
        h = self.ma(self.m1(h2, t), ctx)
        h = self.ua2(self.u2(torch.cat([h, h2], 1), t), ctx)
        h = self.up(F.interpolate(h, scale_factor=2.0, mode="nearest"))
        h = self.ua1(self.u1(torch.cat([h, h1], 1), t), ctx)
        return self.conv_out(F.silu(self.norm_out(h)))

    def config(self):
        return {"_class_name": "UNet2DConditionModel", "sample_size": 8, "in_channels": LATENT_CH,
                "out_channels": LATENT_CH, "cross_attention_dim": self.ctx_dim,
                "time_cond_proj_dim": self.cond_dim, "block_out_channels": list(self.ch),
                "layers_per_block": 1, "attention_head_dim": 4, "down_block_types":
                ["CrossAttnDownBlock2D", "CrossAttnDownBlock2D"], "up_block_types":
                ["CrossAttnUpBlock2D", "CrossAttnUpBlock2D"], "flip_sin_to_cos": True, "freq_shift": 0}


# ------------------------------------------------------------------ VAE
class VResBlock(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.n1 = nn.GroupNorm(8, cin)
        self.c1 = nn.Conv2d(cin, cout, 3, padding=1)
        self.n2 = nn.GroupNorm(8, cout)
        self.c2 = nn.Conv2d(cout, cout, 3, padding=1)
        self.skip = nn.Conv2d(cin, cout, 1) if cin != cout else nn.Identity()

    def forward(self, x):
        return self.skip(x) + self.c2(F.silu(self.n2(self.c1(F.silu(self.n1(x))))))


class VAEEncoder(nn.Module):
    """64x64x3 -> space-to-depth (2) -> 32x32 -> 16x16 -> 8x8 -> mean, logvar [4,8,8]."""

    def __init__(self, ch=VAE_CH):
        super().__init__()
        layers = [nn.PixelUnshuffle(2), nn.Conv2d(12, ch[0], 3, padding=1), VResBlock(ch[0], ch[0])]
        for i in range(2):  # 32 -> 16 -> 8
            layers += [nn.Conv2d(ch[i], ch[i + 1], 3, stride=2, padding=1), VResBlock(ch[i + 1], ch[i + 1])]
        layers += [VResBlock(ch[2], ch[2]), nn.GroupNorm(8, ch[2]), nn.SiLU(), nn.Conv2d(ch[2], 2 * LATENT_CH, 3, padding=1)]
        self.net = nn.Sequential(*layers)

    def forward(self, x):
        mean, logvar = self.net(x).chunk(2, dim=1)
        return mean, logvar.clamp(-30.0, 20.0)


class VAEDecoder(nn.Module):
    """[4,8,8] -> 16x16 -> 32x32 -> depth-to-space (2) -> 64x64x3."""

    def __init__(self, ch=VAE_CH, scaling_factor=1.0):
        super().__init__()
        self.ch = ch
        self.scaling_factor = scaling_factor
        layers = [nn.Conv2d(LATENT_CH, ch[2], 3, padding=1), VResBlock(ch[2], ch[2]), VResBlock(ch[2], ch[2])]
        for i in (2, 1):  # 8 -> 16 -> 32
            layers += [nn.Upsample(scale_factor=2.0, mode="nearest"), nn.Conv2d(ch[i], ch[i - 1], 3, padding=1),
                       VResBlock(ch[i - 1], ch[i - 1])]
        layers += [nn.GroupNorm(8, ch[0]), nn.SiLU(), nn.Conv2d(ch[0], 12, 3, padding=1), nn.PixelShuffle(2)]
        self.net = nn.Sequential(*layers)

    def forward(self, z):
        # the exported decoder takes unscaled latents (the pipeline divides by scaling_factor) and clamps to [-1,1]
        return self.net(z)

    def config(self):
        return {"_class_name": "AutoencoderKL", "in_channels": 3, "out_channels": 3, "latent_channels": LATENT_CH,
                "sample_size": 64, "scaling_factor": float(self.scaling_factor), "block_out_channels": list(self.ch),
                "down_block_types": ["DownEncoderBlock2D"] * 3, "up_block_types": ["UpDecoderBlock2D"] * 3,
                "layers_per_block": 1, "norm_num_groups": 8, "act_fn": "silu"}


class DecoderExport(nn.Module):
    def __init__(self, dec):
        super().__init__()
        self.dec = dec

    def forward(self, latent_sample):
        return self.dec(latent_sample).clamp(-1.0, 1.0)


def n_params(m):
    return sum(p.numel() for p in m.parameters())
