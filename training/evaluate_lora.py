"""Stage 7b: the LCM-LoRA claims (Luo et al. 2023b), measured with evaluate.py's evaluator and protocol (100 seen /
50 held-out prompts, seeds 1234 / 4321, partial prompts) plus a style score (train_style.py's head: mean P(ink) of
the images, for the rows where the style matters).

Rows (fewstep.pipelines.lora_cases): the teacher + LCM-LoRA at 1, 2, 4, 8 LCM steps; the style model (a full
fine-tune of the teacher on ink renderings, train_style.py full) at DDIM 50 / 4 and + LCM-LoRA at 4 LCM steps
(never trained together); the teacher + style LoRA (DDIM 50) and + style LoRA + LCM-LoRA (4 LCM steps). Adapters
are merged into the weights (fewstep/lora.merge) as the app merges them into the ONNX initializers; the adapters
are the float32 ones of runs/*/final.pt (the shipped .safetensors hold them rounded to float16).
Writes runs/eval/lora_<slug>.json (cached while newer than its checkpoints); report.py renders them.
usage: evaluate_lora.py [--only slug,slug]"""
import argparse
import json
import os
import sys
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fewstep import evaluator as E, lora  # noqa: E402
from fewstep.common import load_unet  # noqa: E402
from fewstep.loop import setup_threads  # noqa: E402
from fewstep.pipelines import lora_cases  # noqa: E402
from evaluate import Ctx, EVAL_DIR, generate, grid_png, score, score_partial  # noqa: E402
from train_style import load_style_head  # noqa: E402


def load_styles_evaluator():
    """The style-aware evaluator (train_evaluator.py --styles plain,ink -> runs/evaluator-styles), or None: the
    shipped evaluator never saw ink renderings, so prompt accuracy of ink images is also scored with this one."""
    path = os.path.join(os.path.dirname(EVAL_DIR), "evaluator-styles", "final.pt")
    if not os.path.exists(path):
        return None
    ev = E.Evaluator()
    ev.load_state_dict(torch.load(path)["ev"])
    return ev.eval()


def styled_accuracy(ev2, ims, scenes):
    """{prompt_accuracy_styles_eval, prompt_accuracy_heldout_styles_eval} from (seen, held-out) images."""
    if ev2 is None:
        return {}
    return {k: E.prompt_match(E.predict(ev2, im)[0], sc) for k, im, sc in
            zip(("prompt_accuracy_styles_eval", "prompt_accuracy_heldout_styles_eval"), ims, scenes)}


def style_reference_rows(c, head, ev2=None):
    """The ceiling of the style rows: real ink renderings of the eval scenes and their VAE reconstructions, scored
    by the same (plain-trained) evaluator and the style head; and the plain ones' style score (the floor)."""
    import random
    import numpy as np
    from fewstep import data
    rows = []
    for style in data.STYLES:
        for recon in (False, True):
            slug = f"reference-{style}-{'vae' if recon else 'real'}"
            path = os.path.join(EVAL_DIR, f"lora_{slug}.json")
            if os.path.exists(path):
                rows.append(json.load(open(path)))
                continue
            res, ims = {}, []
            for tag, scenes in (("seen", c.seen), ("heldout", c.heldout)):
                rng = random.Random(55)
                x = data.to_tensor(np.stack([data.render(s, rng, style) for s in scenes]))
                if recon:
                    with torch.no_grad():
                        x = c.dec(c.enc(x)[0]).clamp(-1, 1)
                res[tag] = score(c, x, scenes)
                ims.append(x)
            with torch.no_grad():
                st = float(torch.sigmoid(head(torch.cat(ims))).mean())
            row = {"pipeline": f"{'VAE reconstruction' if recon else 'real images'} ({style})", "slug": slug,
                   "base": None, "loras": [], "scheduler": None, "steps": None, "guidance_scale": None,
                   "prompt_accuracy": res["seen"][0], "prompt_accuracy_heldout": res["heldout"][0],
                   "attribute_accuracy": res["seen"][1], "attribute_accuracy_heldout": res["heldout"][1],
                   "prompt_accuracy_partial": None, "frechet_distance": E.frechet(res["seen"][2], c.ref),
                   "style_score": st, "samples": None, "n_seen": len(c.seen), "n_heldout": len(c.heldout),
                   **styled_accuracy(ev2, ims, (c.seen, c.heldout))}
            json.dump(row, open(path, "w"))
            rows.append(row)
    return rows


