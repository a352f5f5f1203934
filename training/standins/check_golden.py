"""Check tests/fixtures/clip-tokenizer-golden.json against a CLIP vocab.json + merges.txt.

    /usr/bin/python3 training/standins/check_golden.py DIR      # DIR holds vocab.json and merges.txt

With the real files (e.g. stabilityai/sd-turbo or any SD tokenizer/ folder, or microsoft/webnn-developer-preview
demos/stable-diffusion-1.5/models/tokenizer) every case except the added-special-token one must match; with a
stand-in tokenizer/ folder (fixtures/generated/standins/*/tokenizer) the cases marked standinCheckable must.
The encoder used here (clip_bpe.py) is a reference for checking; the golden ids come from published tests.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from clip_bpe import encode, read_merges  # noqa: E402

GOLDEN = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "clip-tokenizer-golden.json"


def main() -> int:
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    d = Path(sys.argv[1])
    vocab = json.loads((d / "vocab.json").read_text(encoding="utf-8"))
    merges = read_merges((d / "merges.txt").read_text(encoding="utf-8"))
    real = len(vocab) == 49408
    golden = json.loads(GOLDEN.read_text(encoding="utf-8"))
    bad = checked = 0
    for c in golden["cases"] + golden["padded"]:
        if c["id"] == "tfjs-owlvit-bang-added-special" or not (real or c.get("standinCheckable")):
            continue
        pad = (c.get("padding") or {}).get("padTokenId")
        ids = encode(c["text"], vocab, merges, pad_id=pad, max_length=77 if c.get("padding") else None)
        checked += 1
        if ids != c["ids"]:
            bad += 1
            print(f"MISMATCH {c['id']}: got {ids} want {c['ids']}")
    print(f"{checked - bad}/{checked} golden cases match ({'full' if real else 'stand-in'} vocab of {len(vocab)})")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
