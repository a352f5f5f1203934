"""Stage 9: parity fixtures. For each pipeline, run the reference sampler (fewstep/sampling.py, diffusers'
formulas) from stored initial noise and a fixed prompt; write training/parity/<pipeline>.json for the Node test
that replays them through the app engine (max abs diff < 1e-3).
Fields: prompt, input_ids, steps, guidance_scale, scheduler (class), scheduler_config, prediction_type, timesteps,
initial_latents (flat [1,4,8,8]: raw N(0,1) noise; the pipeline multiplies it by init_noise_sigma), step_noises (flat per step, only for schedulers that draw noise), final_latents
(flat, what the pipeline hands to the VAE before dividing by scaling_factor), image_mean (of the decoded image).
LoRA fixtures (lora-*.json, LORA_CASES): a shipped pipeline with the shipped adapter files of models/loras/ merged
into its U-Net weights (fewstep/lora.read_file + merge, the same fp16 adapter values the app reads), with an extra
field `loras: [{file, scale}]` (file relative to the repo root)."""
import argparse
import json
import os
import sys

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fewstep import grammar, lora  # noqa: E402
from fewstep.common import load_pipeline_unet, load_text_encoder, load_vae  # noqa: E402
from fewstep.pipelines import LCM_LORA_GUIDANCE, registry  # noqa: E402
from fewstep.models import guidance_embedding  # noqa: E402
from fewstep.sampling import make_scheduler, sample  # noqa: E402

PROMPT = "a large purple circle in the center on a white background"


ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
# (fixture name, base pipeline, [(models/loras file, scale)], scheduler class, steps, guidance_scale)
LORA_CASES = [
    ("lora-teacher-lcm", "fewstep-teacher", [("models/loras/fewstep-lcm-lora.safetensors", 1.0)], "LCMScheduler", 4, LCM_LORA_GUIDANCE),
    ("lora-style-lcm", "fewstep-teacher", [("models/loras/fewstep-style-ink.safetensors", 0.8),
                                           ("models/loras/fewstep-lcm-lora.safetensors", 1.0)], "LCMScheduler", 4, LCM_LORA_GUIDANCE),
]


