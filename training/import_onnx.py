"""Continuity: rebuild the PyTorch checkpoints (runs/<stage>/final.pt) from the shipped ONNX files in models/.

The shipped graphs hold the very weights the training stages saved, but torch.onnx.export renames some of them
(a bias-free nn.Linear becomes a transposed `onnx::MatMul_N` initializer, GroupNorm's affine becomes `onnx::Mul_N` /
`onnx::Add_N` of shape [C,1,1], BatchNorm is folded into the preceding convolution). To invert that mapping without
guessing, each module is rebuilt with random weights of its shipped configuration and exported with the same code
(fewstep/export.py, same torch and opset): every initializer of that probe export is matched by value to the
parameter it came from (as is, transposed, or reshaped). Because the probe and the shipped graph come from the same
module code, their initializer names agree, so the map transfers. The evaluator's folded BatchNorm cannot be split
back; it is imported as convolutions carrying the folded weights with identity BatchNorm layers (same function).

Every import is checked by re-exporting the rebuilt module and comparing every initializer with the shipped file
(max |diff| must be 0). The VAE encoder is not shipped in older trees (only the decoder is); when
models/fewstep-vae-encoder/ exists it is imported too, else train_vae_encoder.py retrains it against the frozen
decoder.

usage: import_onnx.py [--models ../models] [--out runs/shipped] [--force]
Writes <out>/{text,teacher,progressive-N,lcm,turbo,vae-decoder,evaluator,vae}/final.pt (skips existing unless
--force); the Makefile starts every stage from these when runs/ holds no newer checkpoint.
"""
import argparse
import json
import os
import sys
import tempfile

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np
import onnx
from onnx import numpy_helper
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fewstep import export as X  # noqa: E402
from fewstep.evaluator import Evaluator  # noqa: E402
from fewstep.loop import RUNS  # noqa: E402
from fewstep.models import TextEncoder, UNet, VAEDecoder, VAEEncoder  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def _inits(path):
    """Initializers by name, float32. A weight stored as float16 by export.store_weights_fp16 (initializer
    `X_fp16` + a Cast node whose output is `X`) is returned under `X`, widened (lossless)."""
    g = onnx.load(path).graph
    out = {i.name: numpy_helper.to_array(i) for i in g.initializer}
    for n in g.node:
        if n.op_type == "Cast" and len(n.input) == 1 and n.input[0] in out and out[n.input[0]].dtype == np.float16:
            out[n.output[0]] = out.pop(n.input[0]).astype(np.float32)
    return out


def _probe_map(module, export_fn):
    """Randomise `module`'s parameters, export it, and map each initializer name -> (param name, transform)."""
    g = torch.Generator().manual_seed(7)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randn(p.shape, generator=g))
    params = {k: v.detach().numpy() for k, v in module.state_dict().items() if v.dtype.is_floating_point}
    with tempfile.TemporaryDirectory() as d:
        path = export_fn(module, d)
        probe = _inits(path)
    mapping = {}
    for name, arr in probe.items():
        if arr.dtype != np.float32 or arr.size < 2:
            continue
        found = None
        for pname, p in params.items():
            if p.size != arr.size:
                continue
            if p.shape == arr.shape and np.array_equal(p, arr):
                found = (pname, "same")
            elif p.ndim == 2 and p.T.shape == arr.shape and np.array_equal(p.T, arr):
                found = (pname, "T")
            elif np.array_equal(p.reshape(-1), arr.reshape(-1)):
                found = (pname, "reshape")
            if found:
                break
        if found:
            mapping[name] = found
    missing = [k for k, v in params.items() if k not in {m[0] for m in mapping.values()}
               and not k.endswith(("running_mean", "running_var"))]
    return mapping, missing


def _load_into(module, mapping, shipped, what):
    sd = module.state_dict()
    done = set()
    for name, (pname, how) in mapping.items():
        if name not in shipped:
            raise SystemExit(f"{what}: initializer {name} of the probe export is not in the shipped graph: the module "
                             f"code no longer matches the shipped export")
        arr = shipped[name]
        t = torch.from_numpy(np.ascontiguousarray(arr.T if how == "T" else arr)).reshape(sd[pname].shape)
        sd[pname].copy_(t)
        done.add(pname)
    module.load_state_dict(sd)
    return done


def _check(module, export_fn, onnx_path, what):
    shipped = _inits(onnx_path)
    with tempfile.TemporaryDirectory() as d:
        again = _inits(export_fn(module, d))
    worst = 0.0
    for k, v in shipped.items():
        if k not in again or again[k].shape != v.shape:
            raise SystemExit(f"{what}: re-export differs in initializer {k}")
        if v.dtype.kind == "f":
            worst = max(worst, float(np.abs(again[k].astype(np.float64) - v).max(initial=0)))
    if worst != 0.0:
        raise SystemExit(f"{what}: re-exported weights differ from {onnx_path} by {worst}")
    print(f"  {what}: {len(shipped)} initializers re-export identically")


def _import(module, export_fn, onnx_path, what):
    mapping, missing = _probe_map(module, export_fn)
    if missing:
        raise SystemExit(f"{what}: parameters not found in the export: {missing[:5]}")
    _load_into(module, mapping, _inits(onnx_path), what)
    _check(module, export_fn, onnx_path, what)
    return module


def _exp_text(te, d):
    X.export_text_encoder(te, d)
    return os.path.join(d, "text_encoder", "model.onnx")


