"""``python -m train attributes``: the read-out probe and the edit directions of a weights folder.

    python -m train attributes --weights weights --pack cache/celeba-train-128px-....pack

Writes ``attributes.safetensors`` + ``attributes.json`` into the weights folder (see ``t2f.attributes``);
rerun it after every retraining: the directions belong to one generator. Deterministic: the same weights,
pack and options give the same files, byte for byte.

- **Probe**: logistic regression per caption attribute on the pack's caption embeddings (three per image),
  trained on what each caption *claims* (the pack's ``claims``), not on the image's labels: captions name only
  some of a face's attributes and negate others ("no glasses"), so the image's labels would teach "glasses"
  to texts that never said it. The read-out reports what a text says. Every tenth image's captions are held
  out to measure it; the hand-written :data:`FREE_DESCRIPTIONS` measure it on text no caption template
  wrote. Both go into attributes.json.
- **Directions**: for each edit, ``vectors`` attribute vectors of the pack (a seeded sample, so real
  co-occurrences) are captioned twice by the project's caption writer, once with the attribute and once
  without (plus the edit's context: e.g. the other hair colours cleared), with the first seed whose caption
  with it says so (see :func:`matched_captions`); the direction is the mean difference of the generator's
  mean text codes of the pairs. Its length is the strength-1 step; the 0.5th and 99.5th
  percentiles of the pack's caption codes along it bound the edits.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from t2f.attributes import (
    EDIT_NAMES, EDITS, NEGATIVE, READ_ATTRIBUTES, TWO_SIDED, AttributeModel, EditDirection, code_fingerprint,
)  # fmt: skip
from t2f.captions import ATTRIBUTES, describe
from t2f.model import Generator, normalize_text
from t2f.text import TextEncoder
from train.eval.classifier import binary_accuracy

HELD_OUT_EVERY = 10  # every tenth image's captions measure the probe
# Ridge on the probe weights. On one caption each of the first 4,000 CelebA-10k attribute vectors, held-out
# caption accuracy 0.968 at 1e-4, 0.955 at 1e-3, 0.941 at 3e-3 (majority baseline 0.860); the free
# descriptions 49/53 at 1e-4 and 1e-3, 46/53 at 3e-3.
PROBE_L2 = 1e-4
PROBE_ITERATIONS = 100  # L-BFGS iterations (100 and 500 gave the same held-out accuracy on 3,000 captions)
DEFAULT_VECTORS = 128
SEED_TRIES = 64  # seeds tried per matched pair for captions that state the edited attribute (6 at most seen)
QUANTILES = (0.005, 0.995)
# Hand-written descriptions, as a new user types them, with what they say: (said, "present") for what is
# there, (said, "not said") for some of what is not, negated ("no beard") or not mentioned at all. The probe
# never saw these.
FREE_DESCRIPTIONS: tuple[tuple[str, dict[str, str]], ...] = (
    ("an old man with a beard", {"older": "present", "man": "present", "beard": "present", "glasses": "not said"}),
    (
        "an old man with gray hair, glasses and a mustache",
        {"older": "present", "man": "present", "gray hair": "present", "glasses": "present", "mustache": "present"},
    ),
    (
        "a smiling young woman with wavy blond hair",
        {"young": "present", "woman": "present", "smiling": "present", "blond hair": "present", "beard": "not said"},
    ),
    ("a bald man with a goatee", {"man": "present", "bald": "present", "goatee": "present", "hat": "not said"}),
    ("a woman wearing red lipstick and earrings", {"woman": "present", "lipstick": "present", "earrings": "present"}),
    ("a young guy with black hair and a cap", {"young": "present", "man": "present", "black hair": "present", "hat": "present"}),
    ("a lady with bangs and brown hair", {"woman": "present", "bangs": "present", "brown hair": "present", "smiling": "not said"}),
    ("a grinning man in spectacles", {"man": "present", "smiling": "present", "glasses": "present"}),
    ("an elderly woman with silver hair", {"older": "present", "woman": "present", "gray hair": "present"}),
    ("a teenage boy with a big nose", {"young": "present", "man": "present", "big nose": "present", "beard": "not said"}),
    ("a middle-aged man with a double chin and a tie", {"older": "present", "man": "present", "double chin": "present", "necktie": "present"}),
    ("a girl with heavy makeup and a necklace", {"woman": "present", "makeup": "present", "necklace": "present", "glasses": "not said"}),
    ("a man with no beard", {"man": "present", "beard": "not said"}),
    ("a woman without glasses", {"woman": "present", "glasses": "not said"}),
    ("a man who is not smiling", {"man": "present", "smiling": "not said"}),
)  # fmt: skip


def _split(n: int) -> tuple[Tensor, Tensor]:
    held = torch.arange(n) % HELD_OUT_EVERY == 0
    return ~held, held


def claim_targets(claims: Tensor) -> tuple[Tensor, Tensor]:
    """Per-caption claims (..., 40) int8 (1 stated, 0 negated, -1 unsaid; CelebA columns) -> the probe's
    (targets, mask), each (..., A) over READ_ATTRIBUTES.

    The target is the probability the read-out turns into words (``t2f.attributes._readings``). For Male
    and Young, the side stated, trained only on the captions that state one (mask); every caption states a
    gender, so what a text that leaves it open reads is the probe's extrapolation (usually short of SURE).
    For every other attribute, whether the caption states it as present, trained on every caption, so negated
    ("no glasses") and unsaid alike are "not said"; for No_Beard, present is a beard (value 0), so its target
    is 1 unless a beard is stated.
    """
    columns = [ATTRIBUTES.index(a) for a in READ_ATTRIBUTES]
    stated = claims[..., columns].long()
    two_sided = torch.tensor([a in TWO_SIDED for a in READ_ATTRIBUTES])
    negative = torch.tensor([a in NEGATIVE for a in READ_ATTRIBUTES])
    targets = torch.where(negative, stated != 0, stated == 1).float()
    mask = ~two_sided | (stated != -1)
    return targets, mask


def fit_probe(embeddings: Tensor, claims: Tensor, *, l2: float = PROBE_L2) -> tuple[Tensor, Tensor, dict]:
    """Logistic regression per attribute from caption embeddings (N, K, D) to what each caption claims
    (N, K, 40), with the targets of :func:`claim_targets`.

    Trained on all but every tenth image's captions (full-batch L-BFGS, deterministic; each attribute's loss
    is the mean over the captions that train it); returns (weight (A, D), bias (A,), held-out metrics:
    accuracy, balanced accuracy and majority baseline per attribute, on the held-out captions that train it,
    and their means).
    """
    n, k, d = embeddings.shape
    x = normalize_text(embeddings.reshape(n * k, d)).reshape(n, k, d)
    y, mask = claim_targets(claims)
    train, held = _split(n)
    a = len(READ_ATTRIBUTES)
    x_train, y_train, m_train = x[train].reshape(-1, d), y[train].reshape(-1, a), mask[train].reshape(-1, a).float()
    counts = m_train.sum(dim=0).clamp(min=1)
    weight = torch.zeros(a, d, requires_grad=True)
    bias = torch.zeros(a, requires_grad=True)
    opt = torch.optim.LBFGS(
        [weight, bias], lr=1.0, max_iter=PROBE_ITERATIONS, history_size=20, line_search_fn="strong_wolfe"
    )

    def closure() -> Tensor:
        opt.zero_grad()
        losses = F.binary_cross_entropy_with_logits(x_train @ weight.T + bias, y_train, reduction="none")
        loss = ((losses * m_train).sum(dim=0) / counts).mean() + l2 * weight.pow(2).sum() / 2
        loss.backward()
        return loss

    opt.step(closure)
    weight, bias = weight.detach(), bias.detach()
    with torch.no_grad():
        predicted = (x[held].reshape(-1, d) @ weight.T + bias) > 0
    truth, measured = y[held].reshape(-1, a).bool(), mask[held].reshape(-1, a)
    keys = ("accuracy", "balanced_accuracy", "majority_baseline")
    per = {}
    for i, name in enumerate(READ_ATTRIBUTES):
        rows = measured[:, i]
        if rows.any():  # a tiny set's held-out captions may all leave age unsaid
            scores = binary_accuracy(predicted[rows, i, None], truth[rows, i, None], [name])[name]
            per[name] = {key: round(scores[key], 4) for key in keys}
    means = {key: round(sum(v[key] for v in per.values()) / len(per), 4) for key in keys}
    metrics = {"held_out_captions": int(held.sum()) * k, "held_out_mean": means, "held_out": per}
    return weight, bias, metrics


def free_description_accuracy(model: AttributeModel, encoder: TextEncoder) -> dict:
    """Share of FREE_DESCRIPTIONS' expectations the read-out meets, and the misses."""
    embeddings = encoder.encode([text for text, _ in FREE_DESCRIPTIONS])
    checked, misses = 0, []
    for (text, expected), embedding in zip(FREE_DESCRIPTIONS, embeddings):
        status = {r.said: r.status for r in model.read(embedding)}
        for said, want in expected.items():
            checked += 1
            if status[said] != want:
                misses.append(f"{text!r}: {said} read {status[said]}, expected {want}")
    return {"accuracy": round(1 - len(misses) / checked, 4), "checked": checked, "misses": misses}


