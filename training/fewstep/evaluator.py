"""Attribute classifier used as the evaluator: prompt accuracy and a Frechet distance on its features."""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from . import grammar

FEAT = 128
SIZES = [len(v) for _, v in grammar.ATTRIBUTES]
OFFSETS = np.cumsum([0] + SIZES).tolist()


class Evaluator(nn.Module):
    """image [B,3,64,64] in [-1,1] -> logits [B, sum(classes)] (heads concatenated), features [B,128]."""

    def __init__(self):
        super().__init__()

        def blk(i, o):
            return [nn.Conv2d(i, o, 3, stride=2, padding=1), nn.BatchNorm2d(o), nn.SiLU(),
                    nn.Conv2d(o, o, 3, padding=1), nn.BatchNorm2d(o), nn.SiLU()]
        self.body = nn.Sequential(*blk(3, 24), *blk(24, 48), *blk(48, 64), *blk(64, 96), nn.Flatten(),
                                  nn.Linear(96 * 16, FEAT), nn.SiLU())
        self.head = nn.Linear(FEAT, OFFSETS[-1])

    def forward(self, image):
        f = self.body(image)
        return self.head(f), f


def split_logits(logits):
    return [logits[:, OFFSETS[k]:OFFSETS[k + 1]] for k in range(len(SIZES))]


def predict(ev, images, bs=256):
    """images float [-1,1] -> (pred labels [N, n_attr], features [N,FEAT])"""
    preds, feats = [], []
    ev.eval()
    with torch.no_grad():
        for i in range(0, len(images), bs):
            lg, f = ev(images[i:i + bs])
            preds.append(torch.stack([p.argmax(-1) for p in split_logits(lg)], 1))
            feats.append(f)
    return torch.cat(preds), torch.cat(feats)


def prompt_match(pred, scenes, keys_list=None):
    """fraction of images whose predicted attributes match every attribute named in the prompt; keys_list gives
    the attributes each (partial) prompt names, None = the full caption's"""
    names = [n for n, _ in grammar.ATTRIBUTES]
    ok = []
    for j, (p, s) in enumerate(zip(pred.tolist(), scenes)):
        keys = keys_list[j] if keys_list else (grammar.SINGLE_KEYS if s["count"] == 1 else grammar.PAIR_KEYS)
        lab = grammar.scene_labels(s)
        ok.append(all(p[names.index(k)] == lab[names.index(k)] for k in keys))
    return float(np.mean(ok))


def attribute_match(pred, scenes):
    """mean fraction of prompted attributes that match (softer than prompt_match)"""
    names = [n for n, _ in grammar.ATTRIBUTES]
    acc = []
    for p, s in zip(pred.tolist(), scenes):
        keys = grammar.SINGLE_KEYS if s["count"] == 1 else grammar.PAIR_KEYS
        lab = grammar.scene_labels(s)
        acc.append(np.mean([p[names.index(k)] == lab[names.index(k)] for k in keys]))
    return float(np.mean(acc))


def frechet(f1, f2):
    f1, f2 = np.asarray(f1, np.float64), np.asarray(f2, np.float64)
    m1, m2 = f1.mean(0), f2.mean(0)
    s1, s2 = np.cov(f1, rowvar=False), np.cov(f2, rowvar=False)
    # tr sqrt(s1 s2) = sum sqrt(eig(sqrt(s1) s2 sqrt(s1)))
    w, v = np.linalg.eigh(s1)
    r1 = (v * np.sqrt(np.clip(w, 0, None))) @ v.T
    e = np.linalg.eigvalsh(r1 @ s2 @ r1)
    tr = np.sqrt(np.clip(e, 0, None)).sum()
    return float(((m1 - m2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * tr)


def labels_json():
    return {"input": {"name": "image", "shape": ["batch", 3, 64, 64], "range": [-1, 1],
                      "note": "same layout and range as the vae_decoder output"},
            "outputs": {"logits": {"shape": ["batch", OFFSETS[-1]],
                                   "note": "attribute heads concatenated; argmax within each slice"},
                        "features": {"shape": ["batch", FEAT], "note": "penultimate features for the Frechet distance"}},
            "attributes": [{"name": n, "classes": v, "offset": OFFSETS[k], "size": len(v)}
                           for k, (n, v) in enumerate(grammar.ATTRIBUTES)],
            "prompt_keys": {"one_object": grammar.SINGLE_KEYS, "two_objects": grammar.PAIR_KEYS},
            "not_applicable": "shape/colour/size/position apply to one-object scenes, left_*/right_* to two-object scenes"}
