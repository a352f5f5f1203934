"""Stand-in U-Nets that are tiny instances of the family's own U-Net class (training/fewstep/models.py `UNet`, whose
modules carry diffusers' UNet2DConditionModel names), exported with torch.onnx.export the way the real diffusers
U-Net exports are made, so that their node and initializer names have the real exports' shapes:

  conv / Gemm weights keep their parameter names        down_blocks.0.resnets.0.conv1.weight
  bias-free or 3-D Linear weights become transposed      onnx::MatMul_1298   (consumed by the node below)
  MatMul nodes are named after the module path           /down_blocks.1/attentions.0/transformer_blocks.0/attn1/to_q/MatMul

That is what a LoRA merge maps keys through (issue 13), so LoRA key mapping can be tested on stand-ins.

What is added here, not in models.py (owned by the training code, left unchanged):
- `proj_in` / `proj_out` on every Transformer2DModel (diffusers has them; LCM-LoRA targets them): 1x1 convolutions
  as in SD 1.x (`use_linear_projection=False`), or Linear layers on the flattened tokens as in SD 2.x
  (`use_linear_projection=True`);
- a forward that takes the timestep at any rank and integer or float dtype ([batch], [steps]=[1], or a scalar, as the
  exports differ) and broadcasts it to the batch.

Precision, after export in fp32 (torch on CPU cannot run fp16 convolutions):
  "fp32"         as exported
  "fp16-keepio"  every float tensor, initializer and computation converted to fp16; fp32 graph inputs / outputs with a
                 Cast right after / before them (onnxruntime transformers' convert_float_to_float16(keep_io_types=True))
  "fp16-io"      the same with fp16 graph inputs / outputs (a diffusers --fp16 export, webnn exports)
Weights keep their names and are consumed directly by the nodes, as in the real fp16 files. onnxruntime's CPU / WASM
engine runs fp16 graphs (it casts around kernels that have no fp16 version), so these need no fp32 islands.
"""
from __future__ import annotations

import io
import sys
from pathlib import Path
from typing import Sequence, Union

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

TRAINING = Path(__file__).resolve().parent.parent
if str(TRAINING) not in sys.path:
    sys.path.insert(0, str(TRAINING))

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402

from fewstep.models import Transformer2DModel, UNet  # noqa: E402

Dim = Union[int, str]
F32, F16, I32, I64 = TensorProto.FLOAT, TensorProto.FLOAT16, TensorProto.INT32, TensorProto.INT64
TINY_CH = (8, 16)  # block_out_channels of the stand-ins: ~0.1-0.2 M parameters with a 768-1024 wide context


class _ConvProjTransformer(Transformer2DModel):
    """Transformer2DModel with diffusers' SD 1.x projections: norm -> proj_in (1x1 conv) -> tokens -> blocks ->
    proj_out (1x1 conv) -> + residual."""

    def forward(self, x, ctx):
        b, c, h, w = x.shape
        y = self.proj_in(self.norm(x)).reshape(b, c, h * w).transpose(1, 2)
        for blk in self.transformer_blocks:
            y = blk(y, ctx)
        return x + self.proj_out(y.transpose(1, 2).reshape(b, c, h, w))


class _LinearProjTransformer(Transformer2DModel):
    """Transformer2DModel with diffusers' SD 2.x projections (use_linear_projection): Linear layers on the tokens."""

    def forward(self, x, ctx):
        b, c, h, w = x.shape
        y = self.proj_in(self.norm(x).reshape(b, c, h * w).transpose(1, 2))
        for blk in self.transformer_blocks:
            y = blk(y, ctx)
        return x + self.proj_out(y).transpose(1, 2).reshape(b, c, h, w)


class StandinUNet(UNet):
    """The family's UNet with a timestep of any rank / dtype broadcast to the batch ([1] + [B] -> [B], a scalar too)."""

    def forward(self, sample, timestep, encoder_hidden_states, timestep_cond=None):
        t = timestep.reshape(-1).float() + torch.zeros_like(sample[:, 0, 0, 0])
        return super().forward(sample, t, encoder_hidden_states, timestep_cond)


