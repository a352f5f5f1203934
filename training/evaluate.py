"""Stage 7: quality of every pipeline x step count: prompt accuracy (seen / held-out combinations) and the
Frechet distance on the evaluator's features against real images. Rows are cached in runs/eval/ (resumable).
usage: evaluate.py [--pipelines a,b] [--n-seen 200] [--n-heldout 100]"""
import argparse
import json
import os
import sys
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fewstep import data, grammar, evaluator as E  # noqa: E402
from fewstep.common import load_pipeline_unet, load_text_encoder, load_vae  # noqa: E402
from fewstep.loop import RUNS, setup_threads  # noqa: E402
from fewstep.pipelines import registry  # noqa: E402
from fewstep.sampling import make_scheduler, sample  # noqa: E402

EVAL_DIR = os.path.join(RUNS, "eval")


class Ctx:
    def __init__(self, n_seen, n_heldout):
        self.enc, self.dec, self.scale = load_vae()
        self.te = load_text_encoder()
        self.ev = E.Evaluator()
        self.ev.load_state_dict(torch.load(os.path.join(RUNS, "evaluator", "final.pt"))["ev"])
        self.ev.eval()
        self.seen = grammar.eval_prompts(n_seen, False, 100)
        self.heldout = grammar.eval_prompts(n_heldout, True, 101)
        ref_path = os.path.join(EVAL_DIR, "real_features.pt")
        if os.path.exists(ref_path):
            self.ref = torch.load(ref_path)
        else:
            imgs, _, _ = data.make_dataset(1000, seed=6, heldout=False)
            self.ref = E.predict(self.ev, data.to_tensor(imgs))[1].numpy()
            torch.save(self.ref, ref_path)
        with torch.no_grad():
            self.uncond = self.te(torch.tensor([grammar.encode("")]))[0]
        # partial prompts: the same scenes described with at least one attribute left out (scored on what they name)
        import random
        rng = random.Random(102)
        self.partial = {tag: [grammar.partial_caption(s, rng) for s in scenes]
                        for tag, scenes in (("seen", self.seen), ("heldout", self.heldout))}

    def embed(self, scenes, texts=None):
        texts = texts or [grammar.caption(s) for s in scenes]
        ids = torch.tensor([grammar.encode(t) for t in texts])
        with torch.no_grad():
            return self.te(ids)[0]

    def decode(self, lat):
        with torch.no_grad():
            return self.dec(lat / self.scale).clamp(-1, 1)


def generate(c, unet, spec, sched_name, steps, g, scenes, seed, bs=100, texts=None):
    lat = []
    gen = torch.Generator().manual_seed(seed)
    x_all = torch.randn(len(scenes), 4, 8, 8, generator=gen)
    for i in range(0, len(scenes), bs):
        sched = make_scheduler(sched_name, steps, spec["pred"], config=spec["sched"])
        ctx = c.embed(scenes[i:i + bs], texts[i:i + bs] if texts else None)
        lat.append(sample(unet, sched, ctx, c.uncond, x_all[i:i + bs], g, lcm=spec["lcm"]))
    return c.decode(torch.cat(lat))


def score(c, imgs, scenes):
    pred, feat = E.predict(c.ev, imgs)
    return E.prompt_match(pred, scenes), E.attribute_match(pred, scenes), feat.numpy()


def score_partial(c, unet, spec, sched_name, steps, g, tag, n, seed):
    """prompt accuracy on partial prompts (an omitted attribute is not scored)"""
    scenes = (c.seen if tag == "seen" else c.heldout)[:n]
    texts = [t for t, _ in c.partial[tag][:n]]
    keys = [k for _, k in c.partial[tag][:n]]
    im = generate(c, unet, spec, sched_name, steps, g, scenes, seed, texts=texts)
    pred, _ = E.predict(c.ev, im)
    return E.prompt_match(pred, scenes, keys)


