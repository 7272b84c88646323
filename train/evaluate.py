"""``python -m train evaluate``: how real the faces look, how well they follow the text, how varied
they are, and how long that took to measure.

Everything is measured on the held-out split of a CelebA folder (``train.data``), for N held-out
images drawn with ``--seed`` (all of them when N is at least the split's size):

- **Generated faces**: one per held-out image, from that image's own caption
  (``t2f.captions.caption(attributes, seed=s)``) and noise seed ``s``, where ``s = seed * 1000003 +``
  the image's position in the held-out split: the same image gets the same caption and noise whatever N.
- **Realism**: FID and KID (``train.metrics``, Inception-v3) between the generated faces and the
  held-out faces at the model's resolution R (face crop of ``train.data``, Lanczos to R) and at R/2
  (the generator's own R/2 output against the held-out faces average-pooled 2x2, as the training data
  for that scale is made). Floor: the same N held-out faces against N training faces drawn with the
  seed: real against real at the same N, so it carries the same small-sample bias as the model's number
  (two halves of the held-out split would be compared at N/2, with a larger bias).
- **Text adherence**: the project's attribute classifier (``train.classifier``) reads each face. The
  *claims* of a caption are the attribute values it states (:func:`caption_claims`): ``Male`` and
  ``Young`` always (man/woman, young/older), ``No_Beard`` = 0 when it mentions a beard, and every other
  present attribute it mentions (all of them, except hair colour, hair style and bangs on a bald head).
  A claim is *found* when the classifier's probability is >= 0.5 for a claimed 1 and < 0.5 for a claimed
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
- **Speed**: seconds per phase and in total.

The report (JSON, ``summary`` holding the headline numbers) goes to ``--out`` and its markdown beside
it; when ``--out`` is ``evaluation.json`` in an exported weights folder, that folder's model card is
rewritten with the numbers. ``--readme README.md`` replaces README's results block.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from t2f.captions import (
    ATTRIBUTES,
    EXCLUDED,
    HAIR_COLOURS,
    HAIR_STYLES,
    as_attribute_dict,
    caption,
)
from train.classifier import DEFAULT_PATH as DEFAULT_CLASSIFIER
from train.classifier import (
    AttributeClassifier,
    accuracy_table,
    attribute_labels,
    load_classifier,
    load_labelled_faces,
)
from train.data import HELD_OUT, CelebAIndex, scan_celeba
from train.metrics import as_float, fid, kid, mean_pairwise_distance

REPORT_FORMAT = "t2f-evaluation-2"
# FID moves < 5% between seeds at this N: on celeba-10k the real-vs-real FID at N = 500 (the hardest
# case: the smallest FID) moved 1.8% on average and 4.1% at most between two seeds (5 pairs; 300:
# 2.6% / 4.8%, 200: 3.9% / 6.0%; bench/eval_sample_size.py). And 6N Inception passes fit the CPU.
DEFAULT_N = 500
DIVERSITY_DESCRIPTIONS = 16
# Below this held-out balanced accuracy (0.5 = chance) the classifier's calls on an attribute are too
# unreliable to judge a face by: on celeba-10k that leaves out Straight_Hair, Big_Lips, Narrow_Eyes, Pointy_Nose.
MIN_BALANCED_ACCURACY = 0.65
# The attribute value a face "shows": presence, except No_Beard, whose marked value is a beard.
MARKED_BY_ABSENCE = frozenset({"No_Beard"})
DIVERSITY_SEEDS = 8
SEED_STRIDE = 1_000_003

# texts, noise seeds -> the generator's images smallest scale first, (N, 3, r, r) in [-1, 1]
Generate = Callable[[list[str], list[int]], list[Tensor]]
# faces (N, 3, r, r), uint8 or float in [-1, 1] -> features (N, D); may carry an ``info`` dict
Features = Callable[[Tensor], np.ndarray]


# --- text adherence ---------------------------------------------------------------------------------


def caption_claims(attributes: Mapping[str, object] | Sequence[object]) -> dict[str, int]:
    """{attribute: value} that every caption of these attributes states (see the module docstring)."""
    a = as_attribute_dict(attributes)
    hidden_by_bald = set(HAIR_COLOURS) | set(HAIR_STYLES) | {"Bangs"}
    claims = {"Male": int(a["Male"]), "Young": int(a["Young"])}
    if not a["No_Beard"]:
        claims["No_Beard"] = 0
    for name in ATTRIBUTES:
        if name in EXCLUDED or name in claims or name == "No_Beard" or not a[name]:
            continue
        if not (a["Bald"] and name in hidden_by_bald):
            claims[name] = 1
    return claims


def claim_label(attribute: str, value: int) -> str:
    """How a claim is named in reports: ``Eyeglasses``, ``not Male``."""
    return attribute if value else f"not {attribute}"


def claim_matrix(attribute_rows: Sequence[Sequence[int]], attributes: Sequence[str]) -> tuple[Tensor, Tensor]:
    """Claims of many captions as (values, mask), both (N, A) over ``attributes`` (the classifier's)."""
    values = torch.zeros(len(attribute_rows), len(attributes))
    mask = torch.zeros(len(attribute_rows), len(attributes), dtype=torch.bool)
    column = {name: i for i, name in enumerate(attributes)}
    for row, attrs in enumerate(attribute_rows):
        for name, value in caption_claims(attrs).items():
            values[row, column[name]], mask[row, column[name]] = value, True
    return values, mask


def adherence(probs: Tensor, values: Tensor, mask: Tensor, attributes: Sequence[str]) -> dict:
    """Share of each face's claims found by the classifier (``mean`` over faces, and per claim label),
    and ``precision``: share of the attributes each face shows that its caption asks for (mean over
    faces that show any), with the mean number shown unasked (see the module docstring)."""
    predicted = (probs >= 0.5).float()
    found = (predicted == values) & mask
    per_face = found.sum(1) / mask.sum(1).clamp(min=1)
    marked = torch.tensor([0.0 if name in MARKED_BY_ABSENCE else 1.0 for name in attributes])
    shown = predicted == marked
    asked = mask & (values == marked)
    showing = shown.sum(1)
    precision = (shown & asked).sum(1) / showing.clamp(min=1)
    per_claim = {}
    for i, name in enumerate(attributes):
        for value in (1, 0):
            rows = mask[:, i] & (values[:, i] == value)
            if rows.any():
                per_claim[claim_label(name, value)] = {"found": float(found[rows, i].float().mean()), "claims": int(rows.sum())}
    return {
        "mean": float(per_face[mask.any(1)].mean()),
        "claims": int(mask.sum()),
        "precision": float(precision[showing > 0].mean()) if bool((showing > 0).any()) else None,
        "unasked_per_face": float((shown & ~asked).sum(1).float().mean()),
        "per_claim": per_claim,
    }


def normalized(generated: float | None, floor: float | None, ceiling: float | None) -> float | None:
    """(generated - floor) / (ceiling - floor): 0 at the floor, 1 at the ceiling; None when undefined."""
    if generated is None or floor is None or ceiling is None or ceiling == floor:
        return None
    return (generated - floor) / (ceiling - floor)


def weak_attributes(accuracy: Mapping[str, Mapping[str, float]] | None, threshold: float = MIN_BALANCED_ACCURACY) -> dict[str, float]:
    """{attribute: held-out balanced accuracy} of the attributes the classifier tells apart worse than ``threshold``."""
    return {name: v["balanced_accuracy"] for name, v in (accuracy or {}).items() if v["balanced_accuracy"] < threshold}


def adherence_report(gen_probs: Tensor, real_probs: Tensor, partner: Tensor, values: Tensor, mask: Tensor, attributes: Sequence[str], excluded: Mapping[str, float]) -> dict:
    """Generated, real (ceiling) and shuffled-caption (floor) adherence over the attributes not ``excluded``,
    and both headline numbers normalized between floor and ceiling."""
    keep = [i for i, name in enumerate(attributes) if name not in excluded]
    names = [attributes[i] for i in keep]
    values, mask = values[:, keep], mask[:, keep]
    out = {
        "threshold": 0.5,
        "generated": adherence(gen_probs[:, keep], values, mask, names),
        "real": adherence(real_probs[:, keep], values, mask, names),
        "shuffled": adherence(gen_probs[partner][:, keep], values, mask, names),
    }
    out["normalized"] = {k: normalized(out["generated"][k], out["shuffled"][k], out["real"][k]) for k in ("mean", "precision")}
    out["excluded"] = dict(excluded)
    out["min_balanced_accuracy"] = MIN_BALANCED_ACCURACY
    return out


def derangement(n: int, rng: np.random.Generator) -> np.ndarray:
    """A random permutation with no fixed point (one cycle through a random order): partner[i] != i."""
    if n < 2:
        raise ValueError(f"shuffling captions needs at least 2 faces, got {n}")
    order = rng.permutation(n)
    partner = np.empty(n, dtype=np.int64)
    partner[order] = np.roll(order, -1)
    return partner


# --- diversity --------------------------------------------------------------------------------------


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


# --- the whole evaluation ---------------------------------------------------------------------------


def sample_records(index: CelebAIndex, n: int, seed: int) -> tuple[list[int], list[int]]:
    """Positions (sorted) of N held-out records, and of N training records for the real-vs-real floor."""
    held, train = index.split(HELD_OUT), index.split("train")
    if n < 2:
        raise ValueError(f"n must be at least 2, got {n}")
    if len(held) < 2 or len(train) < 2:
        raise ValueError(f"{index.root} needs at least 2 held-out and 2 training images, has {len(held)} and {len(train)}")
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
        top = images[-1]
        for x in images[:-1]:
            gap = (x - F.avg_pool2d(top, top.shape[-1] // x.shape[-1])).abs().mean(dim=(1, 2, 3)).sum().item()
            gaps[str(x.shape[-1])] = gaps.get(str(x.shape[-1]), 0.0) + gap
        full.append(top)
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
    data: str | Path,
    classifier: AttributeClassifier,
    features: Features,
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
    of adherence; without it every attribute counts."""
    t0 = time.perf_counter()
    seconds: dict[str, float] = {}
    index = scan_celeba(data)
    held, train = index.split(HELD_OUT), index.split("train")
    chosen, floor_chosen = sample_records(index, n, seed)
    start = time.perf_counter()
    real, records = load_labelled_faces(index.root, [held[i] for i in chosen], resolution)
    floor, _ = load_labelled_faces(index.root, [train[i] for i in floor_chosen], resolution)
    seconds["load"] = time.perf_counter() - start
    if len(records) < 2:
        raise ValueError(f"{index.root}: fewer than 2 of the sampled held-out images could be read")
    position = {r.file: i for i, r in enumerate(held)}
    item_seeds = [seed * SEED_STRIDE + position[r.file] for r in records]
    texts = [caption(r.attributes, seed=s) for r, s in zip(records, item_seeds)]

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

    log(f"Inception features of {3 * len(records)} faces at {resolution} and at {resolution // 2} px")
    realism_report = realism(features, generated, generated_half, real, floor, seed)
    seconds.update(realism_report.pop("seconds"))

    log("attribute classifier")
    start = time.perf_counter()
    names = classifier.config.attributes
    gen_probs, gen_feats = classifier.predict(generated)
    real_probs, real_feats = classifier.predict(real)
    _, div_feats = classifier.predict(div_images)
    seconds["classifier"] = time.perf_counter() - start
    values, mask = claim_matrix([r.attributes for r in records], names)
    partner = torch.from_numpy(derangement(len(records), np.random.default_rng(seed)))
    groups = list(div_feats.split(diversity_seeds))
    seconds["total"] = time.perf_counter() - t0

    info = getattr(features, "info", {"network": type(features).__name__})
    return {
        "format": REPORT_FORMAT,
        "data": str(Path(data).resolve()),
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
            "crop": "train.data face square (148/178 of the width, centred at 121/218 of the height), Lanczos "
            "to R (smaller crops are upscaled)",
            "resize": "R/2: generator's own R/2 output vs real faces average-pooled 2x2; Inception: 8-bit levels, "
            "TF1 bilinear to 299",
            "floor": "held-out real vs N training faces drawn with the seed (same N, same bias)",
            "kid": "unbiased MMD^2, cubic polynomial kernel (x.y/2048 + 1)^3, mean and std over 100 subsets of "
            "min(1000, N/2) faces",
        },
        "adherence": adherence_report(gen_probs, real_probs, partner, values, mask, names, weak_attributes(classifier_accuracy)),
        "diversity": diversity(groups, real_feats, attribute_labels(records, names), list(range(d)), gen_feats),
        "classifier": {"attributes": list(names)},
        "seconds": {k: round(v, 1) for k, v in seconds.items()},
    }


def summarize(report: dict) -> dict:
    """The headline numbers, flat {name: value}: what README and the model card show."""
    r = report["resolution"]
    scales = report["realism"]["scales"]
    a, div = report["adherence"], report["diversity"]["same_description"]
    summary: dict[str, object] = {"Held-out images (N)": report["n"]}
    for res in (str(r), str(r // 2)):
        s = scales[res]
        summary[f"FID {res}px"] = s["fid"]
        summary[f"FID {res}px, real vs real (floor)"] = s["fid_floor"]
        summary[f"KID {res}px (x1000)"] = 1000 * s["kid"]
    for key, name in (("mean", "Text adherence"), ("precision", "Text precision")):
        summary[name] = a["generated"][key]
        summary[f"{name}, normalized (floor 0, ceiling 1)"] = a["normalized"][key]
        summary[f"{name}, real faces (ceiling)"] = a["real"][key]
        summary[f"{name}, shuffled captions (floor)"] = a["shuffled"][key]
    summary["Attributes left out of adherence"] = _excluded(a)
    summary["Diversity, same description (generated / real)"] = div["ratio"]
    gap = report["realism"].get("scale_gap")  # reports before it was measured lack it
    if gap:
        summary[f"Scale gap ({', '.join(gap)} px; real faces 0)"] = " / ".join(_f(v) for v in gap.values())
    means = report["classifier"].get("held_out_mean") or {}
    for key, name in (("accuracy", "accuracy"), ("balanced_accuracy", "balanced accuracy"), ("majority_baseline", "majority baseline")):
        if means.get(key) is not None:
            summary[f"Classifier {name} (held-out mean)"] = means[key]
    summary["FID network"] = report["realism"]["network"].get("package", report["realism"]["network"]["network"])
    summary["Evaluation seconds"] = report["seconds"]["total"]
    return summary


# --- markdown ---------------------------------------------------------------------------------------


def _f(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _excluded(a: dict) -> str:
    """The attributes left out of adherence, with their balanced accuracy, or "none"."""
    return ", ".join(f"{k} ({v:.3f})" for k, v in a["excluded"].items()) or "none"


def results_markdown(report: dict) -> str:
    """The report as markdown: realism, text adherence and diversity tables, the settings, and (folded)
    adherence per claim and the classifier's held-out accuracy per attribute."""
    r = report["resolution"]
    realism_, scales, net = report["realism"], report["realism"]["scales"], report["realism"]["network"]
    lines = [
        (
            f"Held-out CelebA faces, N = {report['n']}, seed {report['seed']}; each generated face comes from the "
            "caption of one held-out image."
        ),
        "",
        "| Scale | FID | FID real vs real (floor) | KID x1000 | KID x1000 floor |",
        "|---|---|---|---|---|",
    ]
    for res in (str(r), str(r // 2)):
        s = scales[res]
        lines.append(
            f"| {res} px | {_f(s['fid'], 2)} | {_f(s['fid_floor'], 2)} | {_f(1000 * s['kid'], 2)} ± {_f(1000 * s['kid_std'], 2)} "
            f"| {_f(1000 * s['kid_floor'], 2)} ± {_f(1000 * s['kid_floor_std'], 2)} |"
        )
    gap = realism_.get("scale_gap")
    if gap:
        lines += [
            "",
            f"Scale gap: how far each smaller output is from the {r} px face average-pooled to its size (mean absolute "
            "difference, pixels in [-1, 1]; 0 for real faces, whose smaller scales are made that way): "
            + ", ".join(f"{res} px **{_f(v)}**" for res, v in gap.items())
            + ".",
        ]
    a, div = report["adherence"], report["diversity"]
    same, every = div["same_description"], div["all_faces"]
    lines += [
        "",
        "| Text adherence (mean over faces) | Generated | Real faces (ceiling) | Shuffled captions (floor) | Normalized |",
        "|---|---|---|---|---|",
        f"| share of the caption's attributes found | **{_f(a['generated']['mean'])}** | {_f(a['real']['mean'])} "
        f"| {_f(a['shuffled']['mean'])} | {_f(a['normalized']['mean'])} |",
        f"| precision: share of the attributes shown that the caption asks for | **{_f(a['generated']['precision'])}** "
        f"| {_f(a['real']['precision'])} | {_f(a['shuffled']['precision'])} | {_f(a['normalized']['precision'])} |",
        f"| attributes shown unasked, per face | {_f(a['generated']['unasked_per_face'], 2)} | {_f(a['real']['unasked_per_face'], 2)} "
        f"| {_f(a['shuffled']['unasked_per_face'], 2)} | |",
        "",
        f"Normalized: (generated - floor) / (ceiling - floor). Left out (the classifier's held-out balanced accuracy "
        f"below {a['min_balanced_accuracy']}): {_excluded(a)}.",
        "",
        "| Diversity: mean pairwise distance of classifier features | Generated | Real |",
        "|---|---|---|",
        f"| same description ({div['descriptions']} descriptions x {div['seeds']} faces) | **{_f(same['generated'])}** | {_f(same['real'])} |",
        f"| all faces | {_f(every['generated'])} | {_f(every['real'])} |",
        "",
        f"FID/KID: {net['network']} ({net.get('package', 'stand-in')}), input: {net.get('input', '-')}. "
        f"Images: {realism_['images']['generated']} generated, {realism_['images']['real']} held-out, "
        f"{realism_['images']['floor']} training (floor). Crop: {realism_['crop']}. {realism_['resize']}. "
        f"Floor: {realism_['floor']}. KID: {realism_['kid']}. Seconds: "
        + ", ".join(f"{k} {v}" for k, v in report["seconds"].items())
        + f", on {report.get('device', '?')}.",
        "",
        "<details><summary>Text adherence per claim (claims in brackets)</summary>",
        "",
        "| Claim | Generated | Real faces (ceiling) | Shuffled captions (floor) |",
        "|---|---|---|---|",
    ]
    for label, g in a["generated"]["per_claim"].items():
        cells = [_f(x["found"]) if x else "-" for x in (g, a["real"]["per_claim"].get(label), a["shuffled"]["per_claim"].get(label))]
        lines.append(f"| {label} ({g['claims']}) | " + " | ".join(cells) + " |")
    lines += ["", "</details>"]
    accuracy = report["classifier"].get("held_out_accuracy")
    if accuracy:
        lines += [
            "",
            "<details><summary>Attribute classifier: accuracy on the held-out split (balanced accuracy: mean of the "
            "true positive and true negative rates, 0.5 = chance)</summary>",
            "",
            accuracy_table(accuracy),
            "",
            "</details>",
        ]
    return "\n".join(lines)


def readme_markers(name: str) -> tuple[str, str]:
    """The comments that open and close README's generated block ``name``."""
    return f"<!-- {name}:start -->", f"<!-- {name}:end -->"


def update_readme_block(readme: Path, name: str, body: str) -> None:
    """Replace the text between README's ``<!-- name:start -->`` and ``<!-- name:end -->`` markers with ``body``."""
    start_marker, end_marker = readme_markers(name)
    text = readme.read_text(encoding="utf-8")
    start, end = text.find(start_marker), text.find(end_marker)
    if start < 0 or end < start:
        raise ValueError(f"{readme} has no {start_marker} ... {end_marker} block to put the {name} in")
    block = f"{start_marker}\n{body}\n{end_marker}"
    readme.write_text(text[:start] + block + text[end + len(end_marker) :], encoding="utf-8")


# --- command line -----------------------------------------------------------------------------------


def run_evaluate(args: argparse.Namespace) -> int:
    from t2f.hub import DEFAULT_WEIGHTS_DIR
    from t2f.pipeline import TextToFace
    from train.export import EVALUATION_NAME
    from train.metrics import InceptionFeatures

    start = time.perf_counter()
    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    # The cheap checks first: a missing classifier or optional package fails before any work.
    classifier, classifier_meta = load_classifier(args.classifier, device)
    features = InceptionFeatures(device)
    local = Path(args.weights) if args.weights else DEFAULT_WEIGHTS_DIR
    out = args.out or (local / EVALUATION_NAME if local.is_dir() else None)
    if out is None:
        raise ValueError("--out is needed when --weights is a Hub repo id")
    pipe = TextToFace.from_pretrained(args.weights, device=device)

    pipe.encode(["warm-up"])  # loads the text encoder: counted in setup, not in generation

    def generate(texts: list[str], seeds: list[int]) -> list[Tensor]:
        return pipe.generate(pipe.noise(seeds), pipe.encode(texts))

    setup = time.perf_counter() - start
    report = evaluate(
        generate, args.data, classifier, features, resolution=pipe.config.resolution, n=args.n, seed=args.seed,
        batch_size=args.batch_size, classifier_accuracy=classifier_meta.get("held_out_accuracy"), log=print,
    )  # fmt: skip
    report["weights"] = str(args.weights or DEFAULT_WEIGHTS_DIR)
    on_gpu = torch.device(device).type == "cuda"
    report["device"] = torch.cuda.get_device_name(device) if on_gpu else f"CPU (torch threads: {torch.get_num_threads()})"
    report["seconds"] = {"setup": round(setup, 1), **report["seconds"], "total": round(time.perf_counter() - start, 1)}
    report["classifier"].update(
        file=str(args.classifier),
        trained_on=classifier_meta.get("data"),
        held_out_mean=classifier_meta.get("held_out_mean"),
        held_out_accuracy=classifier_meta.get("held_out_accuracy"),
    )
    report["summary"] = summarize(report)
    markdown = results_markdown(report)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2), encoding="utf-8")
    out.with_suffix(".md").write_text(markdown + "\n", encoding="utf-8")
    print(markdown)
    print(f"wrote {out} and {out.with_suffix('.md')}")
    if args.readme:
        update_readme_block(args.readme, "evaluation", markdown)
        print(f"updated the results in {args.readme}")
    _refresh_weights_folder(out, report, args.readme)
    return 0


def _refresh_weights_folder(out: Path, report: dict, readme: Path | None = None) -> None:
    """When the report lands in an exported weights folder: the session that trained the weights gets
    the numbers in its row of the record (and of the training state, which the next session's record
    starts from), the learning curve is redrawn (and README's curve block, when it has one), and the
    model card is rewritten to show them."""
    from train.curve import curve_points, refresh_curve
    from train.export import EVALUATION_NAME, RECORD_NAME
    from train.model_card import write_model_card
    from train.state import STATE_NAME, update_state_sessions

    folder = out.parent
    if out.name != EVALUATION_NAME or not (folder / RECORD_NAME).is_file():
        return
    record = json.loads((folder / RECORD_NAME).read_text(encoding="utf-8"))
    sessions = record.get("sessions", [])
    if sessions:
        sessions[-1]["evaluation"] = report["summary"]
        (folder / RECORD_NAME).write_text(json.dumps(record, indent=2), encoding="utf-8")
        if (folder / STATE_NAME).is_file():
            update_state_sessions(folder, sessions)
    if curve_points(sessions):
        with_block = readme is not None and readme_markers("curve")[0] in readme.read_text(encoding="utf-8")
        refresh_curve(folder, sessions, readme if with_block else None)
    card = write_model_card(folder, record, report)
    print(f"updated the model card {card}")


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("evaluate", help="FID/KID, text adherence, diversity and speed of a model on held-out data")
    p.add_argument("--weights", help="weights folder or Hub repo id (default: the bundled weights/)")
    p.add_argument("--data", required=True, type=Path, help="CelebA-layout folder (its held-out split is used)")
    p.add_argument("--n", type=int, default=DEFAULT_N, help=f"held-out images to compare with (default {DEFAULT_N})")
    p.add_argument("--seed", type=int, default=0, help="captions, noise and image sample (default 0)")
    p.add_argument("--out", type=Path, help="report JSON (default: evaluation.json in a local weights folder)")
    p.add_argument("--classifier", type=Path, default=DEFAULT_CLASSIFIER, help=f"attribute classifier (default {DEFAULT_CLASSIFIER})")
    p.add_argument("--readme", type=Path, help="also write the results into this README's evaluation block")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--device", help="e.g. cuda, cpu (default: cuda when present)")
    p.set_defaults(func=run_evaluate)
