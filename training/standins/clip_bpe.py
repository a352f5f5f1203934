"""A small, dependency-free CLIP BPE encoder (reference for the stand-in tokenizer files).

It follows the published CLIP tokenizer.json pipeline (as shipped in Xenova/clip-vit-base-patch16 and
microsoft/webnn-developer-preview demos/*/models/tokenizer/tokenizer.json):
  normalizer:    NFC, Replace(/\\s+/ -> " "), Lowercase
  pre-tokenizer: Split on 's|'t|'re|'ve|'m|'ll|'d|[\\p{L}]+|[\\p{N}]|[^\\s\\p{L}\\p{N}]+ (keep matches),
                 then ByteLevel (bytes -> printable unicode, GPT-2 table)
  model:         BPE, end_of_word_suffix "</w>", unk "<|endoftext|>"
  post:          <|startoftext|> (49406) ... <|endoftext|> (49407)

It exists to build and check the stand-in vocab/merges (training/make_standins.py) and to check the golden ids
in tests/fixtures/clip-tokenizer-golden.json against a real vocab.json/merges.txt when one is at hand
(training/standins/check_golden.py). It is NOT the source of the golden ids: those come from published tests.
"""
from __future__ import annotations

import unicodedata

BOS_ID = 49406
EOS_ID = 49407
VOCAB_SIZE = 49408
CONTRACTIONS = ("'s", "'t", "'re", "'ve", "'m", "'ll", "'d")


def bytes_to_unicode() -> dict[int, str]:
    """GPT-2 / CLIP byte -> printable character table, in CLIP's vocab order (ids 0..255)."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, (chr(c) for c in cs)))


BYTE_ENCODER = bytes_to_unicode()


def base_vocab() -> dict[str, int]:
    """The first 512 entries of every CLIP vocab: the 256 byte characters, then the same with '</w>'."""
    chars = list(BYTE_ENCODER.values())
    vocab = {c: i for i, c in enumerate(chars)}
    vocab.update({c + "</w>": 256 + i for i, c in enumerate(chars)})
    return vocab


def _is_letter(ch: str) -> bool:
    return unicodedata.category(ch).startswith("L")


def _is_number(ch: str) -> bool:
    return unicodedata.category(ch).startswith("N")


def normalize(text: str) -> str:
    text = unicodedata.normalize("NFC", text)
    out = []
    in_space = False
    for ch in text:
        if ch.isspace():
            if not in_space:
                out.append(" ")
            in_space = True
        else:
            out.append(ch)
            in_space = False
    return "".join(out).lower()


def pretokenize(text: str) -> list[str]:
    pieces = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        hit = next((c for c in CONTRACTIONS if text.startswith(c, i)), None)
        if hit:
            pieces.append(hit)
            i += len(hit)
        elif _is_letter(ch):
            j = i + 1
            while j < n and _is_letter(text[j]):
                j += 1
            pieces.append(text[i:j])
            i = j
        elif _is_number(ch):
            pieces.append(ch)
            i += 1
        elif ch.isspace():
            i += 1
        else:
            j = i + 1
            while j < n and not (text[j].isspace() or _is_letter(text[j]) or _is_number(text[j])):
                j += 1
            pieces.append(text[i:j])
            i = j
    return pieces


def bpe(piece: str, ranks: dict[tuple[str, str], int]) -> list[str]:
    word = [BYTE_ENCODER[b] for b in piece.encode("utf-8")]
    word[-1] = word[-1] + "</w>"
    while len(word) > 1:
        best = None
        for pair in zip(word, word[1:]):
            r = ranks.get(pair)
            if r is not None and (best is None or r < best[0]):
                best = (r, pair)
        if best is None:
            break
        a, b = best[1]
        merged, i = [], 0
        while i < len(word):
            if i < len(word) - 1 and word[i] == a and word[i + 1] == b:
                merged.append(a + b)
                i += 2
            else:
                merged.append(word[i])
                i += 1
        word = merged
    return word


def read_merges(text: str) -> list[tuple[str, str]]:
    out = []
    for line in text.splitlines():
        if not line or line.startswith("#version"):
            continue
        a, b = line.split(" ")
        out.append((a, b))
    return out


def tokenize(text: str, merges: list[tuple[str, str]]) -> list[str]:
    ranks = {m: i for i, m in enumerate(merges)}
    toks: list[str] = []
    for piece in pretokenize(normalize(text)):
        toks.extend(bpe(piece, ranks))
    return toks


def encode(text: str, vocab: dict[str, int], merges: list[tuple[str, str]], *, pad_id: int | None = None,
           max_length: int | None = None) -> list[int]:
    """ids with BOS/EOS; with max_length: truncated to max_length (EOS kept) and, with pad_id, padded."""
    ids = [vocab.get(t, EOS_ID) for t in tokenize(text, merges)]
    if max_length is not None and len(ids) > max_length - 2:
        ids = ids[: max_length - 2]
    ids = [BOS_ID] + ids + [EOS_ID]
    if max_length is not None and pad_id is not None:
        ids = ids + [pad_id] * (max_length - len(ids))
    return ids
