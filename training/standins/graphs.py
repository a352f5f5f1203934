"""Tiny random-weight ONNX graphs with the signatures of real diffusers-layout exports.

Every graph is a few ops, but each output depends on every input (prompt ids, latents, timestep, conditioning),
so a wrong wiring (swapped inputs, wrong pad id, wrong dtype conversion, CFG halves mixed up) changes the image.

Precision modes (what the real exports do, see EVIDENCE.md):
  "fp32"          fp32 weights, fp32 I/O (diffusers conversion script, Optimum without --dtype fp16)
  "fp16-keepio"   fp16 weights, fp32 graph inputs/outputs with Cast nodes right after the inputs and right before
                  the outputs (onnxruntime transformers optimizer convert_float_to_float16(keep_io_types=True))
  "fp16-io"       fp16 weights and fp16 graph inputs/outputs (webnn/sdxl-turbo)
Inside, these graphs compute in fp32 (each fp16 initializer goes through a Cast); real fp16 exports compute in fp16
and need WebGPU shader-f16. The I/O types, Cast nodes at the boundary and fp16 initializers are as in the real files.
(onnxruntime-web's WASM engine does run fp16 graphs, casting around kernels it lacks: the U-Nets of the diffusers
exports are torch exports converted to fp16 throughout, standins/torch_unet.py.)
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence, Union

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

Dim = Union[int, str]
F32, F16, I32, I64 = TensorProto.FLOAT, TensorProto.FLOAT16, TensorProto.INT32, TensorProto.INT64
DTYPE_NAMES = {F32: "float32", F16: "float16", I32: "int32", I64: "int64", TensorProto.BOOL: "bool"}
VOCAB_ROWS = 49408
EMB = 4  # stand-in token embedding width (real: 768 / 1024 / 1280); projected up to the real hidden size


class Builder:
    def __init__(self, name: str, precision: str, seed: int):
        assert precision in ("fp32", "fp16-keepio", "fp16-io")
        self.name = name
        self.precision = precision
        self.rng = np.random.default_rng(seed)
        self.nodes: list[onnx.NodeProto] = []
        self.inits: list[onnx.TensorProto] = []
        self.inputs: list[onnx.ValueInfoProto] = []
        self.outputs: list[onnx.ValueInfoProto] = []
        self.count = 0

    @property
    def io_float(self) -> int:
        return F16 if self.precision == "fp16-io" else F32

    def _uid(self, prefix: str) -> str:
        self.count += 1
        return f"{prefix}_{self.count}"

    def op(self, op_type: str, inputs: Sequence[str], n_out: int = 1, **attrs) -> str:
        name = self._uid(f"/{op_type}")
        outs = [f"{name}_output_{i}" for i in range(n_out)]
        self.nodes.append(helper.make_node(op_type, list(inputs), outs, name=name, **attrs))
        return outs[0]

    def const(self, name: str, array: np.ndarray) -> str:
        self.inits.append(numpy_helper.from_array(array, name))
        return name

    def weight(self, name: str, shape: Sequence[int], scale: float) -> str:
        """A random weight stored in the export's weight precision; returns an fp32 value name."""
        arr = (self.rng.standard_normal(tuple(shape)) * scale).astype(np.float32)
        if self.precision == "fp32":
            return self.const(name, arr)
        self.const(name, arr.astype(np.float16))
        return self.op("Cast", [name], to=F32)

    def graph_input(self, name: str, elem: int, dims: Sequence[Dim], as_float: bool = True) -> str:
        self.inputs.append(helper.make_tensor_value_info(name, elem, list(dims)))
        if not as_float and elem not in (F32, F16):
            return name
        if elem in (F32, F16):
            if self.precision == "fp16-keepio":  # fp32 input -> Cast(fp16) as in keep_io_types exports
                return self.op("Cast", [self.op("Cast", [name], to=F16)], to=F32)
            if elem == F16:
                return self.op("Cast", [name], to=F32)
            return name
        return self.op("Cast", [name], to=F32)  # integer timestep -> float

    def graph_output(self, name: str, value: str, dims: Sequence[Dim]) -> None:
        elem = self.io_float
        if self.precision == "fp16-keepio":  # ... -> Cast(fp16) -> Cast(fp32) -> output
            self.nodes.append(helper.make_node("Cast", [self.op("Cast", [value], to=F16)], [name],
                                               name=self._uid("/Cast"), to=F32))
        elif elem == F16:
            self.nodes.append(helper.make_node("Cast", [value], [name], name=self._uid("/Cast"), to=F16))
        else:
            self.nodes.append(helper.make_node("Identity", [value], [name], name=self._uid("/Identity")))
        self.outputs.append(helper.make_tensor_value_info(name, elem, list(dims)))

    def model(self, opset: int, producer: str) -> onnx.ModelProto:
        graph = helper.make_graph(self.nodes, self.name, self.inputs, self.outputs, self.inits)
        m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], producer_name=producer)
        m.ir_version = 8
        onnx.checker.check_model(m)
        return m