def build_unet(case):
    unet, _ = load_unet(case["base"])
    for path, scale in case["loras"]:
        lora.merge(unet, torch.load(path)["adapters"], scale)
    return unet.eval()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", default="")
    ap.add_argument("--n-seen", type=int, default=100)
    ap.add_argument("--n-heldout", type=int, default=50)
    ap.add_argument("--samples-dir", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "models", "samples"))
    args = ap.parse_args()
    setup_threads()
    os.makedirs(EVAL_DIR, exist_ok=True)
    c = Ctx(args.n_seen, args.n_heldout)
    head = load_style_head()
    only = {s for s in args.only.split(",") if s}
    ev2 = load_styles_evaluator()
    for r in style_reference_rows(c, head, ev2):
        print(json.dumps(r))
    for case in lora_cases():
        if only and case["slug"] not in only:
            continue
        deps = [case["base"]] + [p for p, _ in case["loras"]]
        if not all(os.path.exists(p) for p in deps):
            print(f"skip {case['slug']}: missing {[p for p in deps if not os.path.exists(p)]}")
            continue
        path = os.path.join(EVAL_DIR, f"lora_{case['slug']}.json")
        if os.path.exists(path) and os.path.getmtime(path) > max(os.path.getmtime(p) for p in deps):
            print("cached", open(path).read())
            continue
        unet = build_unet(case)
        spec = {"pred": "epsilon", "sched": case["sched"], "lcm": False}
        s_name, steps, g = case["scheduler"], case["steps"], case["guidance_scale"]
        t0 = time.time()
        torch.manual_seed(1234)  # the LCM steps' noise
        im_s = generate(c, unet, spec, s_name, steps, g, c.seen, 1234)
        torch.manual_seed(4321)
        im_h = generate(c, unet, spec, s_name, steps, g, c.heldout, 4321)
        dt = time.time() - t0
        acc_s, att_s, feat = score(c, im_s, c.seen)
        acc_h, att_h, _ = score(c, im_h, c.heldout)
        torch.manual_seed(99)
        part_s = score_partial(c, unet, spec, s_name, steps, g, "seen", len(c.seen), 1234)
        part_h = score_partial(c, unet, spec, s_name, steps, g, "heldout", len(c.heldout), 4321)
        with torch.no_grad():
            style = float(torch.sigmoid(head(torch.cat([im_s, im_h]))).mean())
        png = os.path.join(args.samples_dir, f"lora-{case['slug']}.png")
        grid_png(torch.cat([im_s[:16], im_h[:16]]), png)
        row = {"pipeline": case["name"], "slug": case["slug"], "base": os.path.relpath(case["base"], os.path.dirname(EVAL_DIR)),
               "loras": [[os.path.relpath(p, os.path.dirname(EVAL_DIR)), s] for p, s in case["loras"]],
               "scheduler": s_name, "steps": steps, "guidance_scale": g,
               "prompt_accuracy": acc_s, "prompt_accuracy_heldout": acc_h, "attribute_accuracy": att_s,
               "attribute_accuracy_heldout": att_h, "prompt_accuracy_partial": part_s,
               "prompt_accuracy_partial_heldout": part_h, "frechet_distance": E.frechet(feat, c.ref),
               "style_score": style, "samples": f"samples/lora-{case['slug']}.png", "n_seen": len(c.seen),
               "n_heldout": len(c.heldout), "seconds_per_image_torch_1thread": dt / (len(c.seen) + len(c.heldout)),
               **styled_accuracy(ev2, (im_s, im_h), (c.seen, c.heldout))}
        json.dump(row, open(path, "w"))
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
