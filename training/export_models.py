"""Stage 8: export every trained pipeline to models/<name>/ in the diffusers ONNX layout."""
import argparse
import os
import sys

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fewstep.common import load_pipeline_unet, load_text_encoder, load_vae  # noqa: E402
from fewstep.export import export_pipeline, export_unet  # noqa: E402
from fewstep.pipelines import registry  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "models"))
    ap.add_argument("--pipelines", default="")
    args = ap.parse_args()
    torch.set_num_threads(1)
    enc, dec, _ = load_vae()
    te = load_text_encoder()
    reg = registry()
    for name in [n for n in (args.pipelines.split(",") if args.pipelines else reg) if n]:
        spec = reg[name]
        if not os.path.exists(spec["ckpt"]):
            print(f"skip {name}: no checkpoint")
            continue
        unet = load_pipeline_unet(spec)
        if spec["frozen"]:
            # the folder keeps its text encoder and weights; only the U-Net graph is re-written with the current
            # module code (diffusers names), from the checkpoint import_onnx.py rebuilt from that very graph
            export_unet(unet.eval(), os.path.join(args.out, name), spec["weights_fp16"])
            print(f"{name}: frozen, U-Net graph re-exported (same weights)")
            continue
        export_pipeline(os.path.join(args.out, name), te, unet.eval(), dec.eval(), spec["sched"], spec["fewstep"],
                        lcm=spec["lcm"], enc=enc.eval() if name == "fewstep-teacher" else None,
                        weights_fp16=spec["weights_fp16"])
        print("exported", name)


if __name__ == "__main__":
    main()