def _exp_unet(u, d):
    X.export_unet(u, d)
    return os.path.join(d, "unet", "model.onnx")


def _exp_dec(dec, d):
    X.export_vae_decoder(dec, d)
    return os.path.join(d, "vae_decoder", "model.onnx")


def _exp_enc(enc, d):
    X.export_vae_encoder(enc, d)
    return os.path.join(d, "vae_encoder", "model.onnx")


def import_text(folder):
    cfg = json.load(open(os.path.join(folder, "text_encoder", "config.json")))
    te = TextEncoder(cfg["vocab_size"], dim=cfg["hidden_size"], layers=cfg["num_hidden_layers"],
                     heads=cfg["num_attention_heads"], max_len=cfg["max_position_embeddings"])
    vocab = json.load(open(os.path.join(folder, "tokenizer", "tokenizer.json")))["model"]["vocab"]
    _import(te, _exp_text, os.path.join(folder, "text_encoder", "model.onnx"), "text_encoder")
    return {"te": te.state_dict(), "dim": te.dim, "layers": te.num_layers, "vocab": vocab, "imported_from": folder}


def import_unet(folder):
    cfg = json.load(open(os.path.join(folder, "unet", "config.json")))
    u = UNet(ctx_dim=cfg["cross_attention_dim"], ch=tuple(cfg["block_out_channels"]))
    if cfg.get("time_cond_proj_dim"):
        u.add_cond(cfg["time_cond_proj_dim"])
    _import(u, _exp_unet, os.path.join(folder, "unet", "model.onnx"), f"{os.path.basename(folder)} unet")
    return {"unet": u.state_dict(), "unet_ch": list(u.ch), "imported_from": folder}


def import_decoder(folder):
    cfg = json.load(open(os.path.join(folder, "vae_decoder", "config.json")))
    dec = VAEDecoder(ch=tuple(cfg["block_out_channels"]), scaling_factor=cfg["scaling_factor"])
    _import(dec, _exp_dec, os.path.join(folder, "vae_decoder", "model.onnx"), "vae_decoder")
    return {"dec": dec.state_dict(), "scaling_factor": cfg["scaling_factor"], "imported_from": folder}


def import_encoder(folder):
    enc = VAEEncoder()
    _import(enc, _exp_enc, os.path.join(folder, "vae_encoder", "model.onnx"), "vae_encoder")
    return enc


def import_evaluator(path):
    """BatchNorm was folded into the convolutions at export: load the folded convs, make each BatchNorm identity."""
    ev = Evaluator().eval()
    shipped = onnx.load(path)
    arr = {i.name: numpy_helper.to_array(i) for i in shipped.graph.initializer}
    convs = [m for m in ev.body if isinstance(m, torch.nn.Conv2d)]
    bns = [m for m in ev.body if isinstance(m, torch.nn.BatchNorm2d)]
    conv_nodes = [n for n in shipped.graph.node if n.op_type == "Conv"]
    if len(conv_nodes) != len(convs):
        raise SystemExit(f"evaluator: {len(conv_nodes)} Conv nodes in {path}, the module has {len(convs)}")
    with torch.no_grad():
        for conv, bn, node in zip(convs, bns, conv_nodes):
            conv.weight.copy_(torch.from_numpy(arr[node.input[1]]))
            conv.bias.copy_(torch.from_numpy(arr[node.input[2]]))
            bn.weight.fill_(1.0)
            bn.bias.zero_()
            bn.running_mean.zero_()
            bn.running_var.fill_(1.0 - bn.eps)
        lin = ev.body[-2]
        lin.weight.copy_(torch.from_numpy(arr["body.25.weight"]))
        lin.bias.copy_(torch.from_numpy(arr["body.25.bias"]))
        ev.head.weight.copy_(torch.from_numpy(arr["head.weight"]))
        ev.head.bias.copy_(torch.from_numpy(arr["head.bias"]))
    return ev


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", default=os.path.join(HERE, "..", "models"))
    ap.add_argument("--out", default=os.path.join(RUNS, "shipped"))
    ap.add_argument("--force", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(1)
    m = os.path.abspath(args.models)

    def out(stage, obj):
        d = os.path.join(args.out, stage)
        path = os.path.join(d, "final.pt")
        if os.path.exists(path) and not args.force:
            print(f"keep {path}")
            return
        os.makedirs(d, exist_ok=True)
        torch.save(obj() if callable(obj) else obj, path)
        print(f"wrote {path}")

    teacher = os.path.join(m, "fewstep-teacher")
    out("text", lambda: import_text(teacher))
    out("vae-decoder", lambda: import_decoder(teacher))
    for name in sorted(os.listdir(m)):
        if name.startswith("fewstep-") and os.path.exists(os.path.join(m, name, "unet", "model.onnx")):
            out(name[len("fewstep-"):], lambda n=name: import_unet(os.path.join(m, n)))
    out("evaluator", lambda: {"ev": import_evaluator(os.path.join(m, "evaluator", "model.onnx")).state_dict()})
    enc_dir = teacher
    if os.path.exists(os.path.join(enc_dir, "vae_encoder", "model.onnx")):
        def vae():
            dec = torch.load(os.path.join(args.out, "vae-decoder", "final.pt"))
            return {"enc": import_encoder(enc_dir).state_dict(), "dec": dec["dec"],
                    "scaling_factor": dec["scaling_factor"], "imported_from": enc_dir}
        out("vae", vae)


if __name__ == "__main__":
    main()
