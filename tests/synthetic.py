"""Small synthetic folders in CelebA's own layout, for tests (no real CelebA images in the repo).

Some attributes are drawn visibly, so models and metrics have something real to learn:
``Male`` tints the background blue (else pink), ``Blond_Hair`` paints a yellow band on top (else dark),
``Eyeglasses`` draws a black bar at eye height, ``Smiling`` a white bar at mouth height.
"""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
from PIL import Image

from t2f.captions import ATTRIBUTES

VISIBLE = ("Male", "Blond_Hair", "Eyeglasses", "Smiling")


def draw_face(attrs: dict[str, int], size: tuple[int, int], rng: np.random.Generator) -> Image.Image:
    """A 178x218-style picture whose face square shows the VISIBLE attributes."""
    w, h = size
    base = np.array([70, 90, 200] if attrs["Male"] else [220, 120, 160], dtype=np.float32)
    img = base + rng.normal(0, 12, (h, w, 3))
    img[int(0.25 * h) : int(0.35 * h)] = [230, 210, 60] if attrs["Blond_Hair"] else [40, 30, 20]
    if attrs["Eyeglasses"]:
        img[int(0.48 * h) : int(0.53 * h), int(0.25 * w) : int(0.75 * w)] = 0
    if attrs["Smiling"]:
        img[int(0.66 * h) : int(0.70 * h), int(0.35 * w) : int(0.65 * w)] = 255
    return Image.fromarray(img.clip(0, 255).astype(np.uint8))


def make_celeba(folder: Path, n: int = 40, *, seed: int = 0, half_size_every: int = 3, first_id: int = 1) -> list[dict[str, int]]:
    """Write ``n`` images with ids from ``first_id`` on (every ``half_size_every``-th at CelebA's half size,
    89x109), list_attr_celeba.txt and a list_eval_partition.txt that holds out every tenth id (test) into
    ``folder``; returns the attributes per image (0/1)."""
    rng = np.random.default_rng(seed)
    pick = random.Random(seed)
    images = folder / "img_align_celeba"
    images.mkdir(parents=True, exist_ok=True)
    rows, all_attrs = [], []
    for i in range(first_id, first_id + n):
        attrs = {a: int(pick.random() < 0.4) for a in ATTRIBUTES}
        attrs["No_Beard"] = int(not attrs["Male"] or pick.random() < 0.5)
        name = f"{i:06d}.jpg"
        size = (89, 109) if half_size_every and i % half_size_every == 0 else (178, 218)
        draw_face(attrs, size, rng).save(images / name, quality=95)
        rows.append(name + " " + " ".join("1" if attrs[a] else "-1" for a in ATTRIBUTES))
        all_attrs.append(attrs)
    (folder / "list_attr_celeba.txt").write_text(f"{n}\n" + " ".join(ATTRIBUTES) + "\n" + "\n".join(rows) + "\n")
    split = "\n".join(f"{i:06d}.jpg {2 if i % 10 == 0 else 0}" for i in range(first_id, first_id + n))
    (folder / "list_eval_partition.txt").write_text(split + "\n")
    return all_attrs
