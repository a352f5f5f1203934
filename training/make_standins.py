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
Needs only numpy + onnx (Debian python3-onnx); deterministic (fixed seeds); the whole set is well under 20 MB.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import sys
from pathlib import Path

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


# ---------------------------------------------------------------------------------------------- stand-in specs
def sd_turbo(out: Path) -> dict:
    p, op = "fp16-keepio", 14
    models = {
        "text_encoder/model.onnx": (G.text_encoder(
            precision=p, opset=op, ids_dtype=G.I32, batch="batch_size", seq="sequence_length", hidden=1024,
            outputs=[("last_hidden_state", "hidden", 1024), ("pooler_output", "pooled", 1024)], seed=11,
            producer=PRODUCER), None),
        "unet/model.onnx": (G.unet(
            precision=p, opset=op, sample_dims=["batch_size", "num_channels", "height", "width"],
            timestep_dtype=G.I64, timestep_dims=["steps"],
            ehs_dims=["batch_size", "sequence_length", 1024],
            out_dims=["batch_size", "num_channels", "height", "width"], seed=12, producer=PRODUCER), None),
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
        "unet/model.onnx": (G.unet(
            precision=p, opset=op, sample_dims=sample, timestep_dtype=G.F32, timestep_dims=["steps"],
            ehs_dims=["batch_size", "sequence_length", 768], out_dims=sample,
            extra=[("timestep_cond", ["batch_size", 256], 256, 1.0)], seed=22, producer=PRODUCER),
            "model.onnx_data"),
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
        "unet/model.onnx": (G.unet(
            precision=p, opset=op, sample_dims=sample, timestep_dtype=G.F32, timestep_dims=["steps"],
            ehs_dims=["batch_size", "sequence_length", 1024], out_dims=sample, seed=32, producer=PRODUCER), None),
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
        "unet/model.onnx": (G.unet(
            precision=p, opset=op, sample_dims=dims4, timestep_dtype=G.I64, timestep_dims=["batch"],
            ehs_dims=["batch", "sequence", 768], out_dims=dims4, seed=42, producer=PRODUCER), "weights.pb"),
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
        "unet/model.onnx": (G.unet(
            precision=p, opset=op, sample_dims=["batch_size", 4, "height", "width"], timestep_dtype=G.F32,
            timestep_dims=[], ehs_dims=["batch_size", "sequence_length", 1024],
            out_dims=["batch_size", 4, "height", "width"], seed=52, producer=PRODUCER), "model.onnx_data"),
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


STANDINS = [sd_turbo, lcm_dreamshaper, sd21_base, sd15_diffusers_script, optimum_sd_turbo, sdxl_turbo, xenova_clip]

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
        model.doc_string = f"Fewstep stand-in (random weights) of {spec['repo']} {rel}; see training/standins/EVIDENCE.md"
        written += G.save(model, d / rel, sidecar)
        signatures[rel] = {**G.describe(model), "externalData": sidecar,
                           "weightPrecision": "fp16" if any(t.data_type == G.F16 for t in model.graph.initializer)
                           else "fp32"}
    for rel, text in spec["files"].items():
        p = d / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text, encoding="utf-8")
        written.append(p)
    own = sorted({p.relative_to(d).as_posix() for p in written})
    manifest = {
        "schemaVersion": SCHEMA,
        "id": spec["id"],
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
        index.append({"id": m["id"], "mimics": m["mimics"], "bytes": size, "files": len(m["standinFiles"])})
        print(f"{m['id']:32s} {len(m['standinFiles']):3d} files {size / 1e6:6.2f} MB")
    (args.out / "index.json").write_text(jdump({"schemaVersion": SCHEMA, "standins": index,
                                                "tokenizerGoldenCasesReproducedByStandinVocab": checkable}),
                                         encoding="utf-8")
    print(f"total {total / 1e6:.2f} MB in {args.out}")


if __name__ == "__main__":
    main()
