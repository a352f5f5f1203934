"""Stage 8b: the shipped LoRA adapters, in the two layouts people exchange (fewstep/lora.py):
  models/loras/fewstep-lcm-lora.safetensors   runs/lcm-lora (LCM-LoRA of fewstep-teacher), diffusers/PEFT keys
  models/loras/fewstep-style-ink.safetensors  runs/style-lora (ink style LoRA of fewstep-teacher), kohya keys
weights stored float16 (the app reads F16/F32/BF16), and models/loras/index.json describing them for the app."""
import hashlib
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fewstep import lora  # noqa: E402
from fewstep.loop import RUNS  # noqa: E402
from fewstep.pipelines import LCM_LORA_GUIDANCE, STYLE_LORA_SCALE  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "models", "loras")
ADAPTERS = [
    dict(run="lcm-lora", file="fewstep-lcm-lora.safetensors", fmt="peft", name="LCM-LoRA (fewstep-teacher)",
         kind="lcm", defaultScale=1.0,
         recommended={"sampler": "lcm", "steps": 4, "guidance_scale": LCM_LORA_GUIDANCE, "guidanceRange": [1, 2]},
         description="Latent consistency distillation into a LoRA (Luo et al. 2023b): 4-step sampling with "
                     "LCMScheduler for fewstep-teacher and models fine-tuned from it; guidance_scale 1 to 2 "
                     f"({LCM_LORA_GUIDANCE} recommended; 1 runs no CFG batch)."),
    dict(run="style-lora", file="fewstep-style-ink.safetensors", fmt="kohya", name="Ink style", kind="style",
         defaultScale=STYLE_LORA_SCALE, recommended=None, store_alpha=4.0,
         description="Style LoRA: thick dark outlines and a drop shadow on the same scenes (kohya key layout). "
                     "Combine with the LCM-LoRA for 4-step sampling."),
]


def main():
    import argparse
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=OUT)
    ap.add_argument("--partial", action="store_true",
                    help="write the adapters whose run exists and an index of those only (else a missing run is an "
                         "error, so a clone without runs/ cannot overwrite the shipped index with fewer entries)")
    args = ap.parse_args()
    out = args.out
    missing = [os.path.join(RUNS, a["run"], "final.pt") for a in ADAPTERS
               if not os.path.exists(os.path.join(RUNS, a["run"], "final.pt"))]
    if missing and not args.partial:
        sys.exit(f"export_loras.py: missing {', '.join(missing)}; train them (make -C training lcm-lora style) or "
                 "pass --partial to export only the others")
    os.makedirs(out, exist_ok=True)
    index = []
    for a in ADAPTERS:
        ck_path = os.path.join(RUNS, a["run"], "final.pt")
        if not os.path.exists(ck_path):
            print(f"skip {a['file']}: no {ck_path}")
            continue
        ck = torch.load(ck_path)
        adapters, alpha = ck["adapters"], ck["alpha"]
        if a.get("store_alpha"):
            # Stored with another alpha and B scaled by alpha / store_alpha (a power of two: exact in float16), so the
            # file's alpha / r differs from 1 and the app's parity fixture checks that the engine applies it; the
            # merged weights W + scale * alpha / r * B @ A are the same.
            k = alpha / a["store_alpha"]
            adapters = {p: (A, B * k, r, a["store_alpha"]) for p, (A, B, r, _) in adapters.items()}
            alpha = a["store_alpha"]
        path = os.path.join(out, a["file"])
        lora.write_file(path, adapters, fmt=a["fmt"], dtype=np.float16, targets=ck["targets"],
                        extra_metadata={"fewstep_base": "fewstep-teacher", "fewstep_kind": a["kind"]})
        blob = open(path, "rb").read()
        index.append({"file": a["file"], "name": a["name"], "kind": a["kind"], "base": ["fewstep-teacher"],
                      "format": a["fmt"], "rank": ck["r"], "alpha": alpha, "defaultScale": a["defaultScale"],
                      "recommended": a["recommended"], "description": a["description"], "bytes": len(blob),
                      "sha256": hashlib.sha256(blob).hexdigest(), "trainingSteps": ck["steps"]})
        print("wrote", path, len(blob), "bytes")
    with open(os.path.join(out, "index.json"), "w") as f:
        json.dump(index, f, indent=1)


if __name__ == "__main__":
    main()
