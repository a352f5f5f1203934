"""Procedural 64x64 captioned scenes, deterministic from a seed."""
import math
import random

import numpy as np
from PIL import Image, ImageDraw

from . import grammar

RES = 64
SS = 4  # supersampling for anti-aliased edges
RGB = {"red": (220, 40, 40), "green": (40, 170, 60), "blue": (50, 90, 235), "yellow": (240, 215, 40),
       "purple": (150, 60, 200), "orange": (250, 140, 20)}
BG_RGB = {"black": (15, 15, 15), "white": (240, 240, 240), "gray": (128, 128, 128), "navy": (20, 30, 85)}
CENTERS = {"center": (32, 32), "left": (17, 32), "right": (47, 32), "top": (32, 17), "bottom": (32, 47)}
RADIUS = {"small": 7.0, "large": 13.0}


STYLES = ("plain", "ink")
INK = (12, 12, 16)  # outline colour of the "ink" style
INK_WIDTH = 2.5  # outline width in output pixels
SHADOW = 3.0  # drop-shadow offset in output pixels


def _draw(d, shape, cx, cy, r, rgb, rot, outline=None, width=0):
    s = SS
    cx, cy, r = cx * s, cy * s, r * s
    w = int(round(width * s))
    if shape == "circle":
        d.ellipse([cx - r, cy - r, cx + r, cy + r], fill=rgb, outline=outline, width=w)
        return
    if shape == "square":
        h = r * 0.85
        pts = [(-h, -h), (h, -h), (h, h), (-h, h)]
        c, sn = math.cos(rot), math.sin(rot)
        pts = [(cx + x * c - y * sn, cy + x * sn + y * c) for x, y in pts]
    else:  # triangle, pointing up (small random tilt)
        pts = [(cx + math.cos(a + rot) * r * 1.1, cy + math.sin(a + rot) * r * 1.1 + r * 0.15)
               for a in (-math.pi / 2, math.pi / 6, 5 * math.pi / 6)]
    d.polygon(pts, fill=rgb)
    if outline is not None:
        d.line(pts + [pts[0]], fill=outline, width=w, joint="curve")


def _draw_styled(d, style, bg, shape, cx, cy, r, rgb, rot):
    """plain: a filled shape. ink: a drop shadow (the background darkened, offset down-right), then the filled shape
    with a thick dark outline: the "your model" style of the LoRA issue (same scenes, another rendering)."""
    if style == "ink":
        shadow = tuple(int(c * 0.45) for c in bg)
        _draw(d, shape, cx + SHADOW, cy + SHADOW, r, shadow, rot)
        _draw(d, shape, cx, cy, r, rgb, rot, outline=INK, width=INK_WIDTH)
    else:
        _draw(d, shape, cx, cy, r, rgb, rot)


def _jitter(rgb, rng, amt=12):
    return tuple(int(min(255, max(0, c + rng.randint(-amt, amt)))) for c in rgb)


def render(scene, rng, style="plain"):
    """scene dict -> uint8 array [64,64,3]; rng (random.Random) drives jitter of position, size, hue; style one of
    STYLES (the rng draws are the same for every style, so a scene renders at the same place in each)."""
    bg = _jitter(BG_RGB[scene["background"]], rng, 8)
    img = Image.new("RGB", (RES * SS, RES * SS), bg)
    d = ImageDraw.Draw(img)
    rot = lambda: rng.uniform(-0.25, 0.25)  # noqa: E731
    if scene["count"] == 1:
        cx, cy = CENTERS[scene["position"]]
        r = RADIUS[scene["size"]] * rng.uniform(0.9, 1.1)
        j = 3.0
        _draw_styled(d, style, bg, scene["shape"], cx + rng.uniform(-j, j), cy + rng.uniform(-j, j), r,
                     _jitter(RGB[scene["colour"]], rng), rot())
    else:
        for side, cx in (("left", 17), ("right", 47)):
            r = 9.5 * rng.uniform(0.9, 1.1)
            _draw_styled(d, style, bg, scene[side + "_shape"], cx + rng.uniform(-2.5, 2.5), 32 + rng.uniform(-8, 8), r,
                         _jitter(RGB[scene[side + "_colour"]], rng), rot())
    img = img.resize((RES, RES), Image.BOX)
    return np.asarray(img, dtype=np.uint8)


def make_dataset(n, seed, heldout=False, style="plain"):
    """n images of seen (heldout=False), held-out (True) or any (None) combinations, rendered in `style`.
    Returns images uint8 [n,64,64,3], labels int64 [n, len(ATTRIBUTES)], captions list."""
    rng = random.Random(seed)
    imgs = np.zeros((n, RES, RES, 3), np.uint8)
    labels = np.zeros((n, len(grammar.ATTRIBUTES)), np.int64)
    caps = []
    for i in range(n):
        s = grammar.sample_scene(rng, heldout=heldout)
        imgs[i] = render(s, rng, style)
        labels[i] = grammar.scene_labels(s)
        caps.append(grammar.caption(s))
    return imgs, labels, caps


def to_tensor(imgs):
    import torch
    return torch.from_numpy(imgs).permute(0, 3, 1, 2).float() / 127.5 - 1.0
