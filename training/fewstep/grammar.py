"""Caption grammar, scene sampling and the WordPiece tokenizer shared by every stage.

A scene is one object (size, colour, shape, position) or two objects (colour and shape, left and right),
on a background colour. Captions are generated from the scene, so every image carries its ground truth.
Some (colour, shape) pairs never appear in training scenes: they measure generalisation ("held-out").
"""
import json
import random
import re

SHAPES = ["circle", "square", "triangle"]
COLOURS = ["red", "green", "blue", "yellow", "purple", "orange"]
SIZES = ["small", "large"]
POSITIONS = ["center", "left", "right", "top", "bottom"]
BACKGROUNDS = ["black", "white", "gray", "navy"]
POSITION_PHRASE = {
    "center": "in the center",
    "left": "on the left",
    "right": "on the right",
    "top": "at the top",
    "bottom": "at the bottom",
}
# (colour, shape) pairs that are never drawn in training data
HELDOUT_PAIRS = {("red", "triangle"), ("green", "circle"), ("blue", "square")}

# Attribute heads of the evaluator, in this order (models/evaluator/labels.json repeats it).
ATTRIBUTES = [
    ("count", ["1", "2"]),
    ("background", BACKGROUNDS),
    ("shape", SHAPES),        # single object
    ("colour", COLOURS),      # single object
    ("size", SIZES),          # single object
    ("position", POSITIONS),  # single object
    ("left_shape", SHAPES),   # two objects
    ("left_colour", COLOURS),
    ("right_shape", SHAPES),
    ("right_colour", COLOURS),
]
SINGLE_KEYS = ["count", "background", "shape", "colour", "size", "position"]
PAIR_KEYS = ["count", "background", "left_shape", "left_colour", "right_shape", "right_colour"]


def _a(word):
    return "an" if word[0] in "aeiou" else "a"


def caption(scene):
    if scene["count"] == 1:
        return "a {} {} {} {} on a {} background".format(
            scene["size"], scene["colour"], scene["shape"], POSITION_PHRASE[scene["position"]], scene["background"])
    return "{} {} {} and {} {} {} on {} {} background".format(
        _a(scene["left_colour"]), scene["left_colour"], scene["left_shape"], _a(scene["right_colour"]),
        scene["right_colour"], scene["right_shape"], _a(scene["background"]), scene["background"])


def is_heldout(scene):
    if scene["count"] == 1:
        return (scene["colour"], scene["shape"]) in HELDOUT_PAIRS
    return ((scene["left_colour"], scene["left_shape"]) in HELDOUT_PAIRS
            or (scene["right_colour"], scene["right_shape"]) in HELDOUT_PAIRS)


def sample_scene(rng, heldout=None):
    """heldout=None: any scene; False: only seen combinations; True: at least one held-out pair."""
    while True:
        bg = rng.choice(BACKGROUNDS)
        if rng.random() < 0.6:
            s = {"count": 1, "background": bg, "shape": rng.choice(SHAPES), "colour": rng.choice(COLOURS),
                 "size": rng.choice(SIZES), "position": rng.choice(POSITIONS)}
        else:
            s = {"count": 2, "background": bg, "left_shape": rng.choice(SHAPES), "left_colour": rng.choice(COLOURS),
                 "right_shape": rng.choice(SHAPES), "right_colour": rng.choice(COLOURS)}
        if heldout is None or is_heldout(s) == heldout:
            return s


def scene_labels(scene):
    """Label index per attribute, -1 where the attribute does not apply."""
    out = []
    for name, values in ATTRIBUTES:
        if name == "count":
            out.append(scene["count"] - 1)
        elif name in scene:
            out.append(values.index(scene[name]))
        else:
            out.append(-1)
    return out


# ---------------------------------------------------------------- tokenizer (WordPiece, CLIP-like specials)
MAX_LEN = 77
BOS = "<|startoftext|>"
EOS = "<|endoftext|>"
UNK = "<|unk|>"
EXTRA_WORDS = ["a", "an", "the", "and", "on", "in", "at", "of", "to", "with", "is", "background", "centre",
               "middle", "big", "tiny", "medium", "grey", "pink", "brown", "shape", "object", "picture", "photo",
               "image", "next", "one", "two", "up", "down", "corner", "above", "below", "beside"]


