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


def _draw(d, shape, cx, cy, r, rgb, rot):
    s = SS
    cx, cy, r = cx * s, cy * s, r * s
    if shape == "circle":
        d.ellipse([cx - r, cy - r, cx + r, cy + r], fill=rgb)
    elif shape == "square":
        h = r * 0.85
        pts = [(-h, -h), (h, -h), (h, h), (-h, h)]
        c, sn = math.cos(rot), math.sin(rot)
        d.polygon([(cx + x * c - y * sn, cy + x * sn + y * c) for x, y in pts], fill=rgb)
    else:  # triangle, pointing up (small random tilt)
        pts = [(math.cos(a + rot) * r * 1.1, math.sin(a + rot) * r * 1.1 + r * 0.15)
               for a in (-math.pi / 2, math.pi / 6, 5 * math.pi / 6)]
        d.polygon([(cx + x, cy + y) for x, y in pts], fill=rgb)


def _jitter(rgb, rng, amt=12):
    return tuple(int(min(255, max(0, c + rng.randint(-amt, amt)))) for c in rgb)


def render(scene, rng):
    """scene dict -> uint8 array [64,64,3]; rng (random.Random) drives jitter of position, size, hue."""
    img = Image.new("RGB", (RES * SS, RES * SS), _jitter(BG_RGB[scene["background"]], rng, 8))
    d = ImageDraw.Draw(img)
    rot = lambda: rng.uniform(-0.25, 0.25)  # noqa: E731
    if scene["count"] == 1:
        cx, cy = CENTERS[scene["position"]]
        r = RADIUS[scene["size"]] * rng.uniform(0.9, 1.1)
        j = 3.0
        _draw(d, scene["shape"], cx + rng.uniform(-j, j), cy + rng.uniform(-j, j), r, _jitter(RGB[scene["colour"]], rng),
              rot())
    else:
        for side, cx in (("left", 17), ("right", 47)):
            r = 9.5 * rng.uniform(0.9, 1.1)
            _draw(d, scene[side + "_shape"], cx + rng.uniform(-2.5, 2.5), 32 + rng.uniform(-8, 8), r,
                  _jitter(RGB[scene[side + "_colour"]], rng), rot())
    img = img.resize((RES, RES), Image.BOX)
    return np.asarray(img, dtype=np.uint8)


def make_dataset(n, seed, heldout=False):
    """n images of seen (heldout=False), held-out (True) or any (None) combinations.
    Returns images uint8 [n,64,64,3], labels int64 [n, len(ATTRIBUTES)], captions list."""
    rng = random.Random(seed)
    imgs = np.zeros((n, RES, RES, 3), np.uint8)
    labels = np.zeros((n, len(grammar.ATTRIBUTES)), np.int64)
    caps = []
    for i in range(n):
        s = grammar.sample_scene(rng, heldout=heldout)
        imgs[i] = render(s, rng)
        labels[i] = grammar.scene_labels(s)
        caps.append(grammar.caption(s))
    return imgs, labels, caps


def to_tensor(imgs):
    import torch
    return torch.from_numpy(imgs).permute(0, 3, 1, 2).float() / 127.5 - 1.0
