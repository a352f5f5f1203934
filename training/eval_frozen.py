"""Partial-prompt accuracy of the frozen pipelines (models/ folders kept as shipped), with their own text encoder
and tokenizer vocabulary (runs/shipped/text, rebuilt by import_onnx.py), on the same scenes, noise seeds and
partial captions as evaluate.py. Writes runs/eval/frozen_<pipeline>_<scheduler>_<steps>.json; report.py adds these
numbers to the carried-over rows. usage: eval_frozen.py [--pipelines a,b]"""
import argparse
import json
import os
import sys

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fewstep import grammar  # noqa: E402
from fewstep.loop import RUNS  # noqa: E402
from fewstep.models import TextEncoder  # noqa: E402


def use_vocab(vocab):
    """Point the tokenizer at another vocabulary (the shipped one); the grammar (captions) stays the same."""
    grammar.VOCAB = vocab
    grammar.BOS_ID, grammar.EOS_ID = vocab[grammar.BOS], vocab[grammar.EOS]
    grammar.PAD_ID = grammar.EOS_ID


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pipelines", default="")
    ap.add_argument("--text", default=os.path.join(RUNS, "shipped", "text", "final.pt"))
    args = ap.parse_args()
    torch.set_num_threads(1)
    ck = torch.load(args.text)
    use_vocab(ck["vocab"])
    import evaluate as EV
    from fewstep.common import load_unet
    from fewstep.pipelines import registry

    def shipped_text_encoder(*_a, **_k):
        te = TextEncoder(len(ck["vocab"]), dim=ck["dim"], layers=ck["layers"])
        te.load_state_dict(ck["te"])
        return te.eval()
    EV.load_text_encoder = shipped_text_encoder
    c = EV.Ctx(100, 50)
    reg = registry()
    names = [n for n in (args.pipelines.split(",") if args.pipelines else reg) if n and reg[n]["frozen"]]
    for name in names:
        spec = reg[name]
        few = spec["fewstep"]
        sched, steps, g = next((s, n, w) for s, n, w in spec["eval"] if n == few["default_steps"])
        unet, _ = load_unet(os.path.join(RUNS, "shipped", name[len("fewstep-"):], "final.pt"))
        unet.eval()
        im = EV.generate(c, unet, spec, sched, steps, g, c.seen, 1234)
        acc, _, _ = EV.score(c, im, c.seen)
        row = {"pipeline": name, "scheduler": sched, "steps": steps, "guidance_scale": g, "prompt_accuracy_check": acc,
               "prompt_accuracy_partial": EV.score_partial(c, unet, spec, sched, steps, g, "seen", len(c.seen), 1234),
               "prompt_accuracy_partial_heldout": EV.score_partial(c, unet, spec, sched, steps, g, "heldout",
                                                                   len(c.heldout), 4321)}
        with open(os.path.join(EV.EVAL_DIR, f"frozen_{name}_{sched}_{steps}.json"), "w") as f:
            json.dump(row, f)
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
