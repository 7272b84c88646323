"""``python -m train evaluate``: how real the faces look, how well they follow the text, how varied
they are, and how long that took to measure.

Everything is measured on the held-out split of one or more CelebA folders (``train.data.celeba``: CelebA's
test partition, identity-disjoint from the training faces), for N held-out images drawn with ``--seed``
(all of them when N is at least the split's size):

- **Generated faces**: one per held-out image, from that image's own caption
  (``t2f.captions.describe(attributes, seed=s)``, the caption writer's words: the *template* captions) and
  noise seed ``s``, where ``s = seed * 1000003 +`` the image's position in the held-out split: the same
  image gets the same caption and noise whatever N.
- **Realism**: FID and KID (``train.eval.metrics``, Inception-v3) between the generated faces and the
  held-out faces at the model's resolution R (face crop of ``train.data``, Lanczos to R) and at R/2
  (the generator's own R/2 output against the held-out faces average-pooled 2x2, as the training data
  for that scale is made). Floor: the same N held-out faces against N training faces drawn with the
  seed: real against real at the same N, so it carries the same small-sample bias as the model's number
  (two halves of the held-out split would be compared at N/2, with a larger bias).
- **Text adherence**: the project's attribute classifier (``train.eval.classifier``) reads each face. The
  *claims* of a caption are the attribute values it states, present or negated (``describe(...).claims``;
  ``No_Beard`` is CelebA's inverted column: a beard is ``No_Beard`` = 0). A claim is *found* when the classifier's probability is >= 0.5 for a claimed 1 and < 0.5 for a claimed
  0. Adherence of a face = share of its caption's claims found; reported as the mean over faces and,
  per claim (e.g. ``Eyeglasses``, ``not Male``), as the share found. Ceiling: the held-out real faces
  with their own captions' claims. Floor: the generated faces scored against another image's claims
  (a random derangement), i.e. faces generated from shuffled captions. Normalized adherence:
  (generated - floor) / (ceiling - floor), 0 for faces that ignore their text, 1 for real faces.
  *Precision* guards against a classifier (or generator) that says "yes" too often: of the attributes
  a face shows (the classifier calls them present; for ``No_Beard``, calls a beard), the share its
  caption asks for (mean over faces that show any), and the mean number shown unasked per face.
  Attributes the classifier cannot tell apart (held-out balanced accuracy below
  ``MIN_BALANCED_ACCURACY``, from its ``.json``) are left out of every adherence number and listed.
- **Diversity**: for D fixed descriptions (the captions of the first D sampled held-out images), K faces
  each from K noise seeds; the mean pairwise distance between their classifier features (L2-normalised,
  Euclidean, so in [0, 2]), averaged over descriptions. Reference: for each description, the K held-out
  real faces whose 37 attribute labels are closest (Hamming) to the description's image, itself
  included: real faces that fit the same description. Also reported: mean pairwise distance over all N
  generated faces and over all N real ones (mode collapse across descriptions).
- **People's descriptions** (``train.eval.people``): adherence on the project's held-out set of
  hand-written descriptions, per attribute and per style, negation probes and dilution probes; adherence on
  the second set, authors' descriptions quoted from public-domain novels; for each set, the share of its
  attribute wording that the caption writer also writes (how far it is held out).
- **Drawn when asked** (``train.eval.asked``): for each salient attribute, the share of faces drawn from plain
  one-attribute descriptions ("A bald man.") that show it.
- **Speed**: seconds per phase and in total.

The report (JSON, ``summary`` holding the headline numbers by stable keys, see ``train.eval.report``)
is what :func:`evaluate` returns; ``python -m train evaluate`` writes it, and
``python -m train record-evaluation`` carries it into a weights folder's record, card and README.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from t2f.captions import describe
from train.data.celeba import HELD_OUT, CelebAIndex, scan_celeba
from train.eval.classifier import AttributeClassifier, attribute_labels, load_labelled_faces
from train.eval.asked import drawn_when_asked
from train.eval.adherence import adherence_report, claim_matrix, weak_attributes
from train.eval.metrics import as_float, fid, kid, mean_pairwise_distance
from train.eval.people import PUBLIC_DOMAIN_FILE, caption_coverage, load_people, people_adherence, people_report
from train.fit.losses import scale_gaps

REPORT_FORMAT = "t2f-evaluation-2"
# FID moves < 5% between seeds at this N: on celeba-10k the real-vs-real FID at N = 500 (the hardest
# case: the smallest FID) moved 1.8% on average and 4.1% at most between two seeds (5 pairs; 300:
# 2.6% / 4.8%, 200: 3.9% / 6.0%; bench/eval_sample_size.py). And 6N Inception passes fit the CPU.
DEFAULT_N = 500
DIVERSITY_DESCRIPTIONS = 16
DIVERSITY_SEEDS = 8
SEED_STRIDE = 1_000_003
# texts, noise seeds -> the generator's images smallest scale first, (N, 3, r, r) in [-1, 1]
Generate = Callable[[list[str], list[int]], list[Tensor]]
# faces (N, 3, r, r), uint8 or float in [-1, 1] -> features (N, D); may carry an ``info`` dict
Features = Callable[[Tensor], np.ndarray]


def derangement(n: int, rng: np.random.Generator) -> np.ndarray:
    """A random permutation with no fixed point (one cycle through a random order): partner[i] != i."""
    if n < 2:
        raise ValueError(f"shuffling captions needs at least 2 faces, got {n}")
    order = rng.permutation(n)
    partner = np.empty(n, dtype=np.int64)
    partner[order] = np.roll(order, -1)
    return partner


def nearest_by_attributes(labels: Tensor, index: int, k: int) -> Tensor:
    """Indices of the k rows of 0/1 ``labels`` closest in Hamming distance to row ``index`` (itself first)."""
    distance = (labels - labels[index]).abs().sum(1)
    distance[index] = -1  # the description's own image comes first
    return torch.sort(distance, stable=True).indices[:k]


def diversity(generated_groups: list[Tensor], real_features: Tensor, real_labels: Tensor, anchors: list[int], generated_all: Tensor) -> dict:
    """See the module docstring; ``generated_groups[d]`` holds the features of description d's K faces,
    ``anchors[d]`` the position of its image among the real rows."""
    k = len(generated_groups[0])
    generated = float(np.mean([mean_pairwise_distance(g) for g in generated_groups]))
    real = float(np.mean([mean_pairwise_distance(real_features[nearest_by_attributes(real_labels, a, k)]) for a in anchors]))
    return {
        "descriptions": len(generated_groups),
        "seeds": k,
        "same_description": {"generated": generated, "real": real, "ratio": generated / real if real else None},
        "all_faces": {"generated": mean_pairwise_distance(generated_all), "real": mean_pairwise_distance(real_features)},
    }


def sample_records(index: CelebAIndex, n: int, seed: int) -> tuple[list[int], list[int]]:
    """Positions (sorted) of N held-out records, and of N training records for the real-vs-real floor."""
    held, train = index.split(HELD_OUT), index.split("train")
    if n < 2:
        raise ValueError(f"n must be at least 2, got {n}")
    if len(held) < 2 or len(train) < 2:
        raise ValueError(f"{index.name} needs at least 2 held-out and 2 training images, has {len(held)} and {len(train)}")
    n = min(n, len(held), len(train))
    rng = np.random.default_rng(seed)
    chosen = range(len(held)) if n == len(held) else rng.choice(len(held), n, replace=False)
    floor = rng.choice(len(train), n, replace=False)
    return sorted(int(i) for i in chosen), sorted(int(i) for i in floor)


def generate_batched(generate: Generate, texts: list[str], seeds: list[int], batch_size: int) -> tuple[Tensor, Tensor, dict[str, float]]:
    """The generator's two largest scales, (N, 3, R, R) and (N, 3, R/2, R/2), float in [-1, 1], and the
    scale gap: for every smaller scale r, the mean absolute difference between the r px output and the
    R px output average-pooled to r px ({str(r): gap}; 0 for a real pyramid, which is made that way)."""
    full, half, gaps = [], [], {}
    for i in range(0, len(texts), batch_size):
        images = [x.float().cpu() for x in generate(texts[i : i + batch_size], seeds[i : i + batch_size])]
        for x, gap in zip(images[:-1], scale_gaps(images)):
            gaps[str(x.shape[-1])] = gaps.get(str(x.shape[-1]), 0.0) + gap.sum().item()
        full.append(images[-1])
        half.append(images[-2])
    return torch.cat(full), torch.cat(half), {r: gap / len(texts) for r, gap in gaps.items()}


def halve(images: Tensor) -> Tensor:
    """Real faces at R -> R/2 by 2x2 average pooling, float in [-1, 1] (as downsample_pyramid does)."""
    return F.avg_pool2d(as_float(images), 2)


def realism(features: Features, generated: Tensor, generated_half: Tensor, real: Tensor, floor: Tensor, seed: int) -> dict:
    """FID and KID at R and R/2, each with its real-vs-real floor, and the seconds of both steps."""
    start = time.perf_counter()
    sets = {"generated": (generated, generated_half), "real": (real, halve(real)), "floor": (floor, halve(floor))}
    feats = {name: (features(full), features(half)) for name, (full, half) in sets.items()}
    seconds = {"inception": time.perf_counter() - start}
    start = time.perf_counter()
    out = {}
    for j, res in enumerate((real.shape[-1], real.shape[-1] // 2)):
        real_f, gen_f, floor_f = feats["real"][j], feats["generated"][j], feats["floor"][j]
        subset = max(2, min(1000, len(real_f) // 2))
        kid_mean, kid_std = kid(gen_f, real_f, subset_size=subset, seed=seed)
        floor_kid, floor_kid_std = kid(floor_f, real_f, subset_size=subset, seed=seed)
        out[str(res)] = {
            "fid": fid(gen_f, real_f),
            "fid_floor": fid(floor_f, real_f),
            "kid": kid_mean,
            "kid_std": kid_std,
            "kid_floor": floor_kid,
            "kid_floor_std": floor_kid_std,
            "kid_subset_size": subset,
        }
    seconds["fid_kid"] = time.perf_counter() - start
    return {"scales": out, "seconds": seconds}


def evaluate(
    generate: Generate,
    data: str | Path | Sequence[str | Path],
    classifier: AttributeClassifier,
    features: Features | None,
    *,
    resolution: int,
    n: int = DEFAULT_N,
    seed: int = 0,
    batch_size: int = 64,
    diversity_descriptions: int = DIVERSITY_DESCRIPTIONS,
    diversity_seeds: int = DIVERSITY_SEEDS,
    classifier_accuracy: Mapping[str, Mapping[str, float]] | None = None,
    log: Callable[[str], None] = lambda _: None,
) -> dict:
    """Run the whole evaluation (see the module docstring) for a generator of ``resolution`` px faces
    and return the report dict. ``classifier_accuracy`` is the classifier's held-out accuracy per
    attribute (its ``.json``'s ``held_out_accuracy``): attributes it tells apart poorly are left out
    of adherence; without it every attribute counts. ``features`` None skips FID and KID (the Inception passes,
    most of the time on a CPU): the report's realism then holds only the scale gap and the image counts."""
    t0 = time.perf_counter()
    seconds: dict[str, float] = {}
    index = scan_celeba(data)
    held, train = index.split(HELD_OUT), index.split("train")
    chosen, floor_chosen = sample_records(index, n, seed)
    start = time.perf_counter()
    real, records = load_labelled_faces([held[i] for i in chosen], resolution)
    floor, _ = load_labelled_faces([train[i] for i in floor_chosen], resolution)
    seconds["load"] = time.perf_counter() - start
    if len(records) < 2:
        raise ValueError(f"{index.name}: fewer than 2 of the sampled held-out images could be read")
    position = {r.file: i for i, r in enumerate(held)}
    item_seeds = [seed * SEED_STRIDE + position[r.file] for r in records]
    captions = [describe(r.attributes, seed=s) for r, s in zip(records, item_seeds)]
    texts = [c.text for c in captions]

    log(f"generating {len(texts)} faces")
    start = time.perf_counter()
    generated, generated_half, scale_gap = generate_batched(generate, texts, item_seeds, batch_size)
    if generated.shape[-1] != resolution:
        raise ValueError(f"the generator makes {generated.shape[-1]} px faces, not {resolution} px")
    d = min(diversity_descriptions, len(texts))
    div_texts = [t for t in texts[:d] for _ in range(diversity_seeds)]
    div_seeds = [seed * SEED_STRIDE + len(held) + k for _ in range(d) for k in range(diversity_seeds)]
    div_images, _, _ = generate_batched(generate, div_texts, div_seeds, batch_size)
    seconds["generate"] = time.perf_counter() - start

    realism_report = {}
    if features is not None:
        log(f"Inception features of {3 * len(records)} faces at {resolution} and at {resolution // 2} px")
        realism_report = realism(features, generated, generated_half, real, floor, seed)
        seconds.update(realism_report.pop("seconds"))

    log("attribute classifier")
    start = time.perf_counter()
    names = classifier.config.attributes
    excluded = weak_attributes(classifier_accuracy)
    gen_probs, gen_feats = classifier.predict(generated)
    real_probs, real_feats = classifier.predict(real)
    _, div_feats = classifier.predict(div_images)
    seconds["classifier"] = time.perf_counter() - start
    log("people's descriptions, negation and dilution probes")
    start = time.perf_counter()
    people_set, authors_set = load_people(), load_people(PUBLIC_DOMAIN_FILE)[0]
    people = people_report(generate, classifier, people_set, excluded, seed=seed, batch_size=batch_size)
    authors = people_adherence(generate, classifier, authors_set, excluded, seed=seed, batch_size=batch_size)
    for part, descriptions in ((people, people_set[0]), (authors, authors_set)):
        part["caption_coverage"] = caption_coverage(descriptions)["share"]
    seconds["people"] = time.perf_counter() - start
    log("plain one-attribute descriptions")
    start = time.perf_counter()
    asked = drawn_when_asked(generate, classifier, batch_size=batch_size)
    seconds["drawn_when_asked"] = time.perf_counter() - start
    values, mask = claim_matrix([c.claims for c in captions], names)
    partner = torch.from_numpy(derangement(len(records), np.random.default_rng(seed)))
    groups = list(div_feats.split(diversity_seeds))
    seconds["total"] = time.perf_counter() - t0

    info = getattr(features, "info", {"network": type(features).__name__}) if features is not None else None
    return {
        "format": REPORT_FORMAT,
        "data": " ".join(str(f.resolve()) for f in index.folders),
        "split": f"{HELD_OUT} ({len(held)} images), floor from train ({len(train)} images)",
        "n": len(records),
        "n_requested": n,
        "seed": seed,
        "resolution": resolution,
        "realism": {
            **realism_report,
            "network": info,
            "images": {"generated": len(generated), "real": len(real), "floor": len(floor)},
            "scale_gap": scale_gap,
            "crop": "train.data.celeba face square (148/178 of the width, centred at 121/218 of the height), Lanczos "
            "to R (smaller crops are upscaled)",
            "resize": "R/2: generator's own R/2 output vs real faces average-pooled 2x2; Inception: 8-bit levels, "
            "TF1 bilinear to 299",
            "floor": "held-out real vs N training faces drawn with the seed (same N, same bias)",
            "kid": "unbiased MMD^2, cubic polynomial kernel (x.y/2048 + 1)^3, mean and std over 100 subsets of "
            "min(1000, N/2) faces",
        },
        "adherence": adherence_report(gen_probs, real_probs, partner, values, mask, names, excluded),
        "people": people,
        "people_public_domain": authors,
        "drawn_when_asked": asked,
        "diversity": diversity(groups, real_feats, attribute_labels(records, names), list(range(d)), gen_feats),
        "classifier": {"attributes": list(names)},
        "seconds": {k: round(v, 1) for k, v in seconds.items()},
    }