def matched_captions(edit: EditDirection, attributes: Tensor, seed: int = 0) -> tuple[list[str], list[str]]:
    """Captions of each attribute vector (M, 40) with the edit's attribute on its +1 side and on its -1 side,
    the same caption seed for both, the edit's context applied to both.

    Captions name only some of what a face has, so each pair takes the first of ``SEED_TRIES`` seeds whose +1
    caption states the attribute (and, for Male and Young, whose -1 caption states the other side); a -1
    caption of a one-sided attribute leaves it unsaid or negates it ("no glasses").
    """
    toward, away = [], []
    for i, row in enumerate(attributes.tolist()):
        a = {name: value == 1 for name, value in zip(ATTRIBUTES, row)}
        a.update(dict(edit.context))
        a.update({name: False for name in edit.clear})
        first = (seed * 1_000_003 + i) * SEED_TRIES
        for s in range(first, first + SEED_TRIES):
            plus = describe({**a, edit.attribute: edit.toward}, seed=s)
            if plus.claims.get(edit.attribute) != int(edit.toward):
                continue
            minus = describe({**a, edit.attribute: not edit.toward}, seed=s)
            if edit.attribute not in TWO_SIDED or minus.claims.get(edit.attribute) == int(not edit.toward):
                break
        else:
            raise ValueError(
                f"no caption of {SEED_TRIES} seeds states {edit.attribute} for attribute vector {i}: {row}"
            )
        toward.append(plus.text)
        away.append(minus.text)
    return toward, away


