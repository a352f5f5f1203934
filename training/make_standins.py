"""Tiny random-weight stand-ins of the real ONNX text-to-image exports (issue 12, deliverable 1).

    /usr/bin/python3 training/make_standins.py --out fixtures/generated/standins

Each stand-in reproduces one public export's interface as far as public evidence shows it: file list and names
(external-data sidecars `model.onnx_data`, the diffusers script's `weights.pb`), model_index.json, scheduler and
component configs as the repo has them or lacks them, tokenizer files as shipped, graph input/output names,
dtypes, ranks and symbolic dimension names, weight precision (fp16 with fp32 I/O through Cast nodes where the
export does that) and opset. Weights are random and tiny; every output depends on every input.
Facts and their sources: training/standins/EVIDENCE.md. Each stand-in folder gets a `standin.json` manifest
(which catalog entry / repo it mimics, the real file list with the real byte sizes where known, the stand-in's
own files with sizes and sha256, and each graph's signature); `index.json` lists them all.

U-Nets of diffusers-U-Net exports are tiny instances of the family's own U-Net class (training/fewstep/models.py,
diffusers' module names) exported by torch.onnx as the real files were (standins/torch_unet.py), so LoRA keys map
onto them through the real node / initializer name shapes (issue 13). LoRA stand-ins (kind "lora") are one
.safetensors file in a public adapter's key layout for such a U-Net, checked against its graph when written.
Needs numpy + onnx + torch (Debian python3-onnx, python3-torch); deterministic for a given torch (fixed seeds);
the whole set is about 8.5 MB.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import struct
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "standins"))

import graphs as G  # noqa: E402
import vocab as V  # noqa: E402
from clip_bpe import BOS_ID, EOS_ID  # noqa: E402

PRODUCER = "fewstep-standin"
SCHEMA = 1


# ----------------------------------------------------------------------------------------------- file contents
def jdump(obj, indent=2, newline=True) -> str:
    return json.dumps(obj, indent=indent, ensure_ascii=False) + ("\n" if newline else "")


def added_token(content: str, typed: bool = True) -> dict:
    d = {"content": content, "lstrip": False, "normalized": True, "rstrip": False, "single_word": False}
    return {"__type": "AddedToken", **d} if typed else d


def slow_tokenizer_files(pad: str, name_or_path: str | None) -> dict[str, str]:
    """tokenizer/ as transformers' CLIPTokenizer.save_pretrained writes it (no tokenizer.json)."""
    vocab, merges, _ = V.build()
    cfg = {"add_prefix_space": False, "bos_token": added_token("<|startoftext|>"), "do_lower_case": True,
           "eos_token": added_token("<|endoftext|>"), "errors": "replace", "model_max_length": 77}
    if name_or_path:
        cfg["name_or_path"] = name_or_path
    cfg.update({"pad_token": pad, "tokenizer_class": "CLIPTokenizer", "unk_token": added_token("<|endoftext|>")})
    stm = {"bos_token": added_token("<|startoftext|>", False), "eos_token": added_token("<|endoftext|>", False),
           "pad_token": pad, "unk_token": added_token("<|endoftext|>", False)}
    return {"tokenizer/vocab.json": V.vocab_json(vocab), "tokenizer/merges.txt": V.merges_txt(merges),
            "tokenizer/tokenizer_config.json": jdump(cfg), "tokenizer/special_tokens_map.json": jdump(stm)}


def fast_tokenizer_files(prefix: str, pad: str, bang_special: bool) -> dict[str, str]:
    """tokenizer.json + tokenizer_config.json, as transformers.js loads them (Xenova/*, webnn demos)."""
    vocab, merges, _ = V.build()
    decoder = {str(BOS_ID): {"content": "<|startoftext|>", "lstrip": False, "normalized": True, "rstrip": False,
                             "single_word": False, "special": True},
               str(EOS_ID): {"content": "<|endoftext|>", "lstrip": False, "normalized": True, "rstrip": False,
                             "single_word": False, "special": True}}
    if bang_special:
        decoder = {"0": {"content": "!", "lstrip": False, "normalized": False, "rstrip": False,
                         "single_word": False, "special": True}, **decoder}
    cfg = {"add_prefix_space": False, "added_tokens_decoder": decoder, "bos_token": "<|startoftext|>",
           "clean_up_tokenization_spaces": True, "do_lower_case": True, "eos_token": "<|endoftext|>",
           "errors": "replace", "model_max_length": 77, "pad_token": pad, "tokenizer_class": "CLIPTokenizer",
           "unk_token": "<|endoftext|>"}
    p = f"{prefix}/" if prefix else ""
    return {f"{p}tokenizer.json": json.dumps(V.tokenizer_json(vocab, merges, bang_special=bang_special),
                                             ensure_ascii=False),
            f"{p}tokenizer_config.json": jdump(cfg)}


SCALED_LINEAR = {"beta_end": 0.012, "beta_schedule": "scaled_linear", "beta_start": 0.00085,
                 "num_train_timesteps": 1000}


def pndm_sd21() -> dict:
    return {"_class_name": "PNDMScheduler", "_diffusers_version": "0.10.0", **SCALED_LINEAR, "clip_sample": False,
            "prediction_type": "epsilon", "set_alpha_to_one": False, "skip_prk_steps": True, "steps_offset": 1,
            "trained_betas": None}


def sorted_dict(d: dict) -> dict:
    return dict(sorted(d.items()))


# U-Net of the diffusers-U-Net exports: a tiny instance of the family's class (fewstep.models.UNet, diffusers module
# names) exported by torch.onnx as the real files were (standins/torch_unet.py), so node and initializer names have
# the real shapes and LoRA keys can be mapped on it. Built lazily: torch is imported only when a stand-in needs it.
def torch_unet(*, ctx: int, proj: str, seed: int, precision: str, opset: int, sample_dims, timestep_dtype: int,
               timestep_dims, ehs_dims, out_dims, extra=(), cond_dim: int | None = None):
    def make():
        import torch_unet as TU
        u = TU.build(ctx_dim=ctx, seed=seed, cond_dim=cond_dim, proj=proj)
        return TU.export(u, opset=opset, precision=precision, sample_dims=sample_dims, timestep_dtype=timestep_dtype,
                         timestep_dims=timestep_dims, ehs_dims=ehs_dims, out_dims=out_dims, extra=extra,
                         producer=PRODUCER)
    return make


# ------------------------------------------------------------------------------------------- safetensors (LoRA)
HF_DTYPES = {np.dtype(np.float16): ("F16", 2), np.dtype(np.float32): ("F32", 4)}


