"""Low-rank adapters (Hu et al. 2021, LoRA) on the family's U-Net, in the key layouts people exchange.

A LoRA on a weight W (Linear [out, in] or Conv2d [out, in, kh, kw]) adds scale * (alpha / r) * B @ A with
A = lora_A [r, in] (conv: [r, in, kh, kw], the down projection) and B = lora_B [out, r] (conv: [out, r, 1, 1]),
B zero-initialised (PEFT's tuners/lora/layer.py; for convs PEFT's Conv2d LoRA, kohya's LoCon).

Files (safetensors, written by `save_safetensors` below):
- "peft":  diffusers / PEFT keys `unet.<module path>.lora_A.weight`, `.lora_B.weight`; alpha in the header's
  `__metadata__["lora_adapter_metadata"]` (JSON of PEFT's LoraConfig: r, lora_alpha, target_modules), which is
  where diffusers (loaders/lora_base.py) reads it.
- "kohya": `lora_unet_<module path with "." -> "_">.lora_down.weight`, `.lora_up.weight`, `.alpha` (float32
  scalar), as kohya-ss/sd-scripts networks/lora.py writes them; `ss_network_dim` / `ss_network_alpha` metadata.
"""
import json
import math
import struct

import numpy as np
import torch
import torch.nn as nn

# LCM-LoRA's target set (latent-consistency-model train_lcm_distill_lora_sd_wds.py): attention projections,
# feed-forward, resnet convs and time_emb_proj, down/upsampler convs; not time_embedding, conv_in, conv_out. Upstream
# also adapts the transformers' proj_in / proj_out, which the family's U-Net does not have (models.py).
LCM_TARGETS = ("to_q", "to_k", "to_v", "to_out.0", "ff.net.0.proj", "ff.net.2", "conv1", "conv2", "conv_shortcut",
               "time_emb_proj", "downsamplers.0.conv", "upsamplers.0.conv")
ATTN_TARGETS = ("to_q", "to_k", "to_v", "to_out.0")


class LoRALayer(nn.Module):
    """Wraps a frozen nn.Linear / nn.Conv2d `base`; forward = base(x) + (alpha / r) * scale * B(A(x))."""

    def __init__(self, base, r, alpha):
        super().__init__()
        self.base, self.r, self.alpha, self.scale = base, r, float(alpha), 1.0
        for p in base.parameters():
            p.requires_grad_(False)
        if isinstance(base, nn.Linear):
            self.lora_A = nn.Linear(base.in_features, r, bias=False)
            self.lora_B = nn.Linear(r, base.out_features, bias=False)
        else:
            self.lora_A = nn.Conv2d(base.in_channels, r, base.kernel_size, base.stride, base.padding, bias=False)
            self.lora_B = nn.Conv2d(r, base.out_channels, 1, bias=False)
        nn.init.kaiming_uniform_(self.lora_A.weight, a=math.sqrt(5))
        nn.init.zeros_(self.lora_B.weight)

    def delta(self):
        """The weight change (alpha / r) * B @ A, in the base weight's shape (float32)."""
        a, b = self.lora_A.weight, self.lora_B.weight
        s = self.alpha / self.r
        if a.ndim == 2:
            return s * (b @ a)
        return s * torch.einsum("or,rikl->oikl", b[:, :, 0, 0], a)

    def forward(self, x):
        return self.base(x) + (self.alpha / self.r) * self.scale * self.lora_B(self.lora_A(x))


def _targets(unet, targets):
    """Paths of the nn.Linear / nn.Conv2d modules of `unet` whose name is, or ends with, one of `targets`."""
    out = []
    for name, m in unet.named_modules():
        if isinstance(m, (nn.Linear, nn.Conv2d)) and any(name == t or name.endswith("." + t) for t in targets):
            out.append(name)
    return out


def _set(root, path, module):
    parent, _, leaf = path.rpartition(".")
    setattr(root.get_submodule(parent) if parent else root, leaf, module) if not leaf.isdigit() else \
        root.get_submodule(parent).__setitem__(int(leaf), module)


