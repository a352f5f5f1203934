"""The shipped pipelines: checkpoint, scheduler config and recommended defaults."""
import os

from . import schedule
from .loop import RUNS

TEACHER_GUIDANCE = float(os.environ.get("FEWSTEP_TEACHER_GUIDANCE", "4.0"))
LCM_GUIDANCE = float(os.environ.get("FEWSTEP_LCM_GUIDANCE", "4.0"))
# iCT pipeline: the sampling defaults, chosen from its evaluated rows (models/REPORT.md).
ICT_SIGMA_DATA = 1.0
ICT_DEFAULT_STEPS = int(os.environ.get("FEWSTEP_ICT_STEPS", "4"))
ICT_GUIDANCE = float(os.environ.get("FEWSTEP_ICT_GUIDANCE", "2.0"))
# Pipelines whose shipped folder stays as it is (weights, text encoder, tokenizer): export, eval and parity skip
# them and the report carries their earlier measured rows. The students stay frozen until a re-distillation from
# the current teacher and text encoder beats them (models/REPORT.md): LCM, Turbo and progressive were all re-distilled
# afresh and ship, so none is frozen now (set FEWSTEP_FROZEN=a,b to keep folders as they are).
FROZEN = {n for n in os.environ.get("FEWSTEP_FROZEN", "").split(",") if n}


# Training compute of each method, for the report's method comparison (1 CPU thread each). The frozen students'
# figures were measured when they were distilled (earlier sessions; models/REPORT.md "Student compute"); the new
# pipelines' come from their checkpoints (report.py reads `elapsed`).
METHOD_COMPUTE = {
    "fewstep-teacher": "12000 steps x 32 from scratch (three resumed runs) + 8520 x 32 of fine-tuning in 36 min",
    **{f"fewstep-progressive-{n}": "4 halvings (16 -> 8 -> 4 -> 2 -> 1), 1500 steps x 32 per stage (2000 for the "
       "last), 25 min in all (fresh from the current teacher); needs the teacher" for n in (1, 2, 4, 8)},
    "fewstep-lcm": "6000 steps x 32 in 33 min (fresh from the current teacher) + 5000 at lr 5e-5 in 59 min on a shared "
                   "machine (~20 alone); needs the teacher",
    "fewstep-direct": "6000 teacher DDIM-50 pairs (42 min of sampling) + 6000 steps x 64 in 27 min; needs the teacher",
    "fewstep-ict": "12235 steps x 64 in 124 min from random init; no teacher",
    "fewstep-turbo": "5000 steps x 32 in 35 min (fresh from the current teacher) + 4951 with half of each batch at "
                     "t = 999 in 60 min on a shared machine (~21 alone) + 5000 (weight 10) and 3000 (weight 30) with DMD's "
                     "regression loss on 6000 teacher DDIM-32 pairs (21 min of sampling) in 54 + 18 min on a shared "
                     "machine; needs the teacher and a discriminator",
}


# LoRA rows (evaluate_lora.py): the LCM-LoRA report's combination theta = theta_base + 0.8 tau_style + 1.0 tau_LCM.
STYLE_LORA_SCALE = 0.8
# The LCM-LoRA's default guidance_scale (diffusers' LCM-LoRA docs: 1.0 to 2.0; above 1 the pipeline runs a CFG batch):
# 1.5, chosen from the measured rows (models/REPORT.md: 4 steps 0.76 at 1.5 vs 0.71 at 1.0).
LCM_LORA_GUIDANCE = 1.5


def lora_cases():
    """The evaluated base + adapter combinations: dicts with slug, name, base (U-Net checkpoint), loras [(adapter
    checkpoint, scale)], scheduler (diffusers class), sched (its config), steps, guidance_scale."""
    teacher = os.path.join(RUNS, "teacher", "final.pt")
    style = os.path.join(RUNS, "style-full", "final.pt")
    lcm = os.path.join(RUNS, "lcm-lora", "final.pt")
    sty = os.path.join(RUNS, "style-lora", "final.pt")
    ddim, lcm_s = schedule.ddim_config("epsilon", "trailing"), schedule.lcm_config(50)
    g = LCM_LORA_GUIDANCE
    out = [dict(slug=f"teacher-lcm-lora-{n}" + ("" if w == g else f"-g{w:g}"), name="teacher + LCM-LoRA",
                base=teacher, loras=[(lcm, 1.0)], scheduler="LCMScheduler", sched=lcm_s, steps=n, guidance_scale=w)
           for w in (g, 1.0) for n in (1, 2, 4, 8)]
    out += [
        dict(slug="teacher-ddim-50", name="teacher", base=teacher, loras=[], scheduler="DDIMScheduler", sched=ddim,
             steps=50, guidance_scale=TEACHER_GUIDANCE),
        dict(slug="style-full-ddim-50", name="style model (full fine-tune)", base=style, loras=[],
             scheduler="DDIMScheduler", sched=ddim, steps=50, guidance_scale=TEACHER_GUIDANCE),
        dict(slug="style-full-ddim-4", name="style model (full fine-tune)", base=style, loras=[],
             scheduler="DDIMScheduler", sched=ddim, steps=4, guidance_scale=TEACHER_GUIDANCE),
        dict(slug="style-full-lcm-lora-4", name="style model + LCM-LoRA", base=style, loras=[(lcm, 1.0)],
             scheduler="LCMScheduler", sched=lcm_s, steps=4, guidance_scale=g),
        dict(slug="teacher-style-lora-ddim-50", name="teacher + style LoRA", base=teacher,
             loras=[(sty, STYLE_LORA_SCALE)], scheduler="DDIMScheduler", sched=ddim, steps=50,
             guidance_scale=TEACHER_GUIDANCE),
        dict(slug="teacher-style-lora-lcm-lora-4", name="teacher + style LoRA + LCM-LoRA", base=teacher,
             loras=[(sty, STYLE_LORA_SCALE), (lcm, 1.0)], scheduler="LCMScheduler", sched=lcm_s, steps=4,
             guidance_scale=g),
    ]
    return out