def flat(t):
    return [round(float(v), 7) for v in t.flatten().tolist()]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "parity"))
    ap.add_argument("--pipelines", default="")
    ap.add_argument("--loras-dir", default=os.path.join(ROOT, "models", "loras"),
                    help="where the adapter files of LORA_CASES are read (fixtures still name models/loras/<file>)")
    args = ap.parse_args()
    torch.set_num_threads(1)
    os.makedirs(args.out, exist_ok=True)
    te = load_text_encoder()
    _, dec, scale = load_vae()
    ids = torch.tensor([grammar.encode(PROMPT)])
    with torch.no_grad():
        ctx = te(ids)[0]
        uncond = te(torch.tensor([grammar.encode("")]))[0]
    reg = registry()
    for name in [n for n in (args.pipelines.split(",") if args.pipelines else reg) if n in reg]:
        spec = reg[name]
        if spec["frozen"]:
            print(f"skip {name}: frozen (shipped folder kept as it is)")
            continue
        if not os.path.exists(spec["ckpt"]):
            print(f"skip {name}")
            continue
        unet = load_pipeline_unet(spec)
        unet.eval()
        few = spec["fewstep"]
        cases = [(few["default_steps"], few["guidance_scale"])]
        if name == "fewstep-teacher":
            cases.append((4, few["guidance_scale"]))
        for steps, g in cases:
            sched = make_scheduler(spec["sched"]["_class_name"], steps, spec["pred"], config=spec["sched"])
            gen = torch.Generator().manual_seed(2024)
            x0 = torch.randn(1, 4, 8, 8, generator=gen)
            noises = [torch.randn(1, 4, 8, 8, generator=gen) for _ in sched.timesteps] if sched.needs_noise else []
            trace = []
            final = sample(unet, sched, ctx, uncond, x0, g, lcm=spec["lcm"], noise_fn=lambda i: noises[i], trace=trace)
            # first U-Net call exactly as the pipeline makes it (for debugging a mismatch)
            xin = sched.scale_model_input((x0 * sched.init_noise_sigma).float(), 0)
            t0 = torch.tensor([float(sched.timesteps[0])])
            with torch.no_grad():
                if spec["lcm"]:
                    first = unet(xin, t0, ctx, guidance_embedding(torch.tensor([g - 1.0])))
                else:
                    first = unet(xin, t0, ctx)
            with torch.no_grad():
                img = dec(final / scale).clamp(-1, 1)
            out = {"pipeline": name, "prompt": PROMPT, "input_ids": ids[0].tolist(), "steps": steps,
                   "guidance_scale": g, "scheduler": spec["sched"]["_class_name"], "scheduler_config": spec["sched"],
                   "prediction_type": spec["pred"], "timesteps": [float(t) for t in sched.timesteps],
                   "init_noise_sigma": sched.init_noise_sigma,
                   **({"sigmas": [float(v) for v in sched.sigmas]} if hasattr(sched, "sigmas") else {}), "initial_latents": flat(x0),
                   "step_noises": [flat(n) for n in noises], "final_latents": flat(final),
                   "latents_after_each_step": [flat(tr["x"]) for tr in trace],
                   "first_unet_call": {"sample": flat(xin), "timestep": float(sched.timesteps[0]),
                                       "out_sample_cond": flat(first)},
                   "text_encoder_last_hidden_state_sum": float(ctx.sum()),
                   "scaling_factor": scale, "image_mean": float(img.mean()),
                   "tolerance": 1e-3}
            suffix = "" if (steps, g) == cases[0] else f"-{steps}steps"
            path = os.path.join(args.out, f"{name}{suffix}.json")
            with open(path, "w") as f:
                json.dump(out, f)
            print("wrote", path)
    for fixture, base, adapters, sched_name, steps, g in LORA_CASES:
        if args.pipelines and fixture not in args.pipelines.split(","):
            continue
        local = {f: os.path.join(args.loras_dir, os.path.basename(f)) for f, _ in adapters}
        if not all(os.path.exists(p) for p in local.values()):
            print(f"skip {fixture}: adapter files missing")
            continue
        spec = reg[base]
        unet = load_pipeline_unet(spec).eval()
        for f, s in adapters:
            lora.merge(unet, lora.read_file(local[f], unet), s)
        sched = make_scheduler(sched_name, steps, spec["pred"])
        gen = torch.Generator().manual_seed(2024)
        x0 = torch.randn(1, 4, 8, 8, generator=gen)
        noises = [torch.randn(1, 4, 8, 8, generator=gen) for _ in sched.timesteps] if sched.needs_noise else []
        trace = []
        final = sample(unet, sched, ctx, uncond, x0, g, lcm=False, noise_fn=lambda i: noises[i], trace=trace)
        with torch.no_grad():
            img = dec(final / scale).clamp(-1, 1)
        out = {"pipeline": base, "loras": [{"file": f, "scale": s} for f, s in adapters], "prompt": PROMPT,
               "input_ids": ids[0].tolist(), "steps": steps, "guidance_scale": g, "scheduler": sched_name,
               "prediction_type": spec["pred"], "timesteps": [float(t) for t in sched.timesteps],
               "init_noise_sigma": sched.init_noise_sigma, "initial_latents": flat(x0),
               "step_noises": [flat(n) for n in noises], "final_latents": flat(final),
               "latents_after_each_step": [flat(tr["x"]) for tr in trace], "scaling_factor": scale,
               "image_mean": float(img.mean()), "tolerance": 1e-3}
        path = os.path.join(args.out, f"{fixture}.json")
        with open(path, "w") as fh:
            json.dump(out, fh)
        print("wrote", path)


if __name__ == "__main__":
    main()
