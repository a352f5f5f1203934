"""Checks every pipeline folder: diffusers ONNX layout, onnx.checker, I/O names, opset 17, total size < 60 MB."""
import json
import os
import sys

import onnx

REQUIRED = ["model_index.json", "scheduler/scheduler_config.json", "tokenizer/tokenizer.json",
            "tokenizer/tokenizer_config.json", "text_encoder/model.onnx", "text_encoder/config.json",
            "unet/model.onnx", "unet/config.json", "vae_decoder/model.onnx", "vae_decoder/config.json"]
IO = {"text_encoder": (["input_ids"], ["last_hidden_state", "pooler_output"]),
      "unet": (["sample", "timestep", "encoder_hidden_states"], ["out_sample"]),
      "vae_decoder": (["latent_sample"], ["sample"])}


def main(root):
    total = 0
    for dp, _, fs in os.walk(root):
        total += sum(os.path.getsize(os.path.join(dp, f)) for f in fs)
    pipes = sorted(d for d in os.listdir(root) if d.startswith("fewstep-"))
    assert pipes, "no pipelines in " + root
    for p in pipes:
        for r in REQUIRED:
            assert os.path.exists(os.path.join(root, p, r)), f"{p}: missing {r}"
        idx = json.load(open(os.path.join(root, p, "model_index.json")))
        assert "fewstep" in idx, p
        lcm = idx["_class_name"].startswith("OnnxLatentConsistency")
        for comp, (ins, outs) in IO.items():
            m = onnx.load(os.path.join(root, p, comp, "model.onnx"))
            onnx.checker.check_model(m)
            assert m.opset_import[0].version == 17, (p, comp)
            names = [i.name for i in m.graph.input]
            want = ins + (["timestep_cond"] if comp == "unet" and lcm else [])
            assert names == want, (p, comp, names)
            assert [o.name for o in m.graph.output] == outs, (p, comp)
        if idx.get("vae_encoder", [None])[0]:
            m = onnx.load(os.path.join(root, p, "vae_encoder", "model.onnx"))
            onnx.checker.check_model(m)
            assert [i.name for i in m.graph.input] == ["sample"], (p, "vae_encoder")
            assert [o.name for o in m.graph.output] == ["latent_sample"], (p, "vae_encoder")
        print("ok", p)
    if os.path.exists(os.path.join(root, "evaluator", "model.onnx")):
        onnx.checker.check_model(onnx.load(os.path.join(root, "evaluator", "model.onnx")))
        print("ok evaluator")
    print(f"total size {total / 2**20:.1f} MiB")
    assert total < 60 * 2 ** 20, "models/ over 60 MB"


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "models"))