def build_vocab():
    words = []
    for w in (EXTRA_WORDS + SHAPES + COLOURS + SIZES + POSITIONS + BACKGROUNDS
              + " ".join(POSITION_PHRASE.values()).split()):
        if w not in words:
            words.append(w)
    chars = list("abcdefghijklmnopqrstuvwxyz0123456789")
    punct = list(",.!?;:'\"-()")
    vocab = [UNK] + words + chars + ["##" + c for c in chars] + punct
    vocab = list(dict.fromkeys(vocab))
    vocab += [BOS, EOS]  # EOS has the highest id: pooling takes argmax(input_ids), as CLIP does
    return {tok: i for i, tok in enumerate(vocab)}


VOCAB = build_vocab()
BOS_ID = VOCAB[BOS]
EOS_ID = VOCAB[EOS]
PAD_ID = EOS_ID  # SD 1.x style: pad with <|endoftext|>
_PUNCT = re.escape(",.!?;:'\"-()[]{}/\\&*+=<>@#$%^_`~|")


def _pretokenize(text):
    text = text.lower()
    return re.findall(r"[^\s" + _PUNCT + r"]+|[" + _PUNCT + r"]", text)


def _wordpiece(word):
    if len(word) > 100:
        return [VOCAB[UNK]]
    ids, start = [], 0
    while start < len(word):
        end, cur = len(word), None
        while start < end:
            sub = word[start:end] if start == 0 else "##" + word[start:end]
            if sub in VOCAB:
                cur = VOCAB[sub]
                break
            end -= 1
        if cur is None:
            return [VOCAB[UNK]]
        ids.append(cur)
        start = end
    return ids


def encode(text, max_len=MAX_LEN):
    ids = [BOS_ID]
    for w in _pretokenize(text):
        ids += _wordpiece(w)
    ids = ids[: max_len - 1] + [EOS_ID]
    return ids + [PAD_ID] * (max_len - len(ids))


def tokenizer_json():
    vocab = VOCAB
    special = [{"id": vocab[t], "content": t, "single_word": False, "lstrip": False, "rstrip": False,
                "normalized": False, "special": True} for t in (UNK, BOS, EOS)]
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": special,
        "normalizer": {"type": "BertNormalizer", "clean_text": True, "handle_chinese_chars": True,
                       "strip_accents": None, "lowercase": True},
        "pre_tokenizer": {"type": "BertPreTokenizer"},
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [{"SpecialToken": {"id": BOS, "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                       {"SpecialToken": {"id": EOS, "type_id": 0}}],
            "pair": [{"SpecialToken": {"id": BOS, "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                     {"SpecialToken": {"id": EOS, "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}},
                     {"SpecialToken": {"id": EOS, "type_id": 1}}],
            "special_tokens": {BOS: {"id": BOS, "ids": [vocab[BOS]], "tokens": [BOS]},
                               EOS: {"id": EOS, "ids": [vocab[EOS]], "tokens": [EOS]}},
        },
        "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": True},
        "model": {"type": "WordPiece", "unk_token": UNK, "continuing_subword_prefix": "##",
                  "max_input_chars_per_word": 100, "vocab": vocab},
    }


def tokenizer_config():
    return {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "model_max_length": MAX_LEN,
        "padding_side": "right",
        "bos_token": BOS,
        "eos_token": EOS,
        "pad_token": EOS,
        "unk_token": UNK,
        "do_lower_case": True,
        "clean_up_tokenization_spaces": True,
        "added_tokens_decoder": {str(VOCAB[t]): {"content": t, "lstrip": False, "normalized": False,
                                                 "rstrip": False, "single_word": False, "special": True}
                                 for t in (UNK, BOS, EOS)},
    }


def special_tokens_map():
    return {"bos_token": BOS, "eos_token": EOS, "pad_token": EOS, "unk_token": UNK}


def write_tokenizer(folder):
    import os
    os.makedirs(folder, exist_ok=True)
    for name, obj in (("tokenizer.json", tokenizer_json()), ("tokenizer_config.json", tokenizer_config()),
                      ("special_tokens_map.json", special_tokens_map())):
        with open(os.path.join(folder, name), "w") as f:
            json.dump(obj, f, indent=1)


def eval_prompts(n, heldout, seed):
    rng = random.Random(seed)
    return [sample_scene(rng, heldout=heldout) for _ in range(n)]
