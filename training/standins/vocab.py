"""Stand-in CLIP vocab/merges: a small valid CLIP-BPE subset that keeps the real token ids.

Built only from published data: the golden cases in tests/fixtures/clip-tokenizer-golden.json (token strings and
ids printed by transformers.js' CLIP tokenizer test) plus the 512 byte-level base tokens, whose ids follow from
CLIP's bytes_to_unicode() order. The real merges.txt is not used: each multi-character token gets a chain of merges
(left to right), and intermediate tokens get ids from the range no golden token uses (48000 and up, skipping the
published ones). Ranks are then adjusted until every standin-checkable golden case tokenizes to its published ids
with this subset. Other prompts tokenize differently from the real vocab (mostly into single bytes), which is
fine for a stand-in: ids stay inside [0, 49408) and the graphs accept any of them.
"""
from __future__ import annotations

import json
from pathlib import Path

from clip_bpe import BOS_ID, BYTE_ENCODER, EOS_ID, base_vocab, bpe, normalize, pretokenize

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "tests" / "fixtures" / "clip-tokenizer-golden.json"
SPECIAL = {"<|startoftext|>": BOS_ID, "<|endoftext|>": EOS_ID}


def _symbols(token: str) -> list[str]:
    """Split a vocab token into its byte-level characters (the last one keeps '</w>')."""
    end = token.endswith("</w>")
    core = token[:-4] if end else token
    syms = list(core)
    if end:
        syms[-1] += "</w>"
    return syms


def _pieces_with_tokens(case: dict) -> list[tuple[str, list[str]]]:
    pieces = pretokenize(normalize(case["text"]))
    toks = list(case["tokens"])
    out = []
    for p in pieces:
        want = "".join(BYTE_ENCODER[b] for b in p.encode("utf-8")) + "</w>"
        got, acc = [], ""
        while acc != want:
            if not toks:
                raise ValueError(f"{case['id']}: tokens do not cover piece {p!r}")
            t = toks.pop(0)
            got.append(t)
            acc += t
            if len(acc) > len(want) or not want.startswith(acc):
                raise ValueError(f"{case['id']}: token {t!r} does not fit piece {p!r}")
        out.append((p, got))
    if toks:
        raise ValueError(f"{case['id']}: {len(toks)} tokens left over")
    return out


def checkable_cases(golden: dict) -> list[dict]:
    return [c for c in golden["cases"] if c.get("standinCheckable", True) and "tokens" in c
            and not c["id"].startswith("tfjs-owlvit")]


def _fit(pieces, published, max_rounds):
    """Vocab + merges for these (piece, wanted tokens); None if the chain merges cannot reproduce them."""
    vocab = base_vocab()
    for tok, i in published.items():
        if tok in vocab and vocab[tok] != i:
            raise ValueError(f"base token {tok!r}: published id {i}, byte order gives {vocab[tok]}")
        vocab[tok] = i
    used = set(vocab.values()) | set(SPECIAL.values())
    free = (i for i in range(48000, BOS_ID) if i not in used)
    merges: list[tuple[str, str]] = []
    chains: dict[str, list[tuple[str, str]]] = {}
    for tok in sorted(published, key=lambda t: (len(_symbols(t)), t)):
        syms = _symbols(tok)
        chain = []
        cur = syms[0]
        for s in syms[1:]:
            pair = (cur, s)
            cur = cur + s
            chain.append(pair)
            if cur not in vocab:
                vocab[cur] = next(free)
            if pair not in merges:
                merges.append(pair)
        chains[tok] = chain

    for _ in range(max_rounds):
        ranks = {m: i for i, m in enumerate(merges)}
        bad = next(((p, want) for p, want in pieces if bpe(p, ranks) != want), None)
        if bad is None:
            vocab.update(SPECIAL)
            return vocab, merges
        p, want = bad
        # Replay BPE on this piece; at the first step that applies a merge outside the wanted chains,
        # move the best wanted merge available at that step in front of it.
        wanted = {m for t in want for m in chains.get(t, [])}
        word = [BYTE_ENCODER[b] for b in p.encode("utf-8")]
        word[-1] += "</w>"
        while True:
            cands = [(ranks[pr], pr) for pr in zip(word, word[1:]) if pr in ranks]
            if not cands:
                return None
            _, pr = min(cands)
            if pr not in wanted:
                good = sorted((ranks[c], c) for c in zip(word, word[1:]) if c in wanted)
                if not good:
                    return None
                g = good[0][1]
                merges.remove(g)
                merges.insert(merges.index(pr), g)
                break
            a, b = pr
            nw, i = [], 0
            while i < len(word):
                if i < len(word) - 1 and word[i] == a and word[i + 1] == b:
                    nw.append(a + b)
                    i += 2
                else:
                    nw.append(word[i])
                    i += 1
            word = nw
    return None


