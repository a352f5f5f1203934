"""Why partial prompts trail full ones: per-attribute errors of a pipeline on the evaluation's seen scenes, described
once by the full caption and once by the partial caption evaluate.py scores (same scenes, same seed 1234), and the
partial prompts that fail. Uses evaluate.py's Ctx, generate and evaluator; prints a table per pipeline.

usage: python3 diagnose_partial.py [--pipelines fewstep-teacher:DDIMScheduler:50:4.0,...]
"""
import argparse
import collections
import os
import sys

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from evaluate import Ctx, E, generate, grammar, load_pipeline_unet, registry  # noqa: E402
from fewstep.loop import setup_threads  # noqa: E402

DEFAULT = ("fewstep-teacher:DDIMScheduler:50:4.0,fewstep-progressive-1:DDIMScheduler:1:1.0,"
           "fewstep-lcm:LCMScheduler:4:4.0,fewstep-turbo:EulerDiscreteScheduler:1:0.0")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pipelines", default=DEFAULT, help="name:scheduler:steps:guidance, comma separated")
    ap.add_argument("--n-seen", type=int, default=100)
    args = ap.parse_args()
    setup_threads()
    c = Ctx(args.n_seen, 50)
    reg = registry()
    names = [n for n, _ in grammar.ATTRIBUTES]
    texts = [t for t, _ in c.partial["seen"]]
    keys = [k for _, k in c.partial["seen"]]
    for item in args.pipelines.split(","):
        pname, sched, steps, g = item.split(":")
        steps, g = int(steps), float(g)
        spec = reg[pname]
        unet = load_pipeline_unet(spec)
        pred_p, _ = E.predict(c.ev, generate(c, unet, spec, sched, steps, g, c.seen, 1234, texts=texts))
        pred_f, _ = E.predict(c.ev, generate(c, unet, spec, sched, steps, g, c.seen, 1234))
        err_p, n_p, err_f, n_f = (collections.Counter() for _ in range(4))
        fails = []
        for j, s in enumerate(c.seen):
            lab = grammar.scene_labels(s)
            full = grammar.SINGLE_KEYS if s["count"] == 1 else grammar.PAIR_KEYS
            bad = [k for k in keys[j] if pred_p[j][names.index(k)].item() != lab[names.index(k)]]
            for k in keys[j]:
                n_p[k] += 1
                err_p[k] += k in bad
            bad_f = [k for k in full if pred_f[j][names.index(k)].item() != lab[names.index(k)]]
            for k in full:
                n_f[k] += 1
                err_f[k] += k in bad_f
            if bad:
                fails.append((texts[j], bad, "full prompt fails too" if bad_f else "full prompt ok"))
        print(f"== {pname} {sched} {steps} steps, guidance {g}: partial {1 - len(fails) / len(c.seen):.2f}")
        print("  attribute       partial errors/named | full errors/named")
        for k in sorted(set(n_p) | set(n_f)):
            print(f"  {k:14s} {err_p[k]:4d}/{n_p[k]:4d}          | {err_f[k]:4d}/{n_f[k]:4d}")
        for f in fails:
            print("  fails:", f)


if __name__ == "__main__":
    main()