def inject(unet, r, alpha, targets=LCM_TARGETS):
    """Wrap every target module of `unet` in a LoRALayer of rank `r` (in place): A is [r, in] for a Linear and
    [r, in, kh, kw] for a Conv2d (its kernel), B is [out, r] / [out, r, 1, 1], B zero-initialised so the wrapped
    U-Net starts equal to the base. Returns the wrapped module paths (diffusers names, e.g.
    down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q)."""
    names = _targets(unet, targets)
    for n in names:
        _set(unet, n, LoRALayer(unet.get_submodule(n), r, alpha))
    return names


def layers(unet):
    """{module path: LoRALayer} of the adapters injected in `unet`."""
    return {n: m for n, m in unet.named_modules() if isinstance(m, LoRALayer)}


def lora_parameters(unet):
    """The trainable tensors (every A and B weight) of the injected adapters, for the optimizer."""
    return [p for m in layers(unet).values() for p in (m.lora_A.weight, m.lora_B.weight)]


def adapter_state(unet):
    """{module path: (A [r,...] float32, B [out,r(,1,1)] float32, r, alpha)} of the injected adapters."""
    return {n: (m.lora_A.weight.detach().clone(), m.lora_B.weight.detach().clone(), m.r, m.alpha)
            for n, m in layers(unet).items()}


def load_adapter_state(unet, state):
    """Copy adapter_state()'s A and B tensors back into the adapters injected in `unet` (same paths and ranks;
    raises KeyError naming a path missing from `state`)."""
    for n, m in layers(unet).items():
        a, b, _, _ = state[n]
        m.lora_A.weight.data.copy_(a)
        m.lora_B.weight.data.copy_(b)


def merge(unet, adapters, scale=1.0):
    """W += scale * (alpha / r) * B @ A for every entry of `adapters` (adapter_state's form or read_file's), in a
    plain (un-injected) U-Net, in place. Raises KeyError naming a module path the U-Net lacks."""
    with torch.no_grad():
        for path, (a, b, r, alpha) in adapters.items():
            w = unet.get_submodule(path).weight
            s = scale * alpha / r
            d = s * (b @ a) if a.ndim == 2 else s * torch.einsum("or,rikl->oikl", b[:, :, 0, 0], a)
            w.add_(d.to(w.dtype))
    return unet


# ------------------------------------------------------------------ safetensors
_DT = {"F32": (np.float32, 4), "F16": (np.float16, 2)}