def build(golden_path: Path = GOLDEN, max_rounds: int = 300) -> tuple[dict[str, int], list[tuple[str, str]], list[str]]:
    """Returns (vocab, merges, ids of the golden cases this subset reproduces).

    Cases are added one at a time, in file order; a case whose tokens the chain merges cannot reproduce together
    with the ones already in is left out (and reported as not standin-checkable)."""
    golden = json.loads(golden_path.read_text(encoding="utf-8"))
    pieces: list[tuple[str, list[str]]] = []
    published: dict[str, int] = {}
    kept: list[str] = []
    best = _fit([], {}, max_rounds)
    for case in checkable_cases(golden):
        pub = dict(published)
        ok = True
        for tok, i in zip(case["tokens"], case["ids"][1:-1]):
            if pub.setdefault(tok, i) != i:
                ok = False
        if not ok:
            continue
        trial_pieces = pieces + _pieces_with_tokens(case)
        fit = _fit(trial_pieces, pub, max_rounds)
        if fit is None:
            continue
        pieces, published, best = trial_pieces, pub, fit
        kept.append(case["id"])
    vocab, merges = best
    return vocab, merges, kept


def tokenizer_json(vocab: dict[str, int], merges: list[tuple[str, str]], *, bang_special: bool = False) -> dict:
    """HF tokenizers JSON with the structure of the published CLIP tokenizer.json files."""
    added = [
        {"id": BOS_ID, "content": "<|startoftext|>", "single_word": False, "lstrip": False, "rstrip": False,
         "normalized": True, "special": True},
        {"id": EOS_ID, "content": "<|endoftext|>", "single_word": False, "lstrip": False, "rstrip": False,
         "normalized": False, "special": True},
    ]
    if bang_special:
        added.insert(0, {"id": 0, "content": "!", "single_word": False, "lstrip": False, "rstrip": False,
                         "normalized": False, "special": True})
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": added,
        "normalizer": {"type": "Sequence", "normalizers": [
            {"type": "NFC"},
            {"type": "Replace", "pattern": {"Regex": "\\s+"}, "content": " "},
            {"type": "Lowercase"}]},
        "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
            {"type": "Split", "pattern": {"Regex": "'s|'t|'re|'ve|'m|'ll|'d|[\\p{L}]+|[\\p{N}]|[^\\s\\p{L}\\p{N}]+"},
             "behavior": "Removed", "invert": True},
            {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True}]},
        "post_processor": {"type": "RobertaProcessing", "sep": ["<|endoftext|>", EOS_ID],
                           "cls": ["<|startoftext|>", BOS_ID], "trim_offsets": False, "add_prefix_space": False},
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
        "model": {"type": "BPE", "dropout": None, "unk_token": "<|endoftext|>", "continuing_subword_prefix": "",
                  "end_of_word_suffix": "</w>", "fuse_unk": False, "byte_fallback": False,
                  "vocab": dict(sorted(vocab.items(), key=lambda kv: kv[1])),
                  "merges": [f"{a} {b}" for a, b in merges]},
    }


def merges_txt(merges: list[tuple[str, str]]) -> str:
    return "#version: 0.2\n" + "".join(f"{a} {b}\n" for a, b in merges)


def vocab_json(vocab: dict[str, int]) -> str:
    return json.dumps(dict(sorted(vocab.items(), key=lambda kv: kv[1])), ensure_ascii=False)
