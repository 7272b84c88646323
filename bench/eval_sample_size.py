"""How many images does FID need on this data? Prints, for several N, how much FID moves between seeds.

The hardest case is a good generator (a small FID, so a given wobble is a large share of it), so the
"generated" set here is real training faces: FID(N held-out faces, N training faces), exactly the
real-vs-real floor that ``python -m train evaluate`` reports. A seed draws the N held-out faces from the
held-out split (as evaluate does) and the N training faces; the two seeds of a pair use disjoint
training faces (independent samples, at least as variable as evaluate's draws from the whole split).

Inception features of the pool are computed once and cached (``--cache``), then every (N, pair) is a
resampling of them.

    python bench/eval_sample_size.py --data ../shared/data/celeba-10k [--ns 200 300 500] [--pairs 5]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from train.eval.classifier import load_labelled_faces
from train.data.celeba import HELD_OUT, scan_celeba
from train.eval.metrics import InceptionFeatures, fid


def pool_features(data: Path, train_pool: int, cache: Path, device: str) -> dict[str, np.ndarray]:
    """Inception features at 128 px of every held-out face and of ``train_pool`` training faces."""
    if cache.is_file():
        with np.load(cache) as f:
            return dict(f)
    index = scan_celeba(data)
    train = index.split("train")
    picked = np.random.default_rng(12345).choice(len(train), min(train_pool, len(train)), replace=False)
    features = InceptionFeatures(device)
    out = {}
    for name, records in (("held", index.split(HELD_OUT)), ("train", [train[i] for i in sorted(picked)])):
        images, _ = load_labelled_faces(records, 128)
        start = time.perf_counter()
        out[name] = features(images)
        print(f"{name}: {len(images)} Inception passes in {time.perf_counter() - start:.0f} s", flush=True)
    cache.parent.mkdir(parents=True, exist_ok=True)
    np.savez(cache, **out)
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", required=True, type=Path, nargs="+", help="CelebA-layout folder(s)")
    p.add_argument("--ns", type=int, nargs="+", default=[200, 300, 500])
    p.add_argument("--pairs", type=int, default=5, help="seed pairs per N")
    p.add_argument("--train-pool", type=int, default=1000, help="training faces featurised (>= 2 x the largest N)")
    p.add_argument("--cache", type=Path, default=Path("cache/bench-eval-sample-size.npz"))
    p.add_argument("--device", default="cpu")
    args = p.parse_args()
    pool = pool_features(args.data, args.train_pool, args.cache, args.device)
    print("| N | FID real vs real (mean) | mean abs. difference between two seeds | max | share of the mean (mean / max) |")
    print("|---|---|---|---|---|")
    for n in args.ns:
        held, train = pool["held"], pool["train"]
        if 2 * n > len(train) or n > len(held):
            print(f"| {n} | pool too small (train pool {len(train)}, held-out {len(held)}) | | | |")
            continue
        values, diffs = [], []
        for pair in range(args.pairs):
            rng = np.random.default_rng(pair)
            order = rng.permutation(len(train))
            pair_values = []
            for k in range(2):
                h = held[rng.choice(len(held), n, replace=False)] if n < len(held) else held
                pair_values.append(fid(h, train[order[k * n : (k + 1) * n]]))
            values += pair_values
            diffs.append(abs(pair_values[0] - pair_values[1]))
        mean = float(np.mean(values))
        print(
            f"| {n} | {mean:.2f} | {np.mean(diffs):.2f} | {np.max(diffs):.2f} "
            f"| {100 * np.mean(diffs) / mean:.1f}% / {100 * np.max(diffs) / mean:.1f}% |",
            flush=True,
        )


if __name__ == "__main__":
    main()