def registry():
    p = {
        "fewstep-teacher": dict(
            ckpt="teacher/final.pt", sched=schedule.ddim_config("epsilon", "trailing"), lcm=False, pred="epsilon",
            fewstep={"default_steps": 50, "guidance_scale": TEACHER_GUIDANCE, "sampler": "ddim",
                     "allowed_steps": [1, 2, 4, 8, 16, 32, 50, 1000],
                     "description": "Teacher: epsilon-prediction latent diffusion, classifier-free guidance. "
                                    "DDIM (trailing) for any step count; DDPM with 1000 steps from the same config."},
            eval=[("DDIMScheduler", n, TEACHER_GUIDANCE) for n in (1, 2, 4, 8, 16, 32, 50)]
            + [("DDIMScheduler", 16, 1.0), ("DDIMScheduler", 16, 2.0), ("DDPMScheduler", 1000, TEACHER_GUIDANCE)]),
    }
    for n in (8, 4, 2, 1):
        p[f"fewstep-progressive-{n}"] = dict(
            ckpt=f"progressive-{n}/final.pt", sched=schedule.ddim_config("v_prediction", "trailing"), lcm=False,
            pred="v_prediction",
            fewstep={"default_steps": n, "guidance_scale": 1.0, "sampler": "ddim", "allowed_steps": [n],
                     "timesteps": schedule.trailing(n),
                     "description": f"Progressive distillation student (v-prediction, guidance distilled in), "
                                    f"{n} DDIM step{'s' if n > 1 else ''}, no CFG."},
            eval=[("DDIMScheduler", n, 1.0)], weights_fp16=True)
    p["fewstep-lcm"] = dict(
        ckpt="lcm/final.pt", sched=schedule.lcm_config(50), lcm=True, pred="epsilon",
        fewstep={"default_steps": 4, "guidance_scale": LCM_GUIDANCE, "sampler": "lcm", "allowed_steps": [1, 2, 4, 8],
                 "description": "Latent consistency model: guidance through timestep_cond (w = guidance_scale - 1), "
                                "no CFG batch; LCMScheduler, original_inference_steps 50."},
        eval=[("LCMScheduler", n, LCM_GUIDANCE) for n in (1, 2, 4, 8)])
    p["fewstep-turbo"] = dict(
        ckpt="turbo/final.pt", sched=schedule.euler_config(), lcm=False, pred="epsilon",
        fewstep={"default_steps": 1, "guidance_scale": 0.0, "sampler": "euler", "allowed_steps": [1, 2, 4],
                 "description": "Adversarial diffusion distillation student (with DMD's regression loss on teacher pairs): "
                                "EulerDiscreteScheduler (trailing), "
                                "1-4 steps, no classifier-free guidance."},
        eval=[("EulerDiscreteScheduler", n, 0.0) for n in (1, 2, 4)])
    p["fewstep-direct"] = dict(
        ckpt="direct/final.pt", sched=schedule.ddim_config("sample", "trailing"), lcm=False, pred="sample",
        fewstep={"default_steps": 1, "guidance_scale": 1.0, "sampler": "ddim", "allowed_steps": [1],
                 "timesteps": schedule.trailing(1), "method": "direct distillation",
                 "description": "Direct distillation (Luhman & Luhman 2021): one U-Net call maps the noise to the "
                                "teacher's DDIM-50 result; prediction_type 'sample', DDIM 1 step, no CFG."},
        eval=[("DDIMScheduler", 1, 1.0)], weights_fp16=True)
    p["fewstep-ict"] = dict(
        ckpt="ict/final.pt", sched=schedule.cm_config(ICT_SIGMA_DATA), lcm=False, pred="epsilon",
        fewstep={"default_steps": ICT_DEFAULT_STEPS, "guidance_scale": ICT_GUIDANCE, "sampler": "cm",
                 "allowed_steps": [1, 2, 4], "method": "consistency training (iCT)",
                 "description": "Consistency model trained from scratch without a teacher (iCT: Song & Dhariwal "
                                "2023); CMStochasticIterativeScheduler, 1-4 steps."},
        eval=[("CMStochasticIterativeScheduler", n, g) for n in (1, 2, 4) for g in sorted({1.0, ICT_GUIDANCE})],
        weights_fp16=True)
    for name, v in p.items():
        v["ckpt"] = os.path.join(RUNS, v["ckpt"])
        v["frozen"] = name in FROZEN
        v.setdefault("weights_fp16", False)  # U-Net weights stored as float16 (export.store_weights_fp16)
    return p
