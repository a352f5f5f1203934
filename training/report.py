"""Stage 10: models/REPORT.md and models/report.json from the cached evaluation rows and stage checkpoints."""
import argparse
import glob
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fewstep.loop import RUNS  # noqa: E402
from fewstep.pipelines import lora_cases, registry  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
STAGES = ["vae", "vae-decoder", "text", "teacher", "evaluator", "progressive-8", "progressive-4", "progressive-2", "progressive-1",
          "lcm", "turbo", "direct", "ict"]

# The chapter's comparison, one line per method at the step counts it is used with.
METHODS = [("teacher (DDIM)", "fewstep-teacher", "DDIMScheduler", [50, 4, 1]),
           ("progressive distillation", None, "DDIMScheduler", [1, 2, 4, 8]),
           ("direct distillation", "fewstep-direct", "DDIMScheduler", [1]),
           ("consistency distillation (LCM)", "fewstep-lcm", "LCMScheduler", [1, 2, 4]),
           ("adversarial distillation (Turbo)", "fewstep-turbo", "EulerDiscreteScheduler", [1, 2, 4]),
           ("consistency training (iCT, no teacher)", "fewstep-ict", "CMStochasticIterativeScheduler", [1, 2, 4])]


def method_rows(rows, reg, times):
    """(method, steps, row, compute) for the comparison table: each method's row at the pipeline's default
    guidance; progressive takes the n-step student for n steps."""
    from fewstep.pipelines import lora_cases, METHOD_COMPUTE
    out = []
    for method, name, sched, steps in METHODS:
        for n in steps:
            pipe = name or f"fewstep-progressive-{n}"
            if pipe not in reg:
                continue
            g = reg[pipe]["fewstep"]["guidance_scale"]
            hit = [r for r in rows if r["pipeline"] == pipe and r["scheduler"] == sched and r["steps"] == n
                   and abs((r["guidance_scale"] or 0) - g) < 1e-9]
            if not hit:
                continue
            stage = pipe.replace("fewstep-", "")
            compute = METHOD_COMPUTE.get(pipe)
            if compute is None and stage in times and times[stage][0]:
                el, st = times[stage]
                compute = f"{st} steps in {el / 60:.0f} min"
                extra = times.get(stage + ":pairs")
                if extra:
                    compute += f" + {extra / 60:.0f} min of teacher DDIM-50 sampling for the pairs"
                compute += "; needs the teacher" if stage == "direct" else "; no teacher"
            out.append((method, n, hit[0], compute or "-"))
    return out


def lora_report_rows(prev_rows):
    """evaluate_lora.py's rows (runs/eval/lora_*.json) in lora_cases() order; the previous report's when this runs/
    has none. Each has `loras` ([[adapter checkpoint, scale]]) and `style_score`."""
    order = [f"reference-{st}-{k}" for st in ("plain", "ink") for k in ("real", "vae")] + [c["slug"] for c in lora_cases()]
    fresh = {r["slug"]: r for r in (json.load(open(p)) for p in glob.glob(os.path.join(RUNS, "eval", "lora_*.json")))}
    old = {r["slug"]: dict(r, carried_over=True) for r in prev_rows if r.get("slug") in order}
    return [fresh.get(s) or old[s] for s in order if s in fresh or s in old]