def save_safetensors(path, tensors, metadata=None):
    """Write {name: np.ndarray (float32/float16)} as safetensors: u64 LE header length, JSON header (sorted keys,
    contiguous data_offsets from 0, padded with spaces to a multiple of 8), data. Our own writer because the
    `safetensors` package is not installable here (no PyPI, no Debian package); the format is 3 fields."""
    header, blobs, off = {}, [], 0
    for k in sorted(tensors):
        arr = np.ascontiguousarray(tensors[k])
        dt = {np.dtype(np.float32): "F32", np.dtype(np.float16): "F16"}[arr.dtype]
        raw = arr.tobytes()
        header[k] = {"dtype": dt, "shape": list(arr.shape), "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    if metadata:
        header["__metadata__"] = {k: str(v) for k, v in metadata.items()}
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for raw in blobs:
            f.write(raw)


def read_safetensors(path):
    """-> ({name: np.ndarray}, metadata dict). F32, F16 and BF16 (widened to float32). Raises ValueError naming
    `path` on a short file, a header that is not JSON, an unknown dtype, or data offsets outside the file or not
    matching the shape (the safetensors format rules, as the app's reader checks them)."""
    with open(path, "rb") as f:
        buf = f.read()
    if len(buf) < 8:
        raise ValueError(f"{path}: not a safetensors file (shorter than its 8-byte header length)")
    n = struct.unpack("<Q", buf[:8])[0]
    if 8 + n > len(buf):
        raise ValueError(f"{path}: header length {n} runs past the end of the file ({len(buf)} bytes)")
    try:
        header = json.loads(buf[8:8 + n])
    except ValueError as e:
        raise ValueError(f"{path}: header is not JSON ({e})") from None
    meta = header.pop("__metadata__", {})
    out = {}
    data_len = len(buf) - 8 - n
    for k, v in header.items():
        if v.get("dtype") == "BF16":
            dt, size = np.uint16, 2
        elif v.get("dtype") in _DT:
            dt, size = _DT[v["dtype"]]
        else:
            raise ValueError(f"{path}: tensor {k} has dtype {v.get('dtype')}; only F32, F16 and BF16 are read")
        b0, b1 = v["data_offsets"]
        count = int(np.prod(v["shape"])) if v["shape"] else 1
        if not 0 <= b0 <= b1 <= data_len or b1 - b0 != count * size:
            raise ValueError(f"{path}: tensor {k} data_offsets {b0}..{b1} do not fit its shape {v['shape']} "
                             f"and dtype, or run past the data ({data_len} bytes)")
        a = np.frombuffer(buf[8 + n + b0:8 + n + b1], dtype=dt).reshape(v["shape"])
        if v["dtype"] == "BF16":
            a = (a.astype(np.uint32) << 16).view(np.float32)
        out[k] = a
    return out, meta


def write_file(path, state, fmt="peft", dtype=np.float16, targets=LCM_TARGETS, extra_metadata=None):
    """Save adapter_state(unet) as a LoRA file in `fmt` ("peft" or "kohya"), weights in `dtype`."""
    tensors, rank, alpha = {}, None, None
    for p, (a, b, r, al) in state.items():
        rank, alpha = r, al
        a, b = a.numpy().astype(dtype), b.numpy().astype(dtype)
        if fmt == "peft":
            tensors[f"unet.{p}.lora_A.weight"], tensors[f"unet.{p}.lora_B.weight"] = a, b
        else:
            key = "lora_unet_" + p.replace(".", "_")
            tensors[key + ".lora_down.weight"], tensors[key + ".lora_up.weight"] = a, b
            tensors[key + ".alpha"] = np.array(al, dtype=np.float32)
    meta = dict(extra_metadata or {})
    if fmt == "peft":
        meta["lora_adapter_metadata"] = json.dumps({"r": rank, "lora_alpha": alpha, "target_modules":
                                                    list(targets), "peft_type": "LORA"})
    else:
        meta.update({"ss_network_dim": str(rank), "ss_network_alpha": str(alpha), "ss_network_module": "networks.lora"})
    save_safetensors(path, tensors, meta)


def read_file(path, unet=None):
    """A LoRA file of either layout -> {module path: (A, B, r, alpha)} float32 tensors (alpha: `.alpha` key, else
    lora_adapter_metadata, else r). With `unet`, kohya's underscored paths are resolved against its modules."""
    tensors, meta = read_safetensors(path)
    cfg = json.loads(meta["lora_adapter_metadata"]) if "lora_adapter_metadata" in meta else {}
    under = {n.replace(".", "_"): n for n, _ in unet.named_modules()} if unet is not None else {}
    groups = {}
    for k, v in tensors.items():
        if k.startswith("unet.") and (k.endswith(".lora_A.weight") or k.endswith(".lora_B.weight")):
            path, part = k[5:-len(".lora_A.weight")], "A" if ".lora_A." in k else "B"
        elif k.startswith("lora_unet_"):
            stem, _, tail = k.partition(".")
            path = under.get(stem[len("lora_unet_"):], stem[len("lora_unet_"):])
            part = {"lora_down.weight": "A", "lora_up.weight": "B", "alpha": "alpha"}[tail]
        else:
            continue
        groups.setdefault(path, {})[part] = torch.from_numpy(v.astype(np.float32).copy())
    out = {}
    for path, g in groups.items():
        r = g["A"].shape[0]
        # kohya (networks/lora.py): an alpha of 0 or none means alpha = r (scale 1), as the app's engine reads it
        alpha = float(g["alpha"]) if "alpha" in g and float(g["alpha"]) != 0 else float(cfg.get("lora_alpha", r))
        out[path] = (g["A"], g["B"], r, alpha)
    return out