def build(*, ctx_dim: int, seed: int, ch: Sequence[int] = TINY_CH, cond_dim: int | None = None,
          proj: str | None = "conv") -> StandinUNet:
    """A random-weight StandinUNet. proj: "conv" (SD 1.x), "linear" (SD 2.x) or None (the family's own blocks)."""
    torch.manual_seed(seed)
    u = StandinUNet(ctx_dim=ctx_dim, ch=tuple(ch), cond_dim=cond_dim)
    if proj is not None:
        for m in u.modules():
            if isinstance(m, Transformer2DModel):
                c = m.norm.num_channels
                if proj == "conv":
                    m.proj_in, m.proj_out = nn.Conv2d(c, c, 1), nn.Conv2d(c, c, 1)
                    m.__class__ = _ConvProjTransformer
                elif proj == "linear":
                    m.proj_in, m.proj_out = nn.Linear(c, c), nn.Linear(c, c)
                    m.__class__ = _LinearProjTransformer
                else:
                    raise ValueError(proj)
    return u.eval()


def lora_targets(unet: nn.Module, suffixes: Sequence[str]) -> list[tuple[str, nn.Module]]:
    """(module path, module) of every nn.Linear / nn.Conv2d whose path ends with one of `suffixes`, in module order."""
    out = []
    for name, m in unet.named_modules():
        if isinstance(m, (nn.Linear, nn.Conv2d)) and any(name == s or name.endswith("." + s) for s in suffixes):
            out.append((name, m))
    return out


def _timestep_example(dtype: int, dims: Sequence[Dim]) -> torch.Tensor:
    """An example timestep of the export's rank (a scalar, [1] for a symbolic dim) and integer or float dtype."""
    shape = [1 if isinstance(d, str) else d for d in dims]
    t = torch.full(shape, 999.0) if shape else torch.tensor(999.0)
    return t.long() if dtype in (I32, I64) else t


def export(unet: StandinUNet, *, opset: int, precision: str, sample_dims: Sequence[Dim], timestep_dtype: int,
           timestep_dims: Sequence[Dim], ehs_dims: Sequence[Dim], out_dims: Sequence[Dim],
           extra: Sequence[tuple[str, Sequence[Dim]]] = (), producer: str) -> onnx.ModelProto:
    """torch.onnx.export in fp32 with the real export's input / output names and symbolic dims, then `precision`
    (see the module doc). extra: (name, dims) of more conditioning inputs, e.g. ("timestep_cond", [B, 256])."""
    names = ["sample", "timestep", "encoder_hidden_states"] + [n for n, _ in extra]
    dims = {"sample": sample_dims, "timestep": timestep_dims, "encoder_hidden_states": ehs_dims, **dict(extra),
            "out_sample": out_dims}
    args = (torch.randn(2, 4, 8, 8), _timestep_example(timestep_dtype, timestep_dims),
            torch.randn(2, 77, int(ehs_dims[2])))
    for n, d in extra:
        args += (torch.randn(2, int(d[1])),)
    dynamic = {n: {i: d for i, d in enumerate(dims[n]) if isinstance(d, str)} for n in names + ["out_sample"]}
    dynamic = {n: a for n, a in dynamic.items() if a}
    buf = io.BytesIO()
    with torch.no_grad():
        torch.onnx.export(unet, args, buf, input_names=names, output_names=["out_sample"], dynamic_axes=dynamic,
                          opset_version=opset, do_constant_folding=True)
    m = onnx.load_from_string(buf.getvalue())
    m.producer_name = producer
    _set_dims(m, dims)
    if timestep_dtype == F16 and precision != "fp16-io":
        raise ValueError("a float16 timestep goes with fp16-io")
    if precision == "fp16-keepio":
        to_fp16(m, keep_io=True)
    elif precision == "fp16-io":
        to_fp16(m, keep_io=False)
    elif precision != "fp32":
        raise ValueError(precision)
    onnx.checker.check_model(m)
    return m