def lora_section(lrows, rows):
    """REPORT.md section: the LCM-LoRA rows, the full LCM student for comparison, and the chapter's claim checked."""
    L = ["", "## LCM-LoRA (Luo et al. 2023b): one adapter, any fine-tune, 4 steps", "",
         "Adapters merged into the weights (W += scale * alpha/r * B @ A), as the app merges them into the ONNX "
         "initializers. LCM-LoRA: rank 8, alpha 8, distilled from the teacher (train_lcm_lora.py). Style model: the "
         "teacher fully fine-tuned on ink renderings of the same scenes (train_style.py full); style LoRA: rank 8 on "
         "the teacher, same data (train_style.py lora, shipped at scale 0.8 as the LCM-LoRA report combines them). "
         "Style score: mean P(ink) of the images by a small classifier on VAE reconstructions (train_style.py head). "
         "LCM-LoRA rows: guidance_scale 1.5 (the shipped default: a CFG batch) and 1 (no CFG batch); the LCM-LoRA has no "
         "guidance embedding (the teacher's w in [2, 4] is baked in).", "",
         "Prompt accuracy is given twice: by the shipped evaluator (trained on plain renderings only, so ink images "
         "read worse to it; the reference rows show its ceiling on real and VAE-reconstructed ink images) and by a "
         "style-aware evaluator trained on both renderings (train_evaluator.py --styles plain,ink).", "",
         "| model | scheduler | steps | guidance | prompt acc (seen) | prompt acc (held-out) | partial (seen) | "
         "prompt acc, style-aware evaluator (seen / held-out) | Frechet | style score | samples |",
         "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in lrows:
        L.append(f"| {r['pipeline']} | {r['scheduler'] or '-'} | {fmt(r['steps'])} | {fmt(r['guidance_scale'], 1)} | "
                 f"{fmt(r['prompt_accuracy'])} | {fmt(r['prompt_accuracy_heldout'])} | "
                 f"{fmt(r.get('prompt_accuracy_partial'))} | {fmt(r.get('prompt_accuracy_styles_eval'))} / "
                 f"{fmt(r.get('prompt_accuracy_heldout_styles_eval'))} | {fmt(r['frechet_distance'], 2)} | "
                 f"{fmt(r.get('style_score'))} | {'![](' + r['samples'] + ')' if r.get('samples') else ''} |")
    by = {r["slug"]: r for r in lrows}
    full = next((r for r in rows if r["pipeline"] == "fewstep-lcm" and r["steps"] == 4), None)
    if full:
        L.append(f"| fewstep-lcm (full LCM student, for comparison) | {full['scheduler']} | 4 | "
                 f"{fmt(full['guidance_scale'], 1)} | {fmt(full['prompt_accuracy'])} | "
                 f"{fmt(full['prompt_accuracy_heldout'])} | {fmt(full.get('prompt_accuracy_partial'))} | - | "
                 f"{fmt(full['frechet_distance'], 2)} | - | |")
    lo, st50, st4 = by.get("teacher-lcm-lora-4"), by.get("style-full-ddim-50"), by.get("style-full-lcm-lora-4")
    if lo and full and st50 and st4:
        gap = full["prompt_accuracy"] - lo["prompt_accuracy"]
        keeps = st4["style_score"] >= 0.5
        holds = gap <= 0.05 and keeps
        sa = lambda r: (f" ({r['prompt_accuracy_styles_eval']:.2f} by the style-aware evaluator)"  # noqa: E731
                        if r.get("prompt_accuracy_styles_eval") is not None else "")
        key = "prompt_accuracy_styles_eval" if st4.get("prompt_accuracy_styles_eval") is not None else "prompt_accuracy"
        drop = st50[key] - st4[key]
        L += ["", "**The chapter's claim, part by part** (it holds if LCM-LoRA at 4 steps is within 0.05 prompt accuracy "
              "of the full LCM student and keeps the style):",
              f"- within 0.05 of the full LCM student: **{'yes' if gap <= 0.05 else 'no'}**: {lo['prompt_accuracy']:.2f} "
              f"at guidance {lo['guidance_scale']:g} vs {full['prompt_accuracy']:.2f} (gap {gap:+.2f}; 100 seen prompts, "
              f"so one standard error is about 0.04).",
              f"- keeps the style on a model it never saw: **{'yes' if keeps else 'no'}**: style score "
              f"{st4['style_score']:.2f} with the LCM-LoRA at 4 steps vs {st50['style_score']:.2f} for the style model's "
              f"own DDIM 50.",
              f"- measured too, outside the claim's wording: on that fine-tune the LCM-LoRA costs prompt accuracy: "
              f"{st4['prompt_accuracy']:.2f}{sa(st4)} at 4 steps vs {st50['prompt_accuracy']:.2f}{sa(st50)} at DDIM 50, "
              f"a drop of {drop:.2f}; the fine-tune's own DDIM 4 keeps more.",
              f"So: **{'holds' if holds else 'does not hold'}** as worded; the 'universal' part is weaker here than on "
              f"the teacher."]
    return L


def dir_size(p):
    return sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(p) for f in fs)


