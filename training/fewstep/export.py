"""Write a pipeline folder in the diffusers ONNX layout (opset 17, fp32, dynamic "batch" axis)."""
import json
import os

import onnx
import torch

from . import grammar
from .models import DecoderExport, LATENT_CH, COND_DIM

OPSET = 17


def _dump(path, obj):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        json.dump(obj, f, indent=1)


def _export(module, args, path, inputs, outputs):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    dyn = {n: {0: "batch"} for n in inputs + outputs}
    module = module.eval()
    with torch.no_grad():
        torch.onnx.export(module, args, path, input_names=inputs, output_names=outputs, dynamic_axes=dyn,
                          opset_version=OPSET, do_constant_folding=True)
    m = onnx.load(path)
    onnx.checker.check_model(m)


def export_text_encoder(te, folder):
    # example ids only fix shapes; clamped so that a text encoder of an older (smaller) vocabulary exports too
    ids = torch.tensor([grammar.encode("a red circle"), grammar.encode("")], dtype=torch.int64).clamp(
        max=te.vocab_size - 1)
    _export(te, (ids,), os.path.join(folder, "text_encoder", "model.onnx"), ["input_ids"],
            ["last_hidden_state", "pooler_output"])
    _dump(os.path.join(folder, "text_encoder", "config.json"), te.config())


def store_weights_fp16(path, min_elements=16):
    """Rewrite an exported fp32 graph so its float initializers of at least min_elements values whose every value is
    exactly a float16 (the weights, rounded beforehand by common.round_weights_fp16; folded constants such as the
    timestep frequencies are not, and stay float32) are stored as float16, each followed by a Cast back to float32
    under the original name. Lossless by construction: the file halves, the arithmetic stays float32 (ORT folds
    the Casts at session creation). Reason for our own pass: the maintained converter
    (onnxconverter-common's float16 module) is not installable here (no PyPI) and converts the compute to fp16 too,
    which is not what we want. The PyTorch side evaluates the same rounded weights (common.round_weights_fp16)."""
    import numpy as np
    from onnx import helper, numpy_helper, TensorProto
    m = onnx.load(path)
    g = m.graph
    casts, keep = [], []
    for init in g.initializer:
        arr = numpy_helper.to_array(init) if init.data_type == TensorProto.FLOAT else None
        if arr is not None and arr.size >= min_elements and np.array_equal(arr.astype(np.float16).astype(np.float32), arr):
            half = numpy_helper.from_array(arr.astype(np.float16), init.name + "_fp16")
            keep.append(half)
            casts.append(helper.make_node("Cast", [half.name], [init.name], to=TensorProto.FLOAT,
                                          name=init.name + "_cast"))
        else:
            keep.append(init)
    del g.initializer[:]
    g.initializer.extend(keep)
    nodes = list(g.node)
    del g.node[:]
    g.node.extend(casts + nodes)
    onnx.checker.check_model(m)
    onnx.save(m, path)
    return len(casts)


def export_unet(unet, folder, weights_fp16=False):
    """unet/model.onnx with the module's own (diffusers) names, as torch.onnx.export writes them for a real
    UNet2DConditionModel: conv / Gemm weights keep their parameter names (`down_blocks.0.resnets.0.conv1.weight`),
    bias-free Linear weights become transposed `onnx::MatMul_N` initializers consumed by nodes named after the module
    (`/down_blocks.0/attentions.0/transformer_blocks.0/attn1/to_q/MatMul`): the names a LoRA merge maps keys by."""
    b = 2
    x = torch.randn(b, LATENT_CH, 8, 8)
    t = torch.tensor([999.0, 499.0])
    ctx = torch.randn(b, 77, unet.ctx_dim)
    path = os.path.join(folder, "unet", "model.onnx")
    if unet.cond_dim:
        cond = torch.randn(b, COND_DIM)
        _export(unet, (x, t, ctx, cond), path,
                ["sample", "timestep", "encoder_hidden_states", "timestep_cond"], ["out_sample"])
    else:
        _export(unet, (x, t, ctx), path, ["sample", "timestep", "encoder_hidden_states"], ["out_sample"])
    if weights_fp16:
        store_weights_fp16(path)
    _dump(os.path.join(folder, "unet", "config.json"), unet.config())


def export_vae_decoder(dec, folder):
    z = torch.randn(2, LATENT_CH, 8, 8)
    _export(DecoderExport(dec), (z,), os.path.join(folder, "vae_decoder", "model.onnx"), ["latent_sample"], ["sample"])
    _dump(os.path.join(folder, "vae_decoder", "config.json"), dec.config())


def export_pipeline(folder, te, unet, dec, scheduler_config, fewstep, lcm=False, enc=None, weights_fp16=False):
    """enc: also export the VAE encoder (vae_encoder/, input `sample` [B,3,64,64] -> `latent_sample` [B,4,8,8], the
    unscaled posterior mean), so later sessions can rebuild the latent cache from the shipped files."""
    os.makedirs(folder, exist_ok=True)
    if enc is not None:
        export_vae_encoder(enc, folder)
    export_text_encoder(te, folder)
    export_unet(unet, folder, weights_fp16)
    export_vae_decoder(dec, folder)
    grammar.write_tokenizer(os.path.join(folder, "tokenizer"))
    _dump(os.path.join(folder, "scheduler", "scheduler_config.json"), scheduler_config)
    index = {
        "_class_name": "OnnxLatentConsistencyModelPipeline" if lcm else "OnnxStableDiffusionPipeline",
        "_diffusers_version": "0.30.0",
        "feature_extractor": [None, None],
        "requires_safety_checker": False,
        "safety_checker": [None, None],
        "scheduler": ["diffusers", scheduler_config["_class_name"]],
        "text_encoder": ["diffusers", "OnnxRuntimeModel"],
        "tokenizer": ["transformers", "PreTrainedTokenizerFast"],
        "unet": ["diffusers", "OnnxRuntimeModel"],
        "vae_decoder": ["diffusers", "OnnxRuntimeModel"],
        "vae_encoder": ["diffusers", "OnnxRuntimeModel"] if enc is not None else [None, None],
        "fewstep": fewstep,
    }
    _dump(os.path.join(folder, "model_index.json"), index)


class _EncoderMean(torch.nn.Module):
    """diffusers' OnnxStableDiffusionImg2ImgPipeline reads `latent_sample` from vae_encoder; we export the posterior
    mean (unscaled), the deterministic encoding the training stages use."""

    def __init__(self, enc):
        super().__init__()
        self.enc = enc

    def forward(self, sample):
        return self.enc(sample)[0]


def export_vae_encoder(enc, folder):
    x = torch.randn(2, 3, 64, 64)
    _export(_EncoderMean(enc), (x,), os.path.join(folder, "vae_encoder", "model.onnx"), ["sample"], ["latent_sample"])