def _set_dims(m: onnx.ModelProto, dims: dict) -> None:
    """Write the symbolic / fixed dims of every graph input and output (the exporter names the dynamic ones as asked
    but leaves fixed ones at the example's sizes; this makes each exactly the stand-in spec)."""
    for v in list(m.graph.input) + list(m.graph.output):
        if v.name not in dims:
            continue
        shape = v.type.tensor_type.shape
        del shape.dim[:]
        for d in dims[v.name]:
            dim = shape.dim.add()
            if isinstance(d, str):
                dim.dim_param = d
            else:
                dim.dim_value = int(d)


def to_fp16(m: onnx.ModelProto, keep_io: bool) -> None:
    """Convert a float32 graph to float16 everywhere (initializers, Constant / ConstantOfShape values, Cast targets),
    except the float inputs that the ONNX spec requires to be float32 (Resize roi / scales). keep_io: float graph
    inputs / outputs stay float32 with Casts at the boundary (names as onnxruntime's converter gives them)."""
    g = m.graph
    keep32: set[str] = set()
    for n in g.node:
        if n.op_type == "Resize":
            keep32.update(x for x in list(n.input)[1:3] if x)
    for init in g.initializer:
        if init.data_type == F32 and init.name not in keep32:
            arr = numpy_helper.to_array(init).astype(np.float16)
            init.CopyFrom(numpy_helper.from_array(arr, init.name))
    for n in g.node:
        if n.op_type == "Cast":
            for a in n.attribute:
                if a.name == "to" and a.i == F32:
                    a.i = F16
        elif n.op_type in ("Constant", "ConstantOfShape"):
            if n.op_type == "Constant" and n.output[0] in keep32:
                continue
            for a in n.attribute:
                if a.type == onnx.AttributeProto.TENSOR and a.t.data_type == F32:
                    a.t.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(a.t).astype(np.float16), a.t.name))
    del g.value_info[:]
    float_inputs = [v for v in g.input if v.type.tensor_type.elem_type == F32]
    float_outputs = [v for v in g.output if v.type.tensor_type.elem_type == F32]
    if not keep_io:
        for v in float_inputs + float_outputs:
            v.type.tensor_type.elem_type = F16
        return
    casts_in = []
    for i, v in enumerate(float_inputs):
        new = f"{v.name}_fp16"
        for n in g.node:
            for j, x in enumerate(n.input):
                if x == v.name:
                    n.input[j] = new
        casts_in.append(helper.make_node("Cast", [v.name], [new], name=f"graph_input_cast_{i}", to=F16))
    for i, v in enumerate(float_outputs):
        new = f"{v.name}_fp16"
        for n in g.node:
            for j, x in enumerate(n.output):
                if x == v.name:
                    n.output[j] = new
            for j, x in enumerate(n.input):
                if x == v.name:
                    n.input[j] = new
        g.node.append(helper.make_node("Cast", [new], [v.name], name=f"graph_output_cast_{i}", to=F32))
    nodes = casts_in + list(g.node)
    del g.node[:]
    g.node.extend(nodes)


def weight_of(m: onnx.ModelProto, module_path: str) -> tuple[str, tuple[int, ...], str] | None:
    """(initializer name, its shape, how it was found) of a module's weight in an exported graph, the way a LoRA merge
    looks it up: an initializer named `<path>.weight` (conv, Gemm), else the weight input of the MatMul node named
    `/<path with "/" between module levels>/MatMul` (a transposed [in, out] `onnx::MatMul_N`). None if neither."""
    inits = {i.name: tuple(i.dims) for i in m.graph.initializer}
    name = f"{module_path}.weight"
    if name in inits:
        return name, inits[name], "initializer"
    node_name = "/" + _scope(module_path) + "/MatMul"
    for n in m.graph.node:
        if n.name == node_name and n.op_type == "MatMul":
            w = n.input[1]
            if w in inits:
                return w, inits[w], "matmul"
    return None


def _scope(module_path: str) -> str:
    """down_blocks.1.attentions.0.transformer_blocks.0.attn1.to_out.0 -> down_blocks.1/attentions.0/
    transformer_blocks.0/attn1/to_out.0 (torch.onnx's scope names: a ModuleList index stays with its list)."""
    parts = module_path.split(".")
    out: list[str] = []
    for p in parts:
        if p.isdigit() and out:
            out[-1] += "." + p
        else:
            out.append(p)
    return "/".join(out)
