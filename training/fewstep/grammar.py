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


# ---------------------------------------------------------------- captions people write (partial, synonyms, order)
SIZE_WORDS = {"small": ["small", "tiny", "little"], "large": ["large", "big"]}
POSITION_WORDS = {
    "center": ["in the center", "in the centre", "in the middle", "centered"],
    "left": ["on the left", "at the left", "on the left side"],
    "right": ["on the right", "at the right", "on the right side"],
    "top": ["at the top", "near the top"],
    "bottom": ["at the bottom", "near the bottom"],
}
BACKGROUND_WORDS = {"black": ["black"], "white": ["white"], "gray": ["gray", "grey"], "navy": ["navy", "dark blue"]}
PLURAL = {"circle": "circles", "square": "squares", "triangle": "triangles"}


def _bg_phrase(rng, bg):
    word = rng.choice(BACKGROUND_WORDS[bg])
    return rng.choice(["on {} {} background", "against {} {} background", "with {} {} background"]).format(
        _a(word), word)


def caption_variant(scene, rng):
    """A caption as people write it, and the attributes it names (the only ones a partial prompt is scored on).

    Any of size, position and background may be left out (the model learns to sample them), and colour or shape
    now and then; synonyms ("grey"/"gray", "in the middle", "dark blue" for navy, "big"), word order ("on a black
    background, a red circle") and counts ("two shapes", "a pair of circles"). Returns (text, keys)."""
    bg = scene["background"]
    if scene["count"] == 1:
        keys = ["count"]
        words = []
        if rng.random() < 0.5:
            words.append(rng.choice(SIZE_WORDS[scene["size"]]))
            keys.append("size")
        if rng.random() < 0.9:
            words.append(scene["colour"])
            keys.append("colour")
        if rng.random() < 0.9 or "colour" not in keys:
            words.append(scene["shape"])
            keys.append("shape")
        else:
            words.append(rng.choice(["shape", "object"]))
        det = rng.choice(["a", "a", "a", "one", "a single"])
        if det == "a":
            det = _a(words[0])
        noun = det + " " + " ".join(words)
        parts = [noun]
        pos = None
        if rng.random() < 0.5:
            pos = rng.choice(POSITION_WORDS[scene["position"]])
            keys.append("position")
        bgp = None
        if rng.random() < 0.5:
            bgp = _bg_phrase(rng, bg)
            keys.append("background")
        order = rng.random()
        if bgp and order < 0.25:
            text = "{}, {}".format(bgp[bgp.index(" ") + 1:], noun) + (" " + pos if pos else "")
        elif pos and order < 0.5 and pos != "centered":
            text = "{}, {}".format(pos, noun) + (" " + bgp if bgp else "")
        else:
            text = " ".join(p for p in (noun, pos, bgp) if p)
        return text, keys
    l_c, l_s, r_c, r_s = scene["left_colour"], scene["left_shape"], scene["right_colour"], scene["right_shape"]
    r = rng.random()
    if r < 0.15:
        keys = ["count"]
        if l_s == r_s and rng.random() < 0.7:
            text = rng.choice(["two {}", "a pair of {}"]).format(PLURAL[l_s])
            keys += ["left_shape", "right_shape"]
            if l_c == r_c and rng.random() < 0.5:
                text = rng.choice(["two {} {}", "a pair of {} {}"]).format(l_c, PLURAL[l_s])
                keys += ["left_colour", "right_colour"]
        else:
            text = rng.choice(["two shapes", "two objects", "a pair of shapes"])
    else:
        keys = ["count"]
        use_c = rng.random() < 0.9
        use_s = rng.random() < 0.9 or not use_c
        if use_c:
            keys += ["left_colour", "right_colour"]
        if use_s:
            keys += ["left_shape", "right_shape"]

        def obj(c, s):
            w = ([c] if use_c else []) + ([s] if use_s else ["shape"])
            return _a(w[0]) + " " + " ".join(w)
        left, right = obj(l_c, l_s), obj(r_c, r_s)
        form = rng.random()
        if form < 0.5:
            text = "{} {} {}".format(left, rng.choice(["and", "next to", "beside"]), right)
        elif form < 0.8:
            text = "{} on the left and {} on the right".format(left, right)
        else:
            text = "{} on the right and {} on the left".format(right, left)
    if rng.random() < 0.5:
        keys.append("background")
        bgp = _bg_phrase(rng, bg)
        text = "{}, {}".format(bgp[bgp.index(" ") + 1:], text) if rng.random() < 0.25 else text + " " + bgp
    return text, keys


def partial_caption(scene, rng):
    """A caption_variant that leaves at least one attribute out (evaluation of partial prompts)."""
    full = set(SINGLE_KEYS if scene["count"] == 1 else PAIR_KEYS)
    while True:
        text, keys = caption_variant(scene, rng)
        if set(keys) != full:
            return text, keys


def training_caption(scene, rng, p_full=0.5):
    """The caption a training step sees: the canonical full caption with probability p_full, else a variant."""
    if rng.random() < p_full:
        return caption(scene)
    return caption_variant(scene, rng)[0]


def scene_from_labels(labels):
    """Inverse of scene_labels."""
    s = {}
    for (name, values), v in zip(ATTRIBUTES, list(labels)):
        v = int(v)
        if name == "count":
            s["count"] = v + 1
        elif v >= 0:
            s[name] = values[v]
    return s


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
               "image", "next", "one", "two", "up", "down", "corner", "above", "below", "beside",
               # captions people write (caption_variant): synonyms, counts, plurals
               "gray", "dark", "little", "large", "centered", "near", "side", "against", "single", "pair",
               "shapes", "objects", "circles", "squares", "triangles"]


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