def n_params_onnx(path):
    import onnx
    import numpy as np
    m = onnx.load(path)
    return int(sum(np.prod(t.dims) for t in m.graph.initializer))


def fmt(v, nd=3):
    return "-" if v is None else (f"{v:.{nd}f}" if isinstance(v, float) else str(v))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", default=os.path.join(HERE, "..", "models"))
    ap.add_argument("--parity", default=os.path.join(HERE, "parity"))
    args = ap.parse_args()
    reg = registry()
    order = {n: i for i, n in enumerate(["real", "vae-reconstruction"] + list(reg))}
    rows = [json.load(open(p)) for p in glob.glob(os.path.join(RUNS, "eval", "*.json"))
            if not os.path.basename(p).startswith(("frozen_", "lora_"))]
    rows = [r for r in rows if r["pipeline"] in order and not (r["pipeline"] in reg and reg[r["pipeline"]]["frozen"])]
    # Rows carry over from the previous report.json for frozen pipelines (shipped folders unchanged) and for any
    # pipeline this runs/ has no evaluation of (a new machine whose runs/ was rebuilt by import_onnx.py: same weights).
    fresh = {r["pipeline"] for r in rows}
    prev = os.path.join(args.models, "report.json")
    prev_rows = json.load(open(prev)) if os.path.exists(prev) else []
    rows += [dict(r, carried_over=True) for r in prev_rows
             if r["pipeline"] in order and r["pipeline"] not in fresh and not r.get("loras")]
    for p in glob.glob(os.path.join(RUNS, "eval", "frozen_*.json")):  # eval_frozen.py: partial prompts
        f = json.load(open(p))
        for r in rows:
            if r.get("carried_over") and all(r[k] == f[k] for k in ("pipeline", "scheduler", "steps", "guidance_scale")):
                r["prompt_accuracy_partial"] = f["prompt_accuracy_partial"]
                r["prompt_accuracy_partial_heldout"] = f["prompt_accuracy_partial_heldout"]
    rows.sort(key=lambda r: (order[r["pipeline"]], r["scheduler"] or "", r["steps"] or 0, r["guidance_scale"] or 0))
    lora_rows = lora_report_rows(prev_rows)
    with open(os.path.join(args.models, "report.json"), "w") as f:
        json.dump(rows + lora_rows, f, indent=1)
    times = {}
    for s in STAGES:
        p = os.path.join(RUNS, s, "final.pt")
        if os.path.exists(p):
            ck = torch.load(p, map_location="cpu")
            steps = ck.get("steps")
            st = os.path.join(RUNS, s, "status.json")
            if steps is None and os.path.exists(st):
                steps = json.load(open(st))["step"]
            times[s] = (ck.get("elapsed"), steps)
            if ck.get("pairs_s"):
                times[s + ":pairs"] = ck["pairs_s"]
    L = ["# Fewstep model family: measured quality", "",
         "Generated by `training/report.py` (`make -C training report`). All numbers are measured on the exported "
         "weights (PyTorch reference sampler, same weights as the ONNX files; parity with the ONNX/Node engine is "
         "checked by the fixtures in training/parity/).", "",
         "- prompt accuracy: fraction of generated images for which the evaluator's predicted attributes match "
         "every attribute in the prompt (count, background, and shape/colour/size/position for one object, or "
         "shape/colour of the left and right object); seen = attribute combinations present in training, "
         "held-out = prompts containing a (colour, shape) pair never shown to the generators "
         "(red triangle, green circle, blue square).",
         "- partial prompts: the same scenes described as people write them with at least one attribute left out "
         "(`grammar.partial_caption`: any of size, position, background, colour or shape omitted, synonyms such as "
         "grey/gray, 'in the middle', 'dark blue', word-order variants, 'two circles'); only the attributes a prompt "
         "names are scored.",
         "- attribute accuracy: mean fraction of prompted attributes matched (softer).",
         "- Frechet distance: FID's recipe on the evaluator's 128-d penultimate features, generated (seen prompts) vs "
         "1000 real images (100 generated per row; DDPM 1000: 32, so its Frechet distance is biased upwards and not comparable). Lower is better. Small samples bias it upwards; rows with fewer images (DDPM) are not "
         "strictly comparable. The `real` row (fresh real images of the same prompts) is the floor.", ""]
    L += ["| pipeline | scheduler | steps | guidance | prompt acc (seen) | prompt acc (held-out) | partial prompts (seen) "
          "| partial prompts (held-out) | attr acc (seen) | "
          "attr acc (held-out) | Frechet | n seen/held-out | samples |", "|" + "---|" * 13]
    for r in rows:
        L.append("| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {}/{} | {} |".format(
            r["pipeline"], r["scheduler"] or "-", fmt(r["steps"]), fmt(r["guidance_scale"], 1),
            fmt(r["prompt_accuracy"]), fmt(r["prompt_accuracy_heldout"]), fmt(r.get("prompt_accuracy_partial")),
            fmt(r.get("prompt_accuracy_partial_heldout")), fmt(r.get("attribute_accuracy")),
            fmt(r.get("attribute_accuracy_heldout")), fmt(r["frechet_distance"], 2), r.get("n_seen"),
            r.get("n_heldout"), f"![]({r['samples']})" if r.get("samples") else ""))
    L += ["", "## Methods compared (the chapter's map, measured on one model family)", "",
          "Each method at the step counts it is used with, at its pipeline's default guidance; same evaluator, prompts "
          "and seeds as the table above. Training compute is one CPU thread.", "",
          "| method | steps | prompt acc (seen) | prompt acc (held-out) | partial prompts (seen) | Frechet | training compute |",
          "|---|---|---|---|---|---|---|"]
    for method, n, r, compute in method_rows(rows, reg, times):
        L.append(f"| {method} | {n} | {fmt(r['prompt_accuracy'])} | {fmt(r['prompt_accuracy_heldout'])} | "
                 f"{fmt(r.get('prompt_accuracy_partial'))} | {fmt(r['frechet_distance'], 2)} | {compute} |")
    L += lora_section(lora_rows, rows)
    L += ["", "## Training time per stage (1 CPU thread, shared 2-core machine)", "",
          "Wall time spent training each stage, including any time the machine was shared (see the notes below).",
          "", "| stage | steps | time (min) |", "|---|---|---|"]
    for s, v in times.items():
        if s.endswith(":pairs"):
            continue
        el, st = v
        L.append(f"| {s} | {st} | {el / 60:.1f} |" if el else f"| {s} | {st} | - |")
    L += ["", "## Sizes", "", "| folder | MiB | unet params | text encoder params | vae decoder params |",
          "|---|---|---|---|---|"]
    total = dir_size(args.models)
    for d in sorted(os.listdir(args.models)):
        p = os.path.join(args.models, d)
        if not os.path.isdir(p) or d == "samples":
            continue
        cols = []
        for comp in ("unet", "text_encoder", "vae_decoder"):
            mp = os.path.join(p, comp, "model.onnx")
            cols.append(f"{n_params_onnx(mp):,}" if os.path.exists(mp) else "-")
        if d == "evaluator":
            cols[0] = f"(classifier) {n_params_onnx(os.path.join(p, 'model.onnx')):,}"
        L.append(f"| {d} | {dir_size(p) / 2**20:.2f} | " + " | ".join(cols) + " |")
    L += ["", f"Total models/: {total / 2**20:.1f} MiB.", ""]
    extra = os.path.join(HERE, "report_notes.md")
    if os.path.exists(extra):
        L += [open(extra).read()]
    with open(os.path.join(args.models, "REPORT.md"), "w") as f:
        f.write("\n".join(L) + "\n")
    print("\n".join(L))


if __name__ == "__main__":
    main()
