"""Stage 2b: CLIP-style text encoder, trained contrastively (InfoNCE) against a small image encoder on
16x16 thumbnails of the scenes, plus an attribute head on the pooled output so that every attribute (and which
object is left or right) is linearly readable. Frozen afterwards: the teacher reads cached embeddings."""
import argparse
import random
import os
import sys

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fewstep import data, grammar  # noqa: E402
from fewstep.loop import Run, setup_threads  # noqa: E402
from fewstep.models import TextEncoder, n_params  # noqa: E402


class ThumbEncoder(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.net = nn.Sequential(nn.Conv2d(3, 32, 3, padding=1), nn.SiLU(), nn.Conv2d(32, 64, 3, stride=2, padding=1),
                                 nn.SiLU(), nn.Conv2d(64, 64, 3, stride=2, padding=1), nn.SiLU(), nn.Flatten(),
                                 nn.Linear(64 * 16, dim))

    def forward(self, x):
        return self.net(x)


def init_from(te, ck):
    """Copy a text checkpoint's weights into `te`; token rows are matched by token string (the vocabulary may have
    grown: new words start from small random rows)."""
    old = ck["te"]
    old_vocab = ck.get("vocab")
    sd = te.state_dict()
    for k, v in old.items():
        if k == "tok.weight":
            continue
        sd[k].copy_(v)
    if old_vocab is None:
        raise SystemExit("--init checkpoint has no vocabulary (import it with import_onnx.py)")
    n_kept = 0
    for tok, new_id in grammar.VOCAB.items():
        if tok in old_vocab:
            sd["tok.weight"][new_id] = old["tok.weight"][old_vocab[tok]]
            n_kept += 1
    te.load_state_dict(sd)
    print(f"init from checkpoint: {n_kept}/{len(grammar.VOCAB)} token rows carried over")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=400)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--images", type=int, default=20000)
    ap.add_argument("--run", default="text")
    ap.add_argument("--small", action="store_true")
    ap.add_argument("--init", default="", help="start from this text checkpoint (e.g. one import_onnx.py rebuilt "
                    "from the shipped models); token embeddings are carried over by token string")
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--p-full", type=float, default=0.5, help="share of canonical full captions; the rest are "
                    "grammar.caption_variant (partial, synonyms, word order)")
    args = ap.parse_args()
    setup_threads()
    torch.manual_seed(0)
    imgs, labels, caps = data.make_dataset(args.images, seed=2, heldout=False)
    thumbs = F.avg_pool2d(data.to_tensor(imgs), 4)
    labels = torch.from_numpy(labels)
    scenes = [grammar.scene_from_labels(lab) for lab in labels.tolist()]
    names = [n for n, _ in grammar.ATTRIBUTES]
    te = TextEncoder(len(grammar.VOCAB), **({"dim": 32, "layers": 1} if args.small else {}))
    if args.init:
        init_from(te, torch.load(args.init))
    img_enc = ThumbEncoder(te.dim)
    heads = nn.ModuleList([nn.Linear(te.dim, len(v)) for _, v in grammar.ATTRIBUTES])
    logit_scale = nn.Parameter(torch.tensor(2.659))
    params = list(te.parameters()) + list(img_enc.parameters()) + list(heads.parameters()) + [logit_scale]
    opt = torch.optim.AdamW(params, lr=args.lr, weight_decay=0.01)
    extra = nn.ParameterDict({"logit_scale": logit_scale})
    run = Run(args.run, {"te": te, "img": img_enc, "heads": heads, "extra": extra, "opt": opt}, args.steps, log_every=25)
    run.print(f"text encoder {n_params(te)} params")
    g = torch.Generator().manual_seed(run.step)
    rng = random.Random(run.step)
    while not run.done:
        idx = torch.randint(0, len(scenes), (args.batch,), generator=g)
        lab = labels[idx].clone()
        ids = []
        for row, i in enumerate(idx.tolist()):
            if rng.random() < args.p_full:
                ids.append(grammar.encode(grammar.caption(scenes[i])))
                continue
            text, keys = grammar.caption_variant(scenes[i], rng)
            ids.append(grammar.encode(text))
            for k, n in enumerate(names):
                if n not in keys:
                    lab[row, k] = -1  # an attribute the caption leaves out is not supervised
        _, pooled = te(torch.tensor(ids, dtype=torch.int64))
        ti = F.normalize(pooled, dim=-1)
        ii = F.normalize(img_enc(thumbs[idx]), dim=-1)
        logits = logit_scale.exp().clamp(max=100) * ti @ ii.t()
        tgt = torch.arange(args.batch)
        nce = 0.5 * (F.cross_entropy(logits, tgt) + F.cross_entropy(logits.t(), tgt))
        ce = sum(F.cross_entropy(h(pooled), lab[:, k], ignore_index=-1) for k, h in enumerate(heads))
        acc = torch.stack([(h(pooled).argmax(-1) == lab[:, k])[lab[:, k] >= 0].float().mean()
                           for k, h in enumerate(heads) if (lab[:, k] >= 0).any()]).mean()
        loss = nce + ce
        opt.zero_grad()
        loss.backward()
        opt.step()
        run.tick(nce=nce.item(), ce=ce.item(), attr_acc=acc.item())
    te.eval()
    torch.save({"te": te.state_dict(), "dim": te.dim, "layers": te.num_layers, "vocab": grammar.VOCAB,
                "elapsed": run.elapsed, "steps": run.step, "init": args.init or None}, os.path.join(run.dir, "final.pt"))
    run.print("wrote final.pt")


if __name__ == "__main__":
    main()