def hf_safetensors(tensors: dict, metadata: dict | None) -> bytes:
    """A .safetensors file as huggingface/safetensors' serializer writes it (safetensors.torch.save_file): u64 LE
    header length, compact JSON with "__metadata__" first and the tensors in data order (by dtype alignment, then
    name), contiguous data_offsets from 0, the JSON padded with spaces to a multiple of 8, then the data: the same
    serialization as real_lcm_lora_sd15_header(), whose output is byte for byte the published file's header.
    (training/fewstep/lora.py save_safetensors writes the same format with "__metadata__" last.)"""
    order = sorted(tensors, key=lambda k: (-HF_DTYPES[np.asarray(tensors[k]).dtype][1], k))
    header: dict = {}
    if metadata is not None:
        header["__metadata__"] = {k: str(v) for k, v in metadata.items()}
    blobs, off = [], 0
    for k in order:
        arr = np.asarray(tensors[k])  # not ascontiguousarray: it turns a 0-dim alpha into shape [1]
        raw = arr.tobytes(order="C")
        header[k] = {"dtype": HF_DTYPES[arr.dtype][0], "shape": list(arr.shape), "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    return struct.pack("<Q", len(h)) + h + b"".join(blobs)


# The public file latent-consistency/lcm-lora-sdv1-5 pytorch_lora_weights.safetensors (EVIDENCE.md#lcm-lora-sdv1-5).
LCM_LORA_SD15_REAL = {"path": "pytorch_lora_weights.safetensors", "size": 134621556,
                      "sha256": "8f90d840e075ff588a58e22c6586e2ae9a6f7922996ee6649a7f01072333afe4",
                      "revision": "cf2fced511dbe7e26c8d1d397e728fbab875db4b", "headerLength": 116544,
                      "headerSha256": "3ca15dde66470e73c8d68dbb9ab64d6e7ad014f525b58193a9a3b161eb6cc263",
                      "tensors": 834}
# LCM-LoRA's target modules (luosiallen/latent-consistency-model train_lcm_distill_lora_sd_wds.py LoraConfig).
LCM_LORA_TARGETS = ("to_q", "to_k", "to_v", "to_out.0", "proj_in", "proj_out", "ff.net.0.proj", "ff.net.2", "conv1",
                    "conv2", "conv_shortcut", "downsamplers.0.conv", "upsamplers.0.conv", "time_emb_proj")


def sd15_unet_modules() -> list[tuple[str, str, int, int, int]]:
    """(module path, "linear" | "conv", in, out, kernel) of every LCM-LoRA target of Stable Diffusion 1.5's
    UNet2DConditionModel (block_out_channels 320/640/1280/1280, 2 layers per block, cross-attention width 768,
    1x1-conv proj_in/proj_out, GEGLU feed-forward 4x, time embedding 1280), in module order."""
    ch, temb, ctx = (320, 640, 1280, 1280), 1280, 768
    mods: list[tuple[str, str, int, int, int]] = []

    def res(p, cin, cout):
        mods.extend([(f"{p}.conv1", "conv", cin, cout, 3), (f"{p}.time_emb_proj", "linear", temb, cout, 1),
                     (f"{p}.conv2", "conv", cout, cout, 3)])
        if cin != cout:
            mods.append((f"{p}.conv_shortcut", "conv", cin, cout, 1))

    def attn(p, c):
        mods.append((f"{p}.proj_in", "conv", c, c, 1))
        q = f"{p}.transformer_blocks.0"
        for a in ("attn1", "attn2"):
            kin = c if a == "attn1" else ctx
            mods.extend([(f"{q}.{a}.to_q", "linear", c, c, 1), (f"{q}.{a}.to_k", "linear", kin, c, 1),
                         (f"{q}.{a}.to_v", "linear", kin, c, 1), (f"{q}.{a}.to_out.0", "linear", c, c, 1)])
        mods.extend([(f"{q}.ff.net.0.proj", "linear", c, 8 * c, 1), (f"{q}.ff.net.2", "linear", 4 * c, c, 1)])
        mods.append((f"{p}.proj_out", "conv", c, c, 1))

    skips, cin = [ch[0]], ch[0]
    for i, c in enumerate(ch):
        for j in range(2):
            res(f"down_blocks.{i}.resnets.{j}", cin if j == 0 else c, c)
            if i < 3:
                attn(f"down_blocks.{i}.attentions.{j}", c)
            skips.append(c)
        cin = c
        if i < 3:
            mods.append((f"down_blocks.{i}.downsamplers.0.conv", "conv", c, c, 3))
            skips.append(c)
    res("mid_block.resnets.0", 1280, 1280)
    attn("mid_block.attentions.0", 1280)
    res("mid_block.resnets.1", 1280, 1280)
    prev = 1280
    for i, c in enumerate(reversed(ch)):
        for j in range(3):
            res(f"up_blocks.{i}.resnets.{j}", prev + skips.pop(), c)
            prev = c
            if i > 0:
                attn(f"up_blocks.{i}.attentions.{j}", c)
        if i < 3:
            mods.append((f"up_blocks.{i}.upsamplers.0.conv", "conv", c, c, 3))
    return mods


def kohya_lora_shapes(mods, rank: int) -> dict[str, list[int]]:
    """Key -> shape of a LoRA in the layout diffusers' LCM-LoRA scripts save (get_module_kohya_state_dict):
    `lora_unet_<module path, "." -> "_">.lora_down.weight` [r, in(, k, k)], `.lora_up.weight` [out, r(, 1, 1)],
    `.alpha` (a 0-dim tensor)."""
    out = {}
    for path, kind, cin, cout, k in mods:
        key = "lora_unet_" + path.replace(".", "_")
        out[f"{key}.lora_down.weight"] = [rank, cin] if kind == "linear" else [rank, cin, k, k]
        out[f"{key}.lora_up.weight"] = [cout, rank] if kind == "linear" else [cout, rank, 1, 1]
        out[f"{key}.alpha"] = []
    return out


def real_lcm_lora_sd15_header() -> bytes:
    """The JSON header of the published SD 1.5 LCM-LoRA, rebuilt from Stable Diffusion 1.5's architecture: kohya keys
    of the 278 target modules, rank 64, every tensor float16 (the alphas too, 0-dim), metadata {"format": "pt"}
    (safetensors.torch.save_file's). Its length and sha256 equal the ones a public download manifest records for the
    real file (116,544 bytes; header sha256 3ca15dde...), so this is the real key set, shapes and dtypes; the alpha
    values are in the data, which is not public here."""
    shapes = kohya_lora_shapes(sd15_unet_modules(), 64)
    header: dict = {"__metadata__": {"format": "pt"}}
    off = 0
    for k in sorted(shapes):
        n = 2 * int(np.prod(shapes[k])) if shapes[k] else 2
        header[k] = {"dtype": "F16", "shape": shapes[k], "data_offsets": [off, off + n]}
        off += n
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    real = LCM_LORA_SD15_REAL
    assert len(h) == real["headerLength"], len(h)
    assert hashlib.sha256(h).hexdigest() == real["headerSha256"], "rebuilt header differs from the published one"
    assert 8 + len(h) + off == real["size"]
    return h


# ---------------------------------------------------------------------------------------------- stand-in specs
def sd_turbo(out: Path) -> dict:
    p, op = "fp16-keepio", 14
    models = {
        "text_encoder/model.onnx": (G.text_encoder(
            precision=p, opset=op, ids_dtype=G.I32, batch="batch_size", seq="sequence_length", hidden=1024,
            outputs=[("last_hidden_state", "hidden", 1024), ("pooler_output", "pooled", 1024)], seed=11,
            producer=PRODUCER), None),
        "unet/model.onnx": (torch_unet(
            ctx=1024, proj="linear", seed=12, precision=p, opset=op,
            sample_dims=["batch_size", "num_channels", "height", "width"], timestep_dtype=G.I64,
            timestep_dims=["steps"], ehs_dims=["batch_size", "sequence_length", 1024],
            out_dims=["batch_size", "num_channels", "height", "width"]), None),
        "vae_decoder/model.onnx": (G.vae_decoder(
            precision=p, opset=op, in_dims=["batch_size", "num_channels_latent", "height_latent", "width_latent"],
            out_dims=["batch_size", "num_channels", "height", "width"], seed=13, producer=PRODUCER), None),
    }
    real = [
        {"path": "text_encoder/model.onnx", "size": None, "approxSize": "~681 MB"},
        {"path": "unet/model.onnx", "size": None, "approxSize": "~1.73 GB"},
        {"path": "vae_decoder/model.onnx", "size": None, "approxSize": "~99 MB"},
    ]
    return dict(id="sd-turbo", sources=["microsoft/onnxruntime-inference-examples js/sd-turbo/index.js @72dffcc (file names, feeds, freeDimensionOverrides, pad id 0, session options)",
                         "huggingface/optimum v1.13-v1.19 optimum/exporters/onnx/model_configs.py (dim names, int64 [steps] timestep)",
                         "onnxruntime transformers optimizer convert_float_to_float16(keep_io_types=True), change_graph_inputs_to_int32 (fp16 weights, fp32 I/O, int32 ids)",
                         "approximate sizes: public plugin README and a C# doc comment listing the three files (~681 MB, ~1.73 GB, ~99 MB)"], catalogId="sd-turbo", repo="schmuell/sd-turbo-ort-web", revision="main",
                models=models, files={}, real=real, padTokenId=0, tokenizerStandin="xenova-clip-vit-base-patch16",
                confidence={"fileList": "high", "sizes": "approximate only", "ioNames": "high",
                            "dtypes": "high (feeds of the official example)",
                            "dimNames": "high: the overridden ones (freeDimensionOverrides) are the Optimum <= 1.19 names; steps follows from the same versions",
                            "opset": "guessed (Optimum default 14)", "precision": "high (fp16 weights, fp32 I/O)"})


def lcm_dreamshaper(out: Path) -> dict:
    p, op = "fp16-keepio", 14
    unet_cfg = {"_class_name": "UNet2DConditionModel", "_diffusers_version": "0.22.0", "act_fn": "silu",
                "attention_head_dim": 8, "block_out_channels": [320, 640, 1280, 1280], "center_input_sample": False,
                "cross_attention_dim": 768, "down_block_types": ["CrossAttnDownBlock2D", "CrossAttnDownBlock2D",
                                                                 "CrossAttnDownBlock2D", "DownBlock2D"],
                "downsample_padding": 1, "flip_sin_to_cos": True, "freq_shift": 0, "in_channels": 4,
                "layers_per_block": 2, "mid_block_scale_factor": 1, "norm_eps": 1e-05, "norm_num_groups": 32,
                "out_channels": 4, "sample_size": 96, "time_cond_proj_dim": 256,
                "up_block_types": ["UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"]}
    vae_cfg = {"_class_name": "AutoencoderKL", "_diffusers_version": "0.22.0", "act_fn": "silu",
               "block_out_channels": [128, 256, 512, 512], "in_channels": 3, "latent_channels": 4,
               "layers_per_block": 2, "norm_num_groups": 32, "out_channels": 3, "sample_size": 768,
               "scaling_factor": 0.18215}
    sched = {"_class_name": "LCMScheduler", "_diffusers_version": "0.22.0", **SCALED_LINEAR, "clip_sample": False,
             "clip_sample_range": 1.0, "original_inference_steps": 50, "prediction_type": "epsilon",
             "rescale_betas_zero_snr": False, "sample_max_value": 1.0, "set_alpha_to_one": True,
             "steps_offset": 1, "thresholding": False, "timestep_scaling": 10.0, "timestep_spacing": "leading",
             "trained_betas": None}
    index = {"_class_name": "LatentConsistencyModelPipeline", "_diffusers_version": "0.22.0",
             "feature_extractor": [None, None], "requires_safety_checker": False, "safety_checker": [None, None],
             "scheduler": ["diffusers", "LCMScheduler"], "text_encoder": ["diffusers", "OnnxRuntimeModel"],
             "tokenizer": ["transformers", "CLIPTokenizer"], "unet": ["diffusers", "OnnxRuntimeModel"],
             "vae_decoder": ["diffusers", "OnnxRuntimeModel"], "vae_encoder": ["diffusers", "OnnxRuntimeModel"]}
    sample = ["batch_size", "num_channels", "height", "width"]
    models = {
        "text_encoder/model.onnx": (G.text_encoder(
            precision=p, opset=op, ids_dtype=G.I32, batch="batch_size", seq="sequence_length", hidden=768,
            outputs=[("last_hidden_state", "hidden", 768), ("pooler_output", "pooled", 768)], seed=21,
            producer=PRODUCER), None),
        "unet/model.onnx": (torch_unet(
            ctx=768, proj="conv", cond_dim=256, seed=22, precision=p, opset=op, sample_dims=sample,
            timestep_dtype=G.F32, timestep_dims=["steps"], ehs_dims=["batch_size", "sequence_length", 768],
            out_dims=sample, extra=[("timestep_cond", ["batch_size", 256])]), "model.onnx_data"),
        "vae_decoder/model.onnx": (G.vae_decoder(
            precision=p, opset=op, in_dims=["batch_size", "num_channels_latent", "height_latent", "width_latent"],
            out_dims=sample, seed=23, producer=PRODUCER), "model.onnx_data"),
        "vae_encoder/model.onnx": (G.vae_encoder(
            precision=p, opset=op, in_dims=sample, out_name="latent_sample",
            out_dims=["batch_size", "num_channels_latent", "height_latent", "width_latent"], out_channels=4,
            seed=24, producer=PRODUCER), None),
    }
    files = {"model_index.json": jdump(index), "scheduler/scheduler_config.json": jdump(sched),
             "unet/config.json": jdump(unet_cfg), "vae_decoder/config.json": jdump(vae_cfg),
             **slow_tokenizer_files("<|endoftext|>", None)}
    real = [{"path": f, "size": None} for f in [
        "model_index.json", "scheduler/scheduler_config.json", "text_encoder/model.onnx", "tokenizer/merges.txt",
        "tokenizer/special_tokens_map.json", "tokenizer/tokenizer_config.json", "tokenizer/vocab.json",
        "unet/config.json", "unet/model.onnx", "unet/model.onnx_data", "vae_decoder/config.json",
        "vae_decoder/model.onnx", "vae_decoder/model.onnx_data", "vae_encoder/model.onnx"]]
    for r in real:
        if r["path"] in ("tokenizer/vocab.json",):
            r["approxSize"] = "1,059,962 bytes if it is the standard CLIP vocab.json (as in SD 2.1 base)"
    return dict(id="lcm-dreamshaper-v7", sources=["arthurohenrique/previa scripts/download-generative-model.ps1 @2364663 (14-file list)",
                         "a public upload script, upload-studio-weights.mjs (builderforce; search-index id 55566833636): unet and vae_decoder model.onnx_data",
                         "dakenf/diffusers.js src/pipelines/LatentConsistencyModelPipeline.ts, common.ts loadModel (feeds, sidecar names, optional config.json)",
                         "SimianLuo/LCM_Dreamshaper_v7 model card via the catalog notes (time_cond_proj_dim 256, 768 px)"], catalogId="lcm-dreamshaper-v7", repo="aislamov/lcm-dreamshaper-v7-onnx",
                revision="main", models=models, files=files, real=real, padTokenId=EOS_ID,
                tokenizerStandin="xenova-clip-vit-base-patch16",
                confidence={"fileList": "high (two independent download lists agree)", "sizes": "unknown (~2.2 GB)",
                            "ioNames": "high (diffusers.js feeds)", "dtypes": "high for feeds (float32 timestep, "
                            "int32 ids, float32 I/O)", "dimNames": "guessed (Optimum style)", "opset": "guessed",
                            "configContents": "partly known: time_cond_proj_dim 256, sample_size 96 (768 px); "
                            "other keys are standard SD 1.5 values, not read from the repo"})


def sd21_base(out: Path) -> dict:
    p, op = "fp16-keepio", 14
    sample = ["batch_size", "num_channels", "height", "width"]
    index = {"_class_name": "OnnxStableDiffusionPipeline", "_diffusers_version": "0.21.4",
             "feature_extractor": [None, None], "requires_safety_checker": False, "safety_checker": [None, None],
             "scheduler": ["diffusers", "PNDMScheduler"], "text_encoder": ["diffusers", "OnnxRuntimeModel"],
             "tokenizer": ["transformers", "CLIPTokenizer"], "unet": ["diffusers", "OnnxRuntimeModel"],
             "vae_decoder": ["diffusers", "OnnxRuntimeModel"], "vae_encoder": ["diffusers", "OnnxRuntimeModel"]}
    models = {
        "text_encoder/model.onnx": (G.text_encoder(
            precision=p, opset=op, ids_dtype=G.I32, batch="batch_size", seq="sequence_length", hidden=1024,
            outputs=[("last_hidden_state", "hidden", 1024), ("pooler_output", "pooled", 1024)], seed=31,
            producer=PRODUCER), None),
        "unet/model.onnx": (torch_unet(
            ctx=1024, proj="linear", seed=32, precision=p, opset=op, sample_dims=sample, timestep_dtype=G.F32,
            timestep_dims=["steps"], ehs_dims=["batch_size", "sequence_length", 1024], out_dims=sample), None),
        "vae_decoder/model.onnx": (G.vae_decoder(
            precision=p, opset=op, in_dims=["batch_size", "num_channels_latent", "height_latent", "width_latent"],
            out_dims=sample, seed=33, producer=PRODUCER), "model.onnx_data"),
        "vae_encoder/model.onnx": (G.vae_encoder(
            precision="fp32", opset=op, in_dims=sample, out_name="latent_sample",
            out_dims=["batch_size", "num_channels_latent", "height_latent", "width_latent"], out_channels=4,
            seed=34, producer=PRODUCER), None),
    }
    files = {"model_index.json": jdump(index), "scheduler/scheduler_config.json": jdump(pndm_sd21()),
             **slow_tokenizer_files("!", "stabilityai/stable-diffusion-2")}
    sizes = {"model_index.json": 587, "scheduler/scheduler_config.json": 341, "tokenizer/merges.txt": 524619,
             "tokenizer/special_tokens_map.json": 460, "tokenizer/tokenizer_config.json": 737,
             "tokenizer/vocab.json": 1059962, "text_encoder/model.onnx": 681552894, "unet/model.onnx": 1750977785,
             "vae_encoder/model.onnx": 136775805, "vae_decoder/model.onnx": 2111342,
             "vae_decoder/model.onnx_data": 97389312}
    real = [{"path": k, "size": v} for k, v in sizes.items()]
    return dict(id="sd-2-1-base", sources=["Verilean/lean-tea-chuhan ChuHan/fetch-models.sh @febad98 (11 files with byte sizes)",
                         "Verilean/lean-tea-chuhan ChuHan/runtime.js (int32 ids, float32 [1] timestep, fp32 I/O, vae sidecar as externalData)",
                         "dakenf/diffusers.js README + src/pipelines/StableDiffusionPipeline.ts (PNDM scheduler, float timestep for SD 2.x)"], catalogId="sd-2-1-base", repo="aislamov/stable-diffusion-2-1-base-onnx",
                revision="main", models=models, files=files, real=real, padTokenId=0,
                tokenizerStandin="xenova-clip-vit-base-patch16",
                confidence={"fileList": "high (byte-exact download list)", "sizes": "exact (one public script)",
                            "ioNames": "high", "dtypes": "high for feeds (float32 [1] timestep, int32 ids)",
                            "dimNames": "guessed (Optimum style)", "opset": "guessed",
                            "precision": "fp16 inferred from byte sizes (vae_encoder is fp32 by its size)",
                            "jsonContents": "scheduler_config (341 B), tokenizer_config (737 B) and "
                            "special_tokens_map (460 B) are reconstructions whose byte size equals the real size; "
                            "model_index (587 B) is one of several reconstructions of that size"})


def sd15_diffusers_script(out: Path) -> dict:
    p, op = "fp32", 14
    dims4 = ["batch", "channels", "height", "width"]
    index = {"_class_name": "StableDiffusionOnnxPipeline", "_diffusers_version": "0.6.0",
             "feature_extractor": ["transformers", "CLIPFeatureExtractor"],
             "safety_checker": ["stable_diffusion", "OnnxRuntimeModel"], "scheduler": ["diffusers", "PNDMScheduler"],
             "text_encoder": ["stable_diffusion", "OnnxRuntimeModel"], "tokenizer": ["transformers", "CLIPTokenizer"],
             "unet": ["stable_diffusion", "OnnxRuntimeModel"], "vae_decoder": ["stable_diffusion", "OnnxRuntimeModel"],
             "vae_encoder": ["stable_diffusion", "OnnxRuntimeModel"]}
    sched = {"_class_name": "PNDMScheduler", "_diffusers_version": "0.6.0", **SCALED_LINEAR, "clip_sample": False,
             "set_alpha_to_one": False, "skip_prk_steps": True, "steps_offset": 1, "trained_betas": None}
    fe = {"crop_size": 224, "do_center_crop": True, "do_normalize": True, "do_resize": True,
          "feature_extractor_type": "CLIPFeatureExtractor", "image_mean": [0.48145466, 0.4578275, 0.40821073],
          "image_std": [0.26862954, 0.26130258, 0.27577711], "resample": 3, "size": 224}
    models = {
        "text_encoder/model.onnx": (G.text_encoder(
            precision=p, opset=op, ids_dtype=G.I32, batch="batch", seq="sequence", hidden=768,
            outputs=[("last_hidden_state", "hidden", 768), ("pooler_output", "pooled", 768)], seed=41,
            producer=PRODUCER), None),
        "unet/model.onnx": (torch_unet(
            ctx=768, proj="conv", seed=42, precision=p, opset=op, sample_dims=dims4, timestep_dtype=G.I64,
            timestep_dims=["batch"], ehs_dims=["batch", "sequence", 768], out_dims=dims4), "weights.pb"),
        "vae_decoder/model.onnx": (G.vae_decoder(
            precision=p, opset=op, in_dims=dims4, out_dims=dims4, seed=43, producer=PRODUCER), None),
        "vae_encoder/model.onnx": (G.vae_encoder(
            precision=p, opset=op, in_dims=dims4, out_name="latent_sample", out_dims=dims4, out_channels=4,
            seed=44, producer=PRODUCER), None),
        "safety_checker/model.onnx": (safety_checker(op), None),
    }
    files = {"model_index.json": jdump(index), "scheduler/scheduler_config.json": jdump(sched),
             "feature_extractor/preprocessor_config.json": jdump(fe),
             **slow_tokenizer_files("<|endoftext|>", "openai/clip-vit-large-patch14")}
    real = [{"path": f, "size": None} for f in [
        "model_index.json", "feature_extractor/preprocessor_config.json", "safety_checker/model.onnx",
        "scheduler/scheduler_config.json", "text_encoder/model.onnx", "tokenizer/merges.txt",
        "tokenizer/special_tokens_map.json", "tokenizer/tokenizer_config.json", "tokenizer/vocab.json",
        "unet/model.onnx", "unet/weights.pb", "vae_decoder/model.onnx", "vae_encoder/model.onnx"]]
    return dict(id="sd-1-5-onnx", sources=["huggingface/diffusers scripts/convert_stable_diffusion_checkpoint_to_onnx.py @066af65 (names, dynamic axes, int32 ids, int64 timestep, weights.pb, opset 14)",
                         "dpps5387690/StableDiffusionFormNet6 README (runwayml/stable-diffusion-v1-5 tree/onnx: unet, vae_decoder, text_encoder, safety_checker)",
                         "dakenf/diffusers.js common.ts loadModel (falls back to <component>/weights.pb)"], catalogId=None, repo="runwayml/stable-diffusion-v1-5", revision="onnx",
                models=models, files=files, real=real, padTokenId=EOS_ID,
                tokenizerStandin="xenova-clip-vit-base-patch16",
                confidence={"fileList": "medium (script output layout; the repo branch itself was not listed)",
                            "sizes": "unknown", "ioNames": "high (script source)",
                            "dtypes": "high (int32 ids, int64 timestep [batch], fp32)",
                            "dimNames": "high for inputs (script dynamic_axes); output dims are the torch "
                            "exporter's own and are guessed here", "opset": "high (script default 14)",
                            "jsonContents": "reconstructed, not read from the repo"})


SD15_NMKD_UNET = dict(ctx=768, proj="conv", seed=72)  # shared by sd-1-5 and its LoRA stand-in


def sd_1_5(out: Path) -> dict:
    """nmkd/stable-diffusion-1.5-onnx-fp16: diffusers' conversion script with --fp16 (weights.pb, int32 ids, fp16
    weights, compute and I/O, float16 timestep [batch]); catalog entry sd-1-5."""
    p, op = "fp16-io", 14
    dims4 = ["batch", "channels", "height", "width"]
    index = {"_class_name": "OnnxStableDiffusionPipeline", "_diffusers_version": "0.11.1",
             "feature_extractor": [None, None], "requires_safety_checker": False, "safety_checker": [None, None],
             "scheduler": ["diffusers", "PNDMScheduler"], "text_encoder": ["diffusers", "OnnxRuntimeModel"],
             "tokenizer": ["transformers", "CLIPTokenizer"], "unet": ["diffusers", "OnnxRuntimeModel"],
             "vae_decoder": ["diffusers", "OnnxRuntimeModel"], "vae_encoder": ["diffusers", "OnnxRuntimeModel"]}
    sched = {"_class_name": "PNDMScheduler", "_diffusers_version": "0.11.1", **SCALED_LINEAR, "clip_sample": False,
             "prediction_type": "epsilon", "set_alpha_to_one": False, "skip_prk_steps": True, "steps_offset": 1,
             "trained_betas": None}
    models = {
        "text_encoder/model.onnx": (G.text_encoder(
            precision=p, opset=op, ids_dtype=G.I32, batch="batch", seq="sequence", hidden=768,
            outputs=[("last_hidden_state", "hidden", 768), ("pooler_output", "pooled", 768)], seed=71,
            producer=PRODUCER), None),
        "unet/model.onnx": (torch_unet(
            **SD15_NMKD_UNET, precision=p, opset=op, sample_dims=dims4, timestep_dtype=G.F16,
            timestep_dims=["batch"], ehs_dims=["batch", "sequence", 768], out_dims=dims4), "weights.pb"),
        "vae_decoder/model.onnx": (G.vae_decoder(
            precision=p, opset=op, in_dims=dims4, out_dims=dims4, seed=73, producer=PRODUCER), None),
        "vae_encoder/model.onnx": (G.vae_encoder(
            precision=p, opset=op, in_dims=dims4, out_name="latent_sample", out_dims=dims4, out_channels=4,
            seed=74, producer=PRODUCER), None),
    }
    files = {"model_index.json": jdump(index), "scheduler/scheduler_config.json": jdump(sched),
             **slow_tokenizer_files("<|endoftext|>", "openai/clip-vit-large-patch14")}
    # Byte sizes: a public downloader's file table (search-index file 61677984112); vocab/merges equal the standard
    # CLIP files (the same sizes as SD 2.1 base's). The other files are inferred from the conversion script.
    sizes = {"text_encoder/model.onnx": 246476214, "unet/model.onnx": 1217704, "unet/weights.pb": 1718976000,
             "vae_decoder/model.onnx": 99094195, "vae_encoder/model.onnx": 68430493, "tokenizer/vocab.json": 1059962,
             "tokenizer/merges.txt": 524619, "model_index.json": None, "scheduler/scheduler_config.json": None,
             "tokenizer/tokenizer_config.json": None, "tokenizer/special_tokens_map.json": None}
    real = [{"path": k, "size": v} for k, v in sizes.items()]
    return dict(id="sd-1-5", sources=["a public downloader's file table for nmkd/stable-diffusion-1.5-onnx-fp16 (search-index file 61677984112: exact bytes of text_encoder, unet/model.onnx + unet/weights.pb, vae_decoder, vae_encoder, vocab.json, merges.txt)",
                         "a public C# diffusers port's docs (search-index file 70410885492): the repo loads with diffusers' OnnxStableDiffusionPipeline layout, reads scheduler/scheduler_config.json, float16 'all the way down, including the timestep'; its LoRA loader maps kohya / PEFT keys through node names",
                         "a public README (search-index file 59106673110): UNet input sample tensor(float16), 1.7 GB, external data in unet/weights.pb",
                         "huggingface/diffusers scripts/convert_stable_diffusion_checkpoint_to_onnx.py (--fp16: float16 sample / timestep [batch] / encoder_hidden_states, int32 input_ids, weights.pb, opset 14)"],
                catalogId="sd-1-5", repo="nmkd/stable-diffusion-1.5-onnx-fp16", revision="main", models=models,
                files=files, real=real, padTokenId=EOS_ID, tokenizerStandin="xenova-clip-vit-base-patch16",
                confidence={"fileList": "high for the graphs, weights.pb and vocab/merges (a byte-exact download table); "
                            "model_index, scheduler and tokenizer configs inferred (the conversion script writes them)",
                            "sizes": "exact for 7 files (one public table)", "ioNames": "high (conversion script)",
                            "dtypes": "sample float16 observed; timestep / hidden states float16 and int32 ids from "
                            "the --fp16 script and a port's docs", "dimNames": "script dynamic_axes for inputs; "
                            "output dims guessed", "opset": "guessed (script default 14)",
                            "nodeNames": "unverified: module-scoped node names (/down_blocks.0/...) need torch >= 1.13 "
                            "at export time; the stand-in has them",
                            "jsonContents": "reconstructed (PNDM is SD 1.5's scheduler), not read from the repo"})


def lcm_lora_sdv1_5(out: Path) -> dict:
    """A stand-in of latent-consistency/lcm-lora-sdv1-5 for the sd-1-5 stand-in's U-Net: the published file's key
    layout (kohya keys with diffusers module paths, lora_down / lora_up / 0-dim alpha, every tensor float16,
    metadata {"format": "pt"}, written as safetensors.torch.save_file writes) on every LCM-LoRA target the tiny U-Net
    has; rank 4 with alpha 0.5, the published rank 64 / alpha 8 ratio (alpha / r = 1/8), so a loader that ignores
    alpha is 8x off. Also writes real-header.json: the published file's own header, rebuilt (see
    real_lcm_lora_sd15_header), for tests of the key set."""
    rank, alpha = 4, 0.5

    def lora_bytes() -> bytes:
        import torch_unet as TU
        unet = TU.build(ctx_dim=SD15_NMKD_UNET["ctx"], seed=SD15_NMKD_UNET["seed"], proj=SD15_NMKD_UNET["proj"])
        rng = np.random.default_rng(81)
        tensors = {}
        targets = TU.lora_targets(unet, LCM_LORA_TARGETS)
        graph = _load_graph(out / "sd-1-5" / "unet" / "model.onnx")
        for path, m in targets:
            conv = hasattr(m, "kernel_size")
            cin, cout = (m.in_channels, m.out_channels) if conv else (m.in_features, m.out_features)
            k = m.kernel_size[0] if conv else 1
            found = TU.weight_of(graph, path)  # the key must map to a weight of the exported graph, shape-consistent
            if found is None:
                raise AssertionError(f"LoRA target {path} has no weight in the sd-1-5 stand-in graph")
            want = (cout, cin, k, k) if conv else ((cin, cout) if found[2] == "matmul" else (cout, cin))
            if tuple(found[1]) != want:
                raise AssertionError(f"{path}: graph weight {found[1]} != {want}")
            key = "lora_unet_" + path.replace(".", "_")
            down = rng.standard_normal((rank, cin, k, k) if conv else (rank, cin)) / np.sqrt(cin * k * k)
            up = rng.standard_normal((cout, rank, 1, 1) if conv else (cout, rank)) * 0.5
            tensors[f"{key}.lora_down.weight"] = down.astype(np.float16)
            tensors[f"{key}.lora_up.weight"] = up.astype(np.float16)
            tensors[f"{key}.alpha"] = np.array(alpha, dtype=np.float16)
        lora_bytes.modules = [p for p, _ in targets]
        return hf_safetensors(tensors, {"format": "pt"})

    header = real_lcm_lora_sd15_header()
    real_header = json.loads(header)
    files = {"pytorch_lora_weights.safetensors": lora_bytes, "real-header.json": header.decode()}
    return dict(id="lcm-lora-sdv1-5", kind="lora", sources=[
        "latent-consistency/lcm-lora-sdv1-5 pytorch_lora_weights.safetensors: size 134,621,556, sha256 8f90d840..., "
        "revision cf2fced5, header 116,544 bytes with sha256 3ca15dde..., 834 tensors (a public download manifest, "
        "search-index file 69708510670; size and sha256 also in files 70893122750, 60862369795, 61370990305)",
        "luosiallen/latent-consistency-model issue #57: the published file's keys look like "
        "lora_unet_up_blocks_2_attentions_0_proj_in.lora_up.weight",
        "luosiallen/latent-consistency-model LCM_Training_Script/consistency_distillation/"
        "train_lcm_distill_lora_sd_wds.py @a9ad795 (get_module_kohya_state_dict: lora_down / lora_up / alpha = "
        "LoraConfig.lora_alpha; LoraConfig(r=64, target_modules=...) without lora_alpha, so PEFT's default 8)",
        "rebuilt header = the published header byte for byte (length and sha256), so keys, shapes and dtypes are "
        "the real ones"],
        catalogId="lcm-lora-sdv1-5", repo="latent-consistency/lcm-lora-sdv1-5", revision="main", models={},
        files=files, real=[{k: v for k, v in LCM_LORA_SD15_REAL.items() if k != "revision"}], padTokenId=None,
        tokenizerStandin=None,
        confidence={"keyLayout": "exact (header rebuilt byte for byte)", "alpha": "present as .alpha keys (0-dim "
                    "float16); value 8 inferred (PEFT default, the script sets none), not read",
                    "rank": "64 for every module (from the header)", "standinRank": f"{rank}, alpha {alpha}"},
        extra=lambda: {"base": {"standin": "sd-1-5", "graph": "unet/model.onnx"},
                       "lora": {"format": "kohya", "rank": rank, "alpha": alpha, "dtype": "F16",
                                "metadata": {"format": "pt"}, "targets": list(LCM_LORA_TARGETS),
                                "modules": getattr(lora_bytes, "modules", [])},
                       "realHeader": {"path": "real-header.json", "bytes": len(header),
                                      "sha256": hashlib.sha256(header).hexdigest(),
                                      "tensors": len(real_header) - 1,
                                      "modules": sum(k.endswith(".alpha") for k in real_header)}})


def _load_graph(path: Path):
    import onnx
    return onnx.load(str(path))  # with its external data (weights.pb) from the same folder


def safety_checker(op: int):
    """clip_input, images -> out_images, has_nsfw_concepts (as in diffusers' conversion script)."""
    from onnx import TensorProto, helper
    import numpy as np
    b = G.Builder("safety_checker_standin", "fp32", 45)
    clip = b.graph_input("clip_input", G.F32, ["batch", "channels", "height", "width"])
    img = b.graph_input("images", G.F32, ["batch", "channels", "height", "width"])
    b.nodes.append(helper.make_node("Identity", [img], ["out_images"], name="/Identity_out"))
    b.outputs.append(helper.make_tensor_value_info("out_images", G.F32, ["batch", "channels", "height", "width"]))
    score = b.op("ReduceMax", [clip], axes=[1, 2, 3], keepdims=0)
    b.nodes.append(helper.make_node("Greater", [score, b.const("nsfw_threshold", np.array([1e9], np.float32))],
                                    ["has_nsfw_concepts"], name="/Greater_out"))
    b.outputs.append(helper.make_tensor_value_info("has_nsfw_concepts", TensorProto.BOOL, ["batch"]))
    return b.model(op, PRODUCER)


def optimum_sd_turbo(out: Path) -> dict:
    p, op = "fp32", 14
    te_cfg = {"_name_or_path": "stabilityai/sd-turbo", "architectures": ["CLIPTextModel"], "attention_dropout": 0.0,
              "bos_token_id": 0, "dropout": 0.0, "eos_token_id": 2, "hidden_act": "gelu", "hidden_size": 1024,
              "initializer_factor": 1.0, "initializer_range": 0.02, "intermediate_size": 4096,
              "layer_norm_eps": 1e-05, "max_position_embeddings": 77, "model_type": "clip_text_model",
              "num_attention_heads": 16, "num_hidden_layers": 23, "pad_token_id": 1, "projection_dim": 512,
              "torch_dtype": "float32", "transformers_version": "4.48.0", "vocab_size": 49408}
    unet_cfg = {"_class_name": "UNet2DConditionModel", "_diffusers_version": "0.32.2", "attention_head_dim": [5, 10, 20, 20],
                "block_out_channels": [320, 640, 1280, 1280], "cross_attention_dim": 1024, "in_channels": 4,
                "out_channels": 4, "sample_size": 64, "time_cond_proj_dim": None}
    vae_cfg = {"_class_name": "AutoencoderKL", "_diffusers_version": "0.32.2", "block_out_channels": [128, 256, 512, 512],
               "in_channels": 3, "latent_channels": 4, "out_channels": 3, "sample_size": 768, "scaling_factor": 0.18215}
    sched = {"_class_name": "EulerDiscreteScheduler", "_diffusers_version": "0.32.2", **SCALED_LINEAR,
             "interpolation_type": "linear", "prediction_type": "epsilon", "set_alpha_to_one": False,
             "steps_offset": 1, "timestep_spacing": "trailing", "trained_betas": None, "use_karras_sigmas": False}
    index = {"_class_name": "ORTStableDiffusionPipeline", "_diffusers_version": "0.32.2",
             "scheduler": ["diffusers", "EulerDiscreteScheduler"], "text_encoder": ["optimum", "ORTModelTextEncoder"],
             "tokenizer": ["transformers", "CLIPTokenizer"], "unet": ["optimum", "ORTModelUnet"],
             "vae_decoder": ["optimum", "ORTModelVaeDecoder"], "vae_encoder": ["optimum", "ORTModelVaeEncoder"]}
    models = {
        "text_encoder/model.onnx": (G.text_encoder(
            precision=p, opset=op, ids_dtype=G.I64, batch="batch_size", seq="sequence_length", hidden=1024,
            outputs=[("last_hidden_state", "hidden", 1024), ("pooler_output", "pooled", 1024)], seed=51,
            producer=PRODUCER), None),
        "unet/model.onnx": (torch_unet(
            ctx=1024, proj="linear", seed=52, precision=p, opset=op, sample_dims=["batch_size", 4, "height", "width"],
            timestep_dtype=G.F32, timestep_dims=[], ehs_dims=["batch_size", "sequence_length", 1024],
            out_dims=["batch_size", 4, "height", "width"]), "model.onnx_data"),
        "vae_decoder/model.onnx": (G.vae_decoder(
            precision=p, opset=op, in_dims=["batch_size", 4, "height_latent", "width_latent"],
            out_dims=["batch_size", 3, "height", "width"], seed=53, producer=PRODUCER), None),
        "vae_encoder/model.onnx": (G.vae_encoder(
            precision=p, opset=op, in_dims=["batch_size", 3, "height", "width"], out_name="latent_parameters",
            out_dims=["batch_size", 8, "height_latent", "width_latent"], out_channels=8, seed=54,
            producer=PRODUCER), None),
    }
    files = {"model_index.json": jdump(sorted_dict(index)), "scheduler/scheduler_config.json": jdump(sched),
             "text_encoder/config.json": jdump(te_cfg), "unet/config.json": jdump(unet_cfg),
             "vae_decoder/config.json": jdump(vae_cfg), "vae_encoder/config.json": jdump(vae_cfg),
             **slow_tokenizer_files("!", "stabilityai/sd-turbo")}
    real = [{"path": f, "size": None} for f in [
        "model_index.json", "scheduler/scheduler_config.json", "text_encoder/config.json", "text_encoder/model.onnx",
        "tokenizer/merges.txt", "tokenizer/special_tokens_map.json", "tokenizer/tokenizer_config.json",
        "tokenizer/vocab.json", "unet/config.json", "unet/model.onnx", "unet/model.onnx_data",
        "vae_decoder/config.json", "vae_decoder/model.onnx", "vae_encoder/config.json", "vae_encoder/model.onnx"]]
    return dict(id="optimum-1.24-sd-turbo", sources=["huggingface/optimum v1.24.0 optimum/exporters/onnx/model_configs.py (UNetOnnxConfig, VaeDecoderOnnxConfig, CLIPTextOnnxConfig)",
                         "huggingface/optimum v1.24.0 optimum/utils/input_generators.py (rank-0 float timestep, int64 ids)",
                         "huggingface/optimum v1.24.0 optimum/onnxruntime/modeling_diffusion.py _save_pretrained, exporters/onnx/convert.py (model.onnx_data)"], catalogId=None,
                repo="(local) optimum-cli export onnx --model stabilityai/sd-turbo, optimum >= 1.24", revision=None,
                models=models, files=files, real=real, padTokenId=0, tokenizerStandin=None,
                confidence={"fileList": "high (optimum _save_pretrained)", "sizes": "n/a (a local export)",
                            "ioNames": "high (optimum model_configs.py)", "dimNames": "high (optimum 1.24)",
                            "dtypes": "high (rank-0 float timestep since 1.24, int64 ids)",
                            "opset": "high (DEFAULT_ONNX_OPSET 14)",
                            "jsonContents": "key values only, not a byte copy of a real export"})


def sdxl_turbo(out: Path) -> dict:
    p, op = "fp16-io", 17
    s = ["unet_sample_batch", "unet_sample_channels", "unet_sample_height", "unet_sample_width"]
    models = {
        "onnx/text_encoder_model_q4f16.onnx": (G.text_encoder(
            precision=p, opset=op, ids_dtype=G.I32, batch="batch_size", seq="sequence_length", hidden=768,
            outputs=[("hidden_states.11", "hidden", 768)], seed=61, producer=PRODUCER), None),
        "onnx/text_encoder_2_model_q4f16.onnx": (G.text_encoder(
            precision=p, opset=op, ids_dtype=G.I64, batch="batch_size", seq="sequence_length", hidden=1280,
            outputs=[("hidden_states.31", "hidden", 1280), ("text_embeds", "projected", 1280)], seed=62,
            producer=PRODUCER), None),
        "onnx/unet_model_q4f16.onnx": (G.unet(
            precision=p, opset=op, sample_dims=s, timestep_dtype=G.F16, timestep_dims=["unet_time_batch"],
            ehs_dims=["unet_hidden_batch", "unet_hidden_sequence", 2048], out_dims=s,
            extra=[("text_embeds", ["unet_text_embeds_batch", "unet_text_embeds_size"], 1280, 1.0),
                   ("time_ids", ["unet_time_ids_batch", "unet_time_ids_size"], 6, 1.0 / 512)],
            seed=63, producer=PRODUCER), None),
        "onnx/vae_decoder_model_q4f16.onnx": (G.vae_decoder(
            precision=p, opset=op, in_dims=["batch_size", "num_channels_latent", "height_latent", "width_latent"],
            out_dims=["batch_size", "num_channels", "height", "width"], seed=64, producer=PRODUCER), None),
    }
    files = {**fast_tokenizer_files("tokenizer", "<|endoftext|>", False),
             **fast_tokenizer_files("tokenizer_2", "!", True)}
    # Exact sizes: a public web app's model list (search-index file 51903791962), agreeing with the demo's MiB labels.
    real = [{"path": "onnx/text_encoder_model_q4f16.onnx", "size": 124433929, "approxSize": "118MB"},
            {"path": "onnx/text_encoder_model_qdq_q4f16.onnx", "size": None},
            {"path": "onnx/text_encoder_2_model_q4f16.onnx", "size": 483677630, "approxSize": "461MB"},
            {"path": "onnx/text_encoder_2_model_qdq_q4f16.onnx", "size": None},
            {"path": "onnx/unet_model_q4f16.onnx", "size": 1965607674, "approxSize": "1.83GB"},
            {"path": "onnx/unet_model_qdq_q4f16.onnx", "size": None},
            {"path": "onnx/vae_decoder_model_q4f16.onnx", "size": 97617257, "approxSize": "93MB"},
            {"path": "onnx/vae_decoder_model_qdq_q4f16.onnx", "size": None},
            {"path": "onnx/concat_model_f16.onnx", "size": None, "approxSize": "1KB"},
            {"path": "onnx/latents_model_f16.onnx", "size": None, "approxSize": "1KB"},
            {"path": "onnx/scheduler_model_f16.onnx", "size": None, "approxSize": "1KB"},
            {"path": "onnx/sc_prep_model_f16.onnx", "size": None, "approxSize": "1KB"},
            {"path": "onnx/safety_checker_model_f16.onnx", "size": None, "approxSize": "580MB"},
            {"path": "tokenizer/tokenizer.json", "size": 2224108, "note": "in the demo repo (GitHub), not the HF repo"},
            {"path": "tokenizer/tokenizer_config.json", "size": 704, "note": "demo repo"},
            {"path": "tokenizer_2/tokenizer.json", "size": 2224281, "note": "demo repo"},
            {"path": "tokenizer_2/tokenizer_config.json", "size": 855, "note": "demo repo"}]
    return dict(id="sdxl-turbo", sources=["microsoft/webnn-developer-preview demos/sdxl-turbo/index.js @fedae01 (files, dtypes, dims, freeDimensionOverrides)",
                         "microsoft/webnn-developer-preview fetch_models.js (HF file list of webnn/sdxl-turbo)",
                         "microsoft/webnn-developer-preview demos/sdxl-turbo/models/tokenizer{,_2}/ (tokenizer.json, tokenizer_config.json)",
                         "exact sizes of the four q4f16 graphs: a public web app's model list (search-index file 51903791962)"], catalogId="sdxl-turbo", repo="webnn/sdxl-turbo", revision="main", models=models,
                files=files, real=real, padTokenId={"tokenizer": EOS_ID, "tokenizer_2": 0}, tokenizerStandin=None,
                confidence={"fileList": "high for the 4 main graphs + helpers (fetch_models.js, demo index.js); "
                            "qdq variants, helper graphs and the safety checker are not in the stand-in",
                            "sizes": "exact for the four q4f16 graphs (one public list, agreeing with the demo's "
                            "MiB labels); others unknown", "ioNames": "high (demo feeds/fetches)",
                            "dtypes": "high (float16 I/O, int32 ids for encoder 1, int64 for encoder 2, "
                            "float16 timestep [1])", "dimNames": "high for the UNet and text encoders "
                            "(freeDimensionOverrides); output dims guessed",
                            "opset": "guessed (17)", "weights": "real graphs are q4f16 (4-bit MatMulNBits + fp16); "
                            "the stand-in uses plain fp16 initializers"})


def xenova_clip(out: Path) -> dict:
    return dict(id="xenova-clip-vit-base-patch16", sources=["microsoft/onnxruntime-inference-examples js/sd-turbo/index.js (AutoTokenizer.from_pretrained('Xenova/clip-vit-base-patch16'))",
                         "huggingface/transformers.js packages/transformers/tests/models/clip/test_tokenization_clip.js (golden ids for this tokenizer)"], catalogId=None, repo="Xenova/clip-vit-base-patch16",
                revision="main", models={}, files=fast_tokenizer_files("", "<|endoftext|>", False),
                real=[{"path": "tokenizer.json", "size": None}, {"path": "tokenizer_config.json", "size": None}],
                padTokenId=EOS_ID, tokenizerStandin=None,
                confidence={"fileList": "high (the catalog and the ORT example load tokenizer.json + "
                            "tokenizer_config.json from it)", "sizes": "unknown",
                            "contents": "tokenizer.json structure as published CLIP tokenizer.json files; the vocab "
                            "is the stand-in subset"},
                note="tokenizer-only repo the catalog uses for SD-Turbo, LCM and SD 2.1 (pad id overridden per "
                     "model: 0 for SD 2.x/SD-Turbo, 49407 for SD 1.x)")


# Order matters: a LoRA stand-in is checked against the graph of its base stand-in, written before it.
STANDINS = [sd_turbo, lcm_dreamshaper, sd21_base, sd15_diffusers_script, sd_1_5, lcm_lora_sdv1_5, optimum_sd_turbo,
            sdxl_turbo, xenova_clip]

GIB = 1 << 30
LARGE_OUT = HERE.parent / "fixtures" / "generated" / "standins-large"


def sd_turbo_large(out: Path, gib: float, precision: str = "fp16") -> dict:
    """The sd-turbo stand-in with a UNet as heavy as a real one: at least `gib` GiB of weights (a chain of
    1024x1024 MatMul blocks, graphs.unet(bulk_bytes=...)) kept in unet/model.onnx_data, for the load-memory bench
    (bench/memory.mjs, issue 12 item 6). precision "fp16" (as the real export: fp16 weights, fp32 I/O through Casts;
    id sd-turbo-large) or "fp32" (id sd-turbo-large-fp32: weights onnxruntime's WASM kernels use as they are, which
    separates the loader's own memory from the fp16 -> fp32 conversion onnxruntime does for WASM).
    Not a catalog mimic: the real SD-Turbo UNet is one ~1.73 GB file."""
    spec = sd_turbo(out)
    spec["models"]["unet/model.onnx"] = (G.unet(
        precision="fp16-keepio" if precision == "fp16" else "fp32", opset=14,
        sample_dims=["batch_size", "num_channels", "height", "width"],
        timestep_dtype=G.I64, timestep_dims=["steps"], ehs_dims=["batch_size", "sequence_length", 1024],
        out_dims=["batch_size", "num_channels", "height", "width"], seed=12, producer=PRODUCER,
        bulk_bytes=int(gib * GIB)), "model.onnx_data")
    spec["id"] = "sd-turbo-large" if precision == "fp16" else "sd-turbo-large-fp32"
    # A complete diffusers folder (the sd-turbo repo has no model_index.json, scheduler config or tokenizer; the
    # catalog supplies them), so the bench and the CLI can load it as a plain local folder.
    index = {"_class_name": "OnnxStableDiffusionPipeline", "_diffusers_version": "0.30.0",
             "scheduler": ["diffusers", "EulerDiscreteScheduler"], "text_encoder": ["diffusers", "OnnxRuntimeModel"],
             "tokenizer": ["transformers", "CLIPTokenizer"], "unet": ["diffusers", "OnnxRuntimeModel"],
             "vae_decoder": ["diffusers", "OnnxRuntimeModel"]}
    sched = {"_class_name": "EulerDiscreteScheduler", "_diffusers_version": "0.30.0", **SCALED_LINEAR,
             "prediction_type": "epsilon", "timestep_spacing": "trailing"}
    spec["files"] = {"model_index.json": jdump(index), "scheduler/scheduler_config.json": jdump(sched),
                     **fast_tokenizer_files("tokenizer", "!", False)}
    spec["note"] = (f"Memory-bench variant of sd-turbo: the UNet carries >= {gib:g} GiB of random {precision} weights in "
                    "unet/model.onnx_data (a real SD-Turbo UNet is one ~1.73 GB file; the sidecar exercises the "
                    "external-data path). Interface as the sd-turbo stand-in.")
    return spec


# ------------------------------------------------------------------------------------------------------ writing
def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def write_standin(spec: dict, root: Path) -> dict:
    d = root / spec["id"]
    if d.exists():
        shutil.rmtree(d)
    d.mkdir(parents=True)
    written: list[Path] = []
    signatures = {}
    for rel, (model, sidecar) in spec["models"].items():
        if callable(model):  # built lazily (torch U-Nets)
            model = model()
        model.doc_string = f"Fewstep stand-in (random weights) of {spec['repo']} {rel}; see training/standins/EVIDENCE.md"
        written += G.save(model, d / rel, sidecar)
        signatures[rel] = {**G.describe(model), "externalData": sidecar,
                           "weightPrecision": "fp16" if any(t.data_type == G.F16 for t in model.graph.initializer)
                           else "fp32"}
    for rel, content in spec["files"].items():
        p = d / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        if callable(content):  # built lazily (LoRA files, after their base stand-in is written)
            content = content()
        if isinstance(content, bytes):
            p.write_bytes(content)
        else:
            p.write_text(content, encoding="utf-8")
        written.append(p)
    own = sorted({p.relative_to(d).as_posix() for p in written})
    manifest = {
        "schemaVersion": SCHEMA,
        "id": spec["id"],
        "kind": spec.get("kind", "pipeline"),
        "mimics": {"catalogId": spec["catalogId"], "repo": spec["repo"], "revision": spec["revision"]},
        "padTokenId": spec["padTokenId"],
        "tokenizerStandin": spec.get("tokenizerStandin"),
        "realFiles": spec["real"],
        "realFilesMissingFromStandin": sorted({r["path"] for r in spec["real"]} - set(own)),
        "standinFiles": [{"path": rel, "size": (d / rel).stat().st_size, "sha256": sha256(d / rel)} for rel in own],
        "graphs": signatures,
        "confidence": spec["confidence"],
        "sources": spec.get("sources", []),
        "evidence": "training/standins/EVIDENCE.md#" + spec["id"],
    }
    if spec.get("note"):
        manifest["note"] = spec["note"]
    if spec.get("extra"):  # kind-specific fields (LoRA: base stand-in, format, rank, alpha, modules, real header)
        extra = spec["extra"]
        manifest.update(extra() if callable(extra) else extra)
    (d / "standin.json").write_text(jdump(manifest), encoding="utf-8")
    return manifest


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, default=None,
                    help="output folder (default fixtures/generated/standins; with --large-unet-gib, standins-large)")
    ap.add_argument("--only", nargs="*", help="stand-in ids to build (default: all)")
    ap.add_argument("--large-unet-gib", type=float, default=None, metavar="GIB",
                    help="instead of the catalog stand-ins, build only sd-turbo-large: the sd-turbo stand-in with at "
                         f"least GIB GiB of fp16 UNet weights in unet/model.onnx_data (default --out {LARGE_OUT})")
    ap.add_argument("--large-precision", choices=["fp16", "fp32"], default="fp16",
                    help="weight precision of that UNet; fp32 builds sd-turbo-large-fp32 (default fp16)")
    args = ap.parse_args()
    if args.large_unet_gib is not None:
        if not args.large_unet_gib > 0:
            ap.error("--large-unet-gib needs a positive size in GiB, e.g. 1")
        out = args.out or LARGE_OUT
        out.mkdir(parents=True, exist_ok=True)
        m = write_standin(sd_turbo_large(out, args.large_unet_gib, args.large_precision), out)
        size = sum(f["size"] for f in m["standinFiles"])
        print(f"{m['id']:32s} {len(m['standinFiles']):3d} files {size / GIB:6.3f} GiB in {out}")
        return
    args.out = args.out or HERE.parent / "fixtures" / "generated" / "standins"
    args.out.mkdir(parents=True, exist_ok=True)
    _, _, checkable = V.build()
    index = []
    total = 0
    for make in STANDINS:
        spec = make(args.out)
        if args.only and spec["id"] not in args.only:
            continue
        m = write_standin(spec, args.out)
        size = sum(f["size"] for f in m["standinFiles"])
        total += size
        index.append({"id": m["id"], "kind": m["kind"], "mimics": m["mimics"], "bytes": size,
                      "files": len(m["standinFiles"])})
        print(f"{m['id']:32s} {len(m['standinFiles']):3d} files {size / 1e6:6.2f} MB")
    index_path = args.out / "index.json"
    if args.only and index_path.exists():  # --only rebuilds some: keep the index entries of the others
        rebuilt = {e["id"] for e in index}
        kept = [e for e in json.loads(index_path.read_text(encoding="utf-8"))["standins"] if e["id"] not in rebuilt]
        index = kept + index
    index_path.write_text(jdump({"schemaVersion": SCHEMA, "standins": index,
                                                "tokenizerGoldenCasesReproducedByStandinVocab": checkable}),
                                         encoding="utf-8")
    print(f"total {total / 1e6:.2f} MB in {args.out}")


if __name__ == "__main__":
    main()