@torch.no_grad()
def text_codes(generator: Generator, embeddings: Tensor, batch: int = 4096) -> Tensor:
    """Mean text codes (N, cond_dim) of embeddings (N, text_dim), float32 on the CPU."""
    return torch.cat([generator.cond(e.float()) for e in embeddings.split(batch)])


def build_directions(
    generator: Generator, encoder: TextEncoder, base: Tensor, train_codes: Tensor, *, seed: int = 0
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """(unit directions (E, C), steps (E,), low (E,), high (E,)) for EDITS from matched captions of ``base``."""
    pairs = [matched_captions(edit, base, seed) for edit in EDITS]
    texts = [t for toward, away in pairs for t in toward + away]
    codes = text_codes(generator, encoder.encode(texts)).reshape(len(EDITS), 2, len(base), -1)
    differences = (codes[:, 0] - codes[:, 1]).mean(dim=1)
    steps = differences.norm(dim=1)
    directions = differences / steps[:, None]
    along = train_codes @ directions.T  # (N, E)
    low, high = torch.quantile(along, torch.tensor(QUANTILES), dim=0)
    return directions, steps, low, high


def build_attribute_model(
    generator: Generator,
    encoder: TextEncoder,
    embeddings: Tensor,
    attributes: Tensor,
    claims: Tensor,
    *,
    vectors: int = DEFAULT_VECTORS,
    seed: int = 0,
    source: str = "",
) -> AttributeModel:
    """The probe and directions from a training set's caption embeddings (N, K, D), the images' attributes
    (N, 40) and what each caption claims (N, K, 40) int8, as a pack stores them: the probe learns the claims,
    the directions caption a sample of the attribute vectors."""
    if embeddings.shape[0] != attributes.shape[0] or embeddings.shape[0] < HELD_OUT_EVERY:
        raise ValueError(
            f"need at least {HELD_OUT_EVERY} images with caption embeddings and attributes each, "
            f"got {embeddings.shape[0]} and {attributes.shape[0]}"
        )
    if tuple(claims.shape) != (*embeddings.shape[:2], len(ATTRIBUTES)):
        raise ValueError(
            f"need the claims of every caption, (images, captions, {len(ATTRIBUTES)}) = "
            f"{(*embeddings.shape[:2], len(ATTRIBUTES))}, got {tuple(claims.shape)}"
        )
    if embeddings.shape[-1] != generator.config.text_dim:
        raise ValueError(
            f"the embeddings are {embeddings.shape[-1]}-d, the generator reads {generator.config.text_dim}-d"
        )
    if not 1 <= vectors <= len(attributes):
        raise ValueError(f"vectors must be from 1 to {len(attributes)} (the images available), got {vectors}")
    weight, bias, probe = fit_probe(embeddings.float(), claims)
    order = torch.randperm(len(attributes), generator=torch.Generator().manual_seed(seed))
    train_codes = text_codes(generator, embeddings.reshape(-1, embeddings.shape[-1]))
    base = attributes[order[:vectors]]
    directions, steps, low, high = build_directions(generator, encoder, base, train_codes, seed=seed)
    info = {
        "text_encoder": generator.config.text_encoder,
        "generator_fingerprint": code_fingerprint(generator),
        "source": source,
        "attributes": list(READ_ATTRIBUTES),
        "edits": list(EDIT_NAMES),
        "plus_one_means": {e.name: e.attribute if e.toward else f"not {e.attribute}" for e in EDITS},
        "vectors": vectors,
        "seed": seed,
        "probe": probe,
        "strength_scale": {
            "rule": "strength 1 = one step (mean code difference of matched captions), bounded by the training codes' "
            f"{QUANTILES[0] * 100:g}th-{QUANTILES[1] * 100:g}th percentiles along the direction",
            **{
                e.name: {"step": round(float(s), 4), "low": round(float(lo), 4), "high": round(float(hi), 4)}
                for e, s, lo, hi in zip(EDITS, steps, low, high)
            },
        },
    }  # fmt: skip
    model = AttributeModel(weight, bias, directions, steps, low, high, info)
    model.info["probe"]["free_descriptions"] = free_description_accuracy(model, encoder)
    return model
