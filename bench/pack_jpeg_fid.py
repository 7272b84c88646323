"""What does the pack's JPEG re-encoding cost in FID? Prints a table.

The pack stores each face crop re-encoded as JPEG (``train.data.pack.JPEG_QUALITY``), so the generator
learns those pixels, while ``python -m train evaluate`` compares with crops of the original JPEGs. This
measures that gap with real faces only, on the evaluation's own sample (``train.eval.evaluate.sample_records``):

- ``original vs original``: N held-out crops against N training crops: the evaluation's real-vs-real floor;
- ``pack vs original``: the same N held-out faces as the pack stores them, against the same training
  crops: the floor of a generator that reproduced the pack exactly;
- ``pack vs original, same faces``: each held-out face as the pack stores it against its original crop.

At R and R/2 (2x2 average pooling, as evaluate makes the R/2 scale).

    python bench/pack_jpeg_fid.py --data ../shared/data/celeba-10k [--n 200] [--seed 0]
"""

from __future__ import annotations

import argparse
import io
import sys
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from train.data.celeba import HELD_OUT, crop_face, load_face, scan_celeba, to_resolution
from train.data.pack import JPEG_QUALITY
from train.eval.evaluate import halve, sample_records
from train.eval.metrics import InceptionFeatures, fid


def as_pack_stores_it(path: Path, resolution: int) -> Image.Image:
    """The face crop as ``prepare_pack`` writes it and ``Pack.image`` reads it back."""
    buffer = io.BytesIO()
    crop_face(path, resolution).save(buffer, format="JPEG", quality=JPEG_QUALITY)
    with Image.open(buffer) as im:
        return to_resolution(im.convert("RGB"), resolution)


def stack(faces: list[Image.Image]) -> torch.Tensor:
    return torch.stack([torch.from_numpy(np.array(f)) for f in faces]).permute(0, 3, 1, 2).contiguous()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, nargs="+", required=True, help="CelebA-layout folder(s)")
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--resolution", type=int, default=128)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    start = time.perf_counter()
    index = scan_celeba(args.data)
    held_pos, train_pos = sample_records(index, args.n, args.seed)
    held = [index.split(HELD_OUT)[i] for i in held_pos]
    train = [index.split("train")[i] for i in train_pos]
    r = args.resolution
    sets = {
        "original held-out": stack([load_face(x.path, r) for x in held]),
        "pack held-out": stack([as_pack_stores_it(x.path, r) for x in held]),
        "original train": stack([load_face(x.path, r) for x in train]),
    }
    features = InceptionFeatures(args.device)
    rows = []
    for res, prepare in ((r, lambda x: x), (r // 2, halve)):
        f = {name: features(prepare(images)) for name, images in sets.items()}
        rows.append((res, fid(f["original held-out"], f["original train"]), fid(f["pack held-out"], f["original train"]), fid(f["pack held-out"], f["original held-out"])))
    print(f"N = {len(held)}, seed {args.seed}, JPEG quality {JPEG_QUALITY}, {time.perf_counter() - start:.0f} s\n")
    print("| scale | original vs original (floor) | pack vs original | difference | pack vs original, same faces |")
    print("|---|---|---|---|---|")
    for res, floor, packed, same in rows:
        print(f"| {res} px | {floor:.2f} | {packed:.2f} | {packed - floor:+.2f} | {same:.2f} |")


if __name__ == "__main__":
    main()