def text_encoder(*, precision: str, opset: int, ids_dtype: int, batch: Dim, seq: Dim, hidden: int,
                 outputs: Sequence[tuple[str, str, int]], seed: int, producer: str) -> onnx.ModelProto:
    """input_ids [batch, seq] -> outputs; each output is (name, kind, width) with kind
    'hidden' [batch, seq, width] | 'pooled' [batch, width] (mean over tokens) | 'projected' [batch, width]."""
    b = Builder("text_encoder_standin", precision, seed)
    ids = b.graph_input("input_ids", ids_dtype, [batch, seq], as_float=False)
    emb = b.weight("text_model.embeddings.token_embedding.weight", [VOCAB_ROWS, EMB], 1.0)
    tok = b.op("Gather", [emb, ids], axis=0)  # [B, S, EMB]
    ctx = b.op("ReduceMean", [tok], axes=[1], keepdims=1)  # whole-prompt context: order and padding matter
    mixed = b.op("Add", [tok, b.op("Mul", [ctx, b.const("ctx_scale", np.array([0.5], np.float32))])])
    cache: dict[int, str] = {}

    def hidden_of(width: int) -> str:
        if width not in cache:
            w = b.weight(f"text_model.proj_{width}.weight", [EMB, width], 0.5)
            cache[width] = b.op("Tanh", [b.op("MatMul", [mixed, w])])
        return cache[width]

    for name, kind, width in outputs:
        h = hidden_of(width if kind == "hidden" else hidden)
        if kind == "hidden":
            b.graph_output(name, h, [batch, seq, width])
        elif kind == "pooled":
            b.graph_output(name, b.op("ReduceMean", [h], axes=[1], keepdims=0), [batch, width])
        elif kind == "projected":  # pooled prompt -> projection (kept small: from the EMB-wide context)
            pooled = b.op("ReduceMean", [mixed], axes=[1], keepdims=0)
            w = b.weight(f"text_projection_{width}.weight", [EMB, width], 1.0)
            b.graph_output(name, b.op("MatMul", [pooled, w]), [batch, width])
        else:
            raise ValueError(kind)
    return b.model(opset, producer)


