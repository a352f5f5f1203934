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


class ResnetBlock2D(nn.Module):
    """diffusers' ResnetBlock2D (names norm1, conv1, time_emb_proj, norm2, conv2, conv_shortcut)."""

    def __init__(self, cin, cout, temb):
        super().__init__()
        self.norm1 = nn.GroupNorm(8, cin)
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1)
        self.time_emb_proj = nn.Linear(temb, cout)
        self.norm2 = nn.GroupNorm(8, cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1)
        self.conv_shortcut = nn.Conv2d(cin, cout, 1) if cin != cout else None

    def forward(self, x, t):
        h = self.conv1(F.silu(self.norm1(x)))
        h = h + self.time_emb_proj(t)[:, :, None, None]
        h = self.conv2(F.silu(self.norm2(h)))
        return (x if self.conv_shortcut is None else self.conv_shortcut(x)) + h


class UNetAttention(Attention):
    """The same attention with diffusers' Attention names: to_q, to_k, to_v (bias-free), to_out.0 (+ dropout)."""

    def __init__(self, dim, ctx_dim, heads):
        nn.Module.__init__(self)
        self.heads = heads
        self.scale = 1.0 / math.sqrt(dim // heads)
        self.to_q = nn.Linear(dim, dim, bias=False)
        self.to_k = nn.Linear(ctx_dim, dim, bias=False)
        self.to_v = nn.Linear(ctx_dim, dim, bias=False)
        self.to_out = nn.ModuleList([nn.Linear(dim, dim), nn.Dropout(0.0)])

    @property
    def q(self):
        return self.to_q

    @property
    def k(self):
        return self.to_k

    @property
    def v(self):
        return self.to_v

    def o(self, x):
        return self.to_out[1](self.to_out[0](x))


class GELUProj(nn.Module):
    """diffusers' GELU activation module: a Linear named `proj`, then gelu."""

    def __init__(self, cin, cout):
        super().__init__()
        self.proj = nn.Linear(cin, cout)

    def forward(self, x):
        return F.gelu(self.proj(x))


class FeedForward(nn.Module):
    """diffusers' FeedForward(activation_fn="gelu", mult=2): net.0.proj, net.1 (dropout), net.2."""

    def __init__(self, ch, mult=2):
        super().__init__()
        self.net = nn.ModuleList([GELUProj(ch, mult * ch), nn.Dropout(0.0), nn.Linear(mult * ch, ch)])

    def forward(self, x):
        for m in self.net:
            x = m(x)
        return x


class BasicTransformerBlock(nn.Module):
    """diffusers' BasicTransformerBlock: norm1 + attn1 (self-attention; absent in the full-resolution blocks of this
    small U-Net), norm2 + attn2 (cross-attention to the text), norm3 + ff."""

    def __init__(self, ch, ctx_dim, heads=4, self_attn=True):
        super().__init__()
        self.norm1 = nn.LayerNorm(ch) if self_attn else None
        self.attn1 = UNetAttention(ch, ch, heads) if self_attn else None
        self.norm2 = nn.LayerNorm(ch)
        self.attn2 = UNetAttention(ch, ctx_dim, heads)
        self.norm3 = nn.LayerNorm(ch)
        self.ff = FeedForward(ch)

    def forward(self, y, ctx):
        if self.attn1 is not None:
            z = self.norm1(y)
            y = y + self.attn1(z, z)
        y = y + self.attn2(self.norm2(y), ctx)
        return y + self.ff(self.norm3(y))


class Transformer2DModel(nn.Module):
    """diffusers' Transformer2DModel on the flattened feature map: norm (GroupNorm), transformer_blocks.0. This
    small U-Net has no proj_in / proj_out (the channel width is the attention width)."""

    def __init__(self, ch, ctx_dim, heads=4, self_attn=True):
        super().__init__()
        self.norm = nn.GroupNorm(8, ch)
        self.transformer_blocks = nn.ModuleList([BasicTransformerBlock(ch, ctx_dim, heads, self_attn)])

    def forward(self, x, ctx):
        b, c, h, w = x.shape
        y = self.norm(x).reshape(b, c, h * w).transpose(1, 2)
        for blk in self.transformer_blocks:
            y = blk(y, ctx)
        return x + y.transpose(1, 2).reshape(b, c, h, w)


class Downsample2D(nn.Module):
    """diffusers' Downsample2D: a stride-2 convolution named `conv`."""

    def __init__(self, ch):
        super().__init__()
        self.conv = nn.Conv2d(ch, ch, 3, stride=2, padding=1)

    def forward(self, x):
        return self.conv(x)


class Upsample2D(nn.Module):
    """diffusers' Upsample2D: nearest 2x, then a convolution named `conv`."""

    def __init__(self, ch):
        super().__init__()
        self.conv = nn.Conv2d(ch, ch, 3, padding=1)

    def forward(self, x):
        return self.conv(F.interpolate(x, scale_factor=2.0, mode="nearest"))


class CrossAttnDownBlock2D(nn.Module):
    """resnets.0 -> attentions.0 (-> downsamplers.0); returns (output, skip for the up path)."""

    def __init__(self, cin, cout, tdim, ctx_dim, self_attn=True, downsample=True):
        super().__init__()
        self.resnets = nn.ModuleList([ResnetBlock2D(cin, cout, tdim)])
        self.attentions = nn.ModuleList([Transformer2DModel(cout, ctx_dim, self_attn=self_attn)])
        self.downsamplers = nn.ModuleList([Downsample2D(cout)]) if downsample else None

    def forward(self, x, t, ctx):
        h = self.attentions[0](self.resnets[0](x, t), ctx)
        return (self.downsamplers[0](h) if self.downsamplers is not None else h), h


class UNetMidBlock2DCrossAttn(nn.Module):
    """resnets.0 -> attentions.0 (diffusers' mid block has a second resnet; this small one does not)."""

    def __init__(self, ch, tdim, ctx_dim):
        super().__init__()
        self.resnets = nn.ModuleList([ResnetBlock2D(ch, ch, tdim)])
        self.attentions = nn.ModuleList([Transformer2DModel(ch, ctx_dim)])

    def forward(self, x, t, ctx):
        return self.attentions[0](self.resnets[0](x, t), ctx)


class CrossAttnUpBlock2D(nn.Module):
    """concat(skip) -> resnets.0 -> attentions.0 (-> upsamplers.0)."""

    def __init__(self, cin, cout, tdim, ctx_dim, self_attn=True, upsample=True):
        super().__init__()
        self.resnets = nn.ModuleList([ResnetBlock2D(cin, cout, tdim)])
        self.attentions = nn.ModuleList([Transformer2DModel(cout, ctx_dim, self_attn=self_attn)])
        self.upsamplers = nn.ModuleList([Upsample2D(cout)]) if upsample else None

    def forward(self, x, skip, t, ctx):
        h = self.attentions[0](self.resnets[0](torch.cat([x, skip], 1), t), ctx)
        return self.upsamplers[0](h) if self.upsamplers is not None else h


class TimestepEmbedding(nn.Module):
    """diffusers' TimestepEmbedding: linear_1, SiLU, linear_2; cond_proj (LCM's timestep_cond, bias-free) is added
    to the sinusoidal input before linear_1."""

    def __init__(self, cin, tdim):
        super().__init__()
        self.cin = cin
        self.linear_1 = nn.Linear(cin, tdim)
        self.linear_2 = nn.Linear(tdim, tdim)
        self.cond_proj = None

    def forward(self, e, cond=None):
        if self.cond_proj is not None and cond is not None:
            e = e + self.cond_proj(cond)
        return self.linear_2(F.silu(self.linear_1(e)))


class UNet(nn.Module):
    """A two-level U-Net whose modules carry diffusers' UNet2DConditionModel names (down_blocks.N.resnets.M.conv1,
    down_blocks.N.attentions.M.transformer_blocks.0.attn1.to_q, mid_block, up_blocks, time_embedding, conv_in,
    conv_norm_out, conv_out), so exported graphs and LoRA files have the key and node-name shapes of real SD
    exports. Checkpoints of the earlier short names load through legacy_unet_keys."""

    def __init__(self, ctx_dim=TEXT_DIM, ch=UNET_CH, cond_dim=None):
        super().__init__()
        c0, c1 = ch
        self.ctx_dim, self.ch, self.cond_dim = ctx_dim, ch, None
        tdim = 4 * c0
        self.time_embedding = TimestepEmbedding(c0, tdim)
        self.conv_in = nn.Conv2d(LATENT_CH, c0, 3, padding=1)
        self.down_blocks = nn.ModuleList([
            CrossAttnDownBlock2D(c0, c0, tdim, ctx_dim, self_attn=False),
            CrossAttnDownBlock2D(c0, c1, tdim, ctx_dim, downsample=False)])
        self.mid_block = UNetMidBlock2DCrossAttn(c1, tdim, ctx_dim)
        self.up_blocks = nn.ModuleList([
            CrossAttnUpBlock2D(2 * c1, c1, tdim, ctx_dim),
            CrossAttnUpBlock2D(c1 + c0, c0, tdim, ctx_dim, self_attn=False, upsample=False)])
        self.conv_norm_out = nn.GroupNorm(8, c0)
        self.conv_out = nn.Conv2d(c0, LATENT_CH, 3, padding=1)
        if cond_dim:  # random init (fixtures); add_cond zero-initialises it for a student
            self.cond_dim = cond_dim
            self.time_embedding.cond_proj = nn.Linear(cond_dim, c0, bias=False)

    @property
    def cond_proj(self):
        return self.time_embedding.cond_proj

    def add_cond(self, cond_dim=COND_DIM):
        """Turn a teacher copy into an LCM student: zero-initialised projection of timestep_cond."""
        self.cond_dim = cond_dim
        self.time_embedding.cond_proj = nn.Linear(cond_dim, self.ch[0], bias=False)
        nn.init.zeros_(self.time_embedding.cond_proj.weight)
        return self

    def forward(self, sample, timestep, encoder_hidden_states, timestep_cond=None):
        t = self.time_embedding(timestep_embedding(timestep, self.ch[0]), timestep_cond)
        ctx = encoder_hidden_states
        h, h1 = self.down_blocks[0](self.conv_in(sample), t, ctx)
        _, h2 = self.down_blocks[1](h, t, ctx)
        h = self.mid_block(h2, t, ctx)
        h = self.up_blocks[0](h, h2, t, ctx)
        h = self.up_blocks[1](h, h1, t, ctx)
        return self.conv_out(F.silu(self.conv_norm_out(h)))

    def config(self):
        return {"_class_name": "UNet2DConditionModel", "sample_size": 8, "in_channels": LATENT_CH,
                "out_channels": LATENT_CH, "cross_attention_dim": self.ctx_dim,
                "time_cond_proj_dim": self.cond_dim, "block_out_channels": list(self.ch),
                "layers_per_block": 1, "attention_head_dim": 4, "down_block_types":
                ["CrossAttnDownBlock2D", "CrossAttnDownBlock2D"], "up_block_types":
                ["CrossAttnUpBlock2D", "CrossAttnUpBlock2D"], "flip_sin_to_cos": True, "freq_shift": 0}


# earlier short module names -> diffusers names (checkpoints written before the rename)
_LEGACY_BLOCKS = {"d1": "down_blocks.0.resnets.0", "a1": "down_blocks.0.attentions.0",
                  "down": "down_blocks.0.downsamplers.0.conv", "d2": "down_blocks.1.resnets.0",
                  "a2": "down_blocks.1.attentions.0", "m1": "mid_block.resnets.0", "ma": "mid_block.attentions.0",
                  "u2": "up_blocks.0.resnets.0", "ua2": "up_blocks.0.attentions.0", "up": "up_blocks.0.upsamplers.0.conv",
                  "u1": "up_blocks.1.resnets.0", "ua1": "up_blocks.1.attentions.0", "norm_out": "conv_norm_out",
                  "temb.0": "time_embedding.linear_1", "temb.2": "time_embedding.linear_2",
                  "cond_proj": "time_embedding.cond_proj"}
_LEGACY_PARTS = {"n1": "norm1", "c1": "conv1", "t": "time_emb_proj", "n2": "norm2", "c2": "conv2",
                 "skip": "conv_shortcut", "q": "to_q", "k": "to_k", "v": "to_v", "o": "to_out.0"}
_LEGACY_XBLOCK = {"ln1": "transformer_blocks.0.norm1", "self_attn": "transformer_blocks.0.attn1",
                  "ln2": "transformer_blocks.0.norm2", "cross": "transformer_blocks.0.attn2",
                  "ln3": "transformer_blocks.0.norm3", "ff1": "transformer_blocks.0.ff.net.0.proj",
                  "ff2": "transformer_blocks.0.ff.net.2"}


def legacy_unet_keys(sd):
    """Rename a state dict of the earlier U-Net (d1, a1.cross.q, temb.0, ...) to the diffusers names; a state dict
    already in diffusers names is returned as is."""
    if not any(k.startswith(("d1.", "a1.", "temb.")) for k in sd):
        return sd
    out = {}
    for k, v in sd.items():
        parts = k.split(".")
        for n in (2, 1):
            head = ".".join(parts[:n])
            if head in _LEGACY_BLOCKS:
                rest = parts[n:]
                break
        else:
            out[k] = v
            continue
        new = [_LEGACY_BLOCKS[head]]
        if rest and rest[0] in _LEGACY_XBLOCK:
            new.append(_LEGACY_XBLOCK[rest[0]])
            rest = rest[1:]
        new += [_LEGACY_PARTS.get(p, p) if i < len(rest) - 1 else p for i, p in enumerate(rest)]
        out[".".join(new)] = v
    return out


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