def grid_png(imgs, path, cols=8):
    from PIL import Image
    x = ((imgs.clamp(-1, 1) + 1) * 127.5).round().byte().permute(0, 2, 3, 1).numpy()
    rows = [np.concatenate(list(x[r * cols:(r + 1) * cols]), 1) for r in range(len(x) // cols)]
    Image.fromarray(np.concatenate(rows, 0)).save(path)


def reference_rows(c):
    rows = []
    for name in ("real", "vae-reconstruction"):
        path = os.path.join(EVAL_DIR, f"{name}.json")
        if os.path.exists(path):
            rows.append(json.load(open(path)))
            continue
        res = {}
        for tag, scenes in (("seen", c.seen), ("heldout", c.heldout)):
            import random
            rng = random.Random(55)
            x = data.to_tensor(np.stack([data.render(s, rng) for s in scenes]))
            if name == "vae-reconstruction":
                with torch.no_grad():
                    x = c.dec(c.enc(x)[0]).clamp(-1, 1)
            res[tag] = score(c, x, scenes)
        row = {"pipeline": name, "scheduler": None, "steps": None, "guidance_scale": None,
               "prompt_accuracy": res["seen"][0], "prompt_accuracy_heldout": res["heldout"][0],
               "attribute_accuracy": res["seen"][1], "attribute_accuracy_heldout": res["heldout"][1],
               "frechet_distance": E.frechet(res["seen"][2], c.ref), "samples": None, "n_seen": len(c.seen),
               "n_heldout": len(c.heldout)}
        json.dump(row, open(path, "w"))
        rows.append(row)
    return rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pipelines", default="")
    ap.add_argument("--n-seen", type=int, default=100)
    ap.add_argument("--n-heldout", type=int, default=50)
    ap.add_argument("--ddpm-seen", type=int, default=32)
    ap.add_argument("--ddpm-heldout", type=int, default=16)
    ap.add_argument("--samples-dir", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "models", "samples"))
    ap.add_argument("--only-ddpm", action="store_true")
    ap.add_argument("--skip-ddpm", action="store_true")
    args = ap.parse_args()
    setup_threads()
    os.makedirs(EVAL_DIR, exist_ok=True)
    os.makedirs(args.samples_dir, exist_ok=True)
    c = Ctx(args.n_seen, args.n_heldout)
    for r in reference_rows(c):
        print(json.dumps(r))
    reg = registry()
    names = [n for n in (args.pipelines.split(",") if args.pipelines else reg) if n]
    for name in names:
        spec = reg[name]
        if spec["frozen"]:
            print(f"skip {name}: frozen (its earlier rows stay in models/report.json)")
            continue
        if not os.path.exists(spec["ckpt"]):
            print(f"skip {name}: no checkpoint {spec['ckpt']}")
            continue
        unet = load_pipeline_unet(spec)
        unet.eval()
        for sched_name, steps, g in spec["eval"]:
            is_ddpm = sched_name == "DDPMScheduler"
            if (args.only_ddpm and not is_ddpm) or (args.skip_ddpm and is_ddpm):
                continue
            path = os.path.join(EVAL_DIR, f"{name}_{sched_name}_{steps}_{g}.json")
            if os.path.exists(path) and os.path.getmtime(path) > os.path.getmtime(spec["ckpt"]):
                print("cached", open(path).read())
                continue
            seen = c.seen[: args.ddpm_seen] if is_ddpm else c.seen
            held = c.heldout[: args.ddpm_heldout] if is_ddpm else c.heldout
            t0 = time.time()
            im_s = generate(c, unet, spec, sched_name, steps, g, seen, 1234)
            im_h = generate(c, unet, spec, sched_name, steps, g, held, 4321)
            dt = time.time() - t0
            acc_s, att_s, feat = score(c, im_s, seen)
            acc_h, att_h, _ = score(c, im_h, held)
            row = {"pipeline": name, "scheduler": sched_name, "steps": steps, "guidance_scale": g,
                   "prompt_accuracy": acc_s, "prompt_accuracy_heldout": acc_h,
                   "attribute_accuracy": att_s, "attribute_accuracy_heldout": att_h,
                   "frechet_distance": E.frechet(feat, c.ref), "samples": None,
                   "n_seen": len(seen), "n_heldout": len(held), "seconds_per_image_torch_1thread": dt / (len(seen) + len(held))}
            if not is_ddpm:
                row["prompt_accuracy_partial"] = score_partial(c, unet, spec, sched_name, steps, g, "seen", len(seen), 1234)
                row["prompt_accuracy_partial_heldout"] = score_partial(c, unet, spec, sched_name, steps, g, "heldout",
                                                                       len(held), 4321)
            few = spec["fewstep"]
            if steps == few["default_steps"] and g == few["guidance_scale"] and not is_ddpm:
                png = os.path.join(args.samples_dir, f"{name}.png")
                grid_png(torch.cat([im_s[:16], im_h[:16]]), png)
                row["samples"] = f"samples/{name}.png"
            json.dump(row, open(path, "w"))
            print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