def unet(*, precision: str, opset: int, sample_dims: Sequence[Dim], timestep_dtype: int,
         timestep_dims: Sequence[Dim], ehs_dims: Sequence[Dim], out_dims: Sequence[Dim],
         extra: Sequence[tuple[str, Sequence[Dim], int, float]] = (), seed: int, producer: str,
         bulk_bytes: int = 0) -> onnx.ModelProto:
    """sample, timestep, encoder_hidden_states (+ extra conditioning inputs) -> out_sample.
    extra: (name, dims, width, input scale), e.g. timestep_cond [B,256], text_embeds [B,1280], time_ids [B,6].
    bulk_bytes: add at least this many bytes of weights (in the export's weight precision) as a chain of
    [hidden, hidden] MatMul blocks on the pooled prompt (h = h + 0.01 * tanh(h @ W_i)), so that a stand-in can be
    as large as a real UNet (the memory bench, `make_standins.py --large-unet-gib`) while its output still depends
    on every weight. 0 (the default) leaves the graph exactly as before (same weights, same bytes)."""
    b = Builder("unet_standin", precision, seed)
    hidden = int(ehs_dims[2])
    x = b.graph_input("sample", b.io_float, sample_dims)
    t = b.graph_input("timestep", timestep_dtype if timestep_dtype in (I32, I64) else b.io_float, timestep_dims)
    ehs = b.graph_input("encoder_hidden_states", b.io_float, ehs_dims)
    axes23 = b.const("unsqueeze_axes_2_3", np.array([2, 3], np.int64))
    conv_w = b.weight("conv_in.weight", [4, 4, 1, 1], 0.5)
    acc = b.op("Conv", [x, conv_w], kernel_shape=[1, 1])
    # prompt: mean over the sequence, projected to 4 channels, broadcast over H, W
    pooled = b.op("ReduceMean", [ehs], axes=[1], keepdims=0)
    if bulk_bytes > 0:
        per_block = hidden * hidden * (4 if precision == "fp32" else 2)
        step = b.const("bulk_step", np.array([0.01], np.float32))
        for i in range(-(-bulk_bytes // per_block)):
            w = b.weight(f"mid_block.bulk.{i}.weight", [hidden, hidden], 1.0 / np.sqrt(hidden))
            pooled = b.op("Add", [pooled, b.op("Mul", [b.op("Tanh", [b.op("MatMul", [pooled, w])]), step])])
    ctx = b.op("MatMul", [pooled, b.weight("down_blocks.0.attentions.0.proj.weight", [hidden, 4], 4.0 / np.sqrt(hidden))])
    acc = b.op("Add", [acc, b.op("Unsqueeze", [ctx, axes23])])
    # timestep: any rank (scalar, [1], [batch]) -> [N,1,1,1]
    t4 = b.op("Reshape", [t, b.const("timestep_shape", np.array([-1, 1, 1, 1], np.int64))])
    t_emb = b.op("Sin", [b.op("Mul", [t4, b.const("timestep_freq", np.array([0.003], np.float32))])])
    acc = b.op("Add", [acc, b.op("Mul", [t_emb, b.weight("time_embedding.weight", [1, 4, 1, 1], 1.0)])])
    for name, dims, width, scale in extra:
        v = b.graph_input(name, b.io_float, dims)
        v = b.op("Mul", [v, b.const(f"{name}_scale", np.array([scale], np.float32))])
        proj = b.op("MatMul", [v, b.weight(f"{name}_proj.weight", [width, 4], 1.0 / np.sqrt(width))])
        acc = b.op("Add", [acc, b.op("Unsqueeze", [proj, axes23])])
    b.graph_output("out_sample", acc, out_dims)
    return b.model(opset, producer)


def vae_decoder(*, precision: str, opset: int, in_dims: Sequence[Dim], out_dims: Sequence[Dim], seed: int,
                producer: str) -> onnx.ModelProto:
    """latent_sample [B,4,h,w] -> sample [B,3,8h,8w] in (-1, 1)."""
    b = Builder("vae_decoder_standin", precision, seed)
    z = b.graph_input("latent_sample", b.io_float, in_dims)
    w = b.weight("decoder.conv_in.weight", [3 * 64, 4, 1, 1], 0.6)
    bias = b.weight("decoder.conv_in.bias", [3 * 64], 0.2)
    y = b.op("Conv", [z, w, bias], kernel_shape=[1, 1])
    y = b.op("DepthToSpace", [y], blocksize=8, mode="DCR")
    b.graph_output("sample", b.op("Tanh", [y]), out_dims)
    return b.model(opset, producer)


def vae_encoder(*, precision: str, opset: int, in_dims: Sequence[Dim], out_name: str, out_dims: Sequence[Dim],
                out_channels: int, seed: int, producer: str) -> onnx.ModelProto:
    """sample [B,3,H,W] -> latent [B,out_channels,H/8,W/8] (img2img only; present because the repos ship it)."""
    b = Builder("vae_encoder_standin", precision, seed)
    x = b.graph_input("sample", b.io_float, in_dims)
    y = b.op("SpaceToDepth", [x], blocksize=8)
    w = b.weight("encoder.conv_in.weight", [out_channels, 3 * 64, 1, 1], 0.1)
    b.graph_output(out_name, b.op("Conv", [y, w], kernel_shape=[1, 1]), out_dims)
    return b.model(opset, producer)


def save(model: onnx.ModelProto, path: Path, sidecar: str | None) -> list[Path]:
    """Write the model; with sidecar, every initializer over 1 KiB goes to one external-data file of that name
    next to it (as onnx.save_model(..., all_tensors_to_one_file=True, location=sidecar) does for real exports)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if sidecar is None:
        onnx.save_model(model, str(path))
        return [path]
    onnx.save_model(model, str(path), save_as_external_data=True, all_tensors_to_one_file=True,
                    location=sidecar, size_threshold=1024, convert_attribute=False)
    return [path, path.parent / sidecar]


def describe(model: onnx.ModelProto) -> dict:
    def vi(v):
        t = v.type.tensor_type
        return {"name": v.name, "dtype": DTYPE_NAMES[t.elem_type],
                "dims": [d.dim_param if d.dim_param else d.dim_value for d in t.shape.dim]}
    return {"opset": model.opset_import[0].version, "inputs": [vi(v) for v in model.graph.input],
            "outputs": [vi(v) for v in model.graph.output]}
