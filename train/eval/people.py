"""How well the faces follow descriptions as people write them, beside the caption writer's own words.

Three measurements, all read by the attribute classifier as in :mod:`train.eval.adherence`:

- **People's descriptions**: the project's held-out set ``people_descriptions.json``, written by hand in
  the ways people describe a face (negations, ages as numbers, everyday words, several sentences,
  sentences about things a face cannot show, comma lists, lower case, long paragraphs), never produced by
  the caption writer and never trained on. Each description states some attribute values (its claims,
  present or negated); ``SEEDS`` faces are drawn from each. Reported: adherence (the share of claims found,
  mean over faces), per claim, per style, and for the negated claims alone.
- **Negation probes**: for each attribute people negate, ``PROBE_SEEDS`` faces each from the attribute
  said ("a man with glasses"), negated ("a man without glasses") and unsaid ("a man"): how often the face
  shows it. A model that reads negation draws a negated attribute no more often than an unsaid one.
- **Dilution probes**: one attribute in one sentence ("An old man."), alone and with 1 to 3 of the set's
  neutral sentences (jobs, places, the occasion) before and after it: how often the face shows it at each
  level, and the cost of the padding in points (alone minus the mean over the padded levels).

Every face's noise seed is fixed by ``seed``, so two models are compared on the same draws.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor

from t2f.captions import ATTRIBUTES, EXCLUDED
from t2f.files import read_json_object
from train.eval.adherence import MARKED_BY_ABSENCE, adherence, claim_label, claim_matrix
from train.eval.classifier import AttributeClassifier

PEOPLE_FILE = Path(__file__).with_name("people_descriptions.json")
SEEDS = 4  # faces per description: 4 x 239 descriptions is about 1,000 faces
PROBE_SEEDS = 16  # faces per probe text
SEED_BASE = 7_000_003  # keeps these noise seeds apart from the held-out faces' own
# (attribute, value shown, said, negated, subject): the attribute people negate most, in plain words.
NEGATION_PROBES = (
    ("Eyeglasses", 1, "{s} with glasses", "{s} without glasses", ("a man", "a woman")),
    ("No_Beard", 0, "{s} with a beard", "a clean-shaven {n}", ("a man",)),
    ("Smiling", 1, "{s} who is smiling", "{s} who is not smiling", ("a man", "a woman")),
    ("Wearing_Hat", 1, "{s} wearing a hat", "{s} with no hat", ("a man", "a woman")),
    ("Heavy_Makeup", 1, "{s} wearing heavy makeup", "{s} with no makeup", ("a woman",)),
    ("Bald", 1, "a bald {n}", "{s} who is not bald", ("a man",)),
    ("Mustache", 1, "{s} with a mustache", "{s} with no mustache", ("a man",)),
    ("Wearing_Earrings", 1, "{s} wearing earrings", "{s} with no earrings", ("a woman",)),
)
# (attribute, value shown, one sentence that says it): what one extra sentence washed out in v1.
DILUTION_PROBES = (
    ("Young", 0, "An old man."),
    ("Gray_Hair", 1, "A man with gray hair."),
    ("Blond_Hair", 1, "A woman with blond hair."),
    ("Brown_Hair", 1, "A woman with brown hair."),
    ("Black_Hair", 1, "A man with black hair."),
    ("Eyeglasses", 1, "A woman wearing glasses."),
    ("Wearing_Hat", 1, "A man wearing a hat."),
    ("Smiling", 1, "A smiling woman."),
    ("No_Beard", 0, "A man with a beard."),
)
DILUTION_LEVELS = (0, 1, 2, 3)  # neutral sentences around the attribute's sentence

# texts, noise seeds -> the generator's images smallest scale first, (N, 3, r, r) in [-1, 1]
Generate = Callable[[list[str], list[int]], list[Tensor]]


@dataclass(frozen=True)
class Description:
    """One hand-written description: its text, the attribute values it states (CelebA columns, 0/1),
    which of them it states by a negation, and the styles it is written in."""

    text: str
    claims: dict[str, int]
    negated: tuple[str, ...]
    styles: tuple[str, ...]


def load_people(path: str | Path = PEOPLE_FILE) -> tuple[list[Description], list[str]]:
    """The descriptions and the neutral sentences of a people's-descriptions file; a ValueError naming the
    entry when a claim is not a CelebA attribute (or an excluded one), not 0/1, or a negation not claimed."""
    data = read_json_object(path)
    known = set(ATTRIBUTES) - EXCLUDED
    out = []
    for i, entry in enumerate(data.get("descriptions", [])):
        claims, negated = entry.get("claims", {}), entry.get("negated", [])
        bad = [k for k, v in claims.items() if k not in known or v not in (0, 1)] + [k for k in negated if k not in claims]
        if not isinstance(entry.get("text"), str) or not entry["text"].strip() or not claims or bad:
            raise ValueError(f"{path}: description {i} is not valid (text, claims of CelebA attributes 0/1, negated claims): {bad or entry}")
        out.append(Description(entry["text"], dict(claims), tuple(negated), tuple(entry.get("styles", ()))))
    neutral = data.get("neutral_sentences", [])
    if not out or not neutral or not all(isinstance(s, str) and s for s in neutral):
        raise ValueError(f"{path} needs descriptions and neutral_sentences")
    return out, list(neutral)


def _probs(generate: Generate, classifier: AttributeClassifier, texts: list[str], seeds: list[int], batch_size: int) -> Tensor:
    """The classifier's probabilities (N, A) for the full-size faces of ``texts`` drawn with ``seeds``."""
    out = []
    for i in range(0, len(texts), batch_size):
        top = generate(texts[i : i + batch_size], seeds[i : i + batch_size])[-1]
        out.append(classifier.predict(top.float().cpu())[0])
    return torch.cat(out)


def _shown(probs: Tensor, names: list[str], attribute: str, value: int) -> float:
    """The share of faces whose classifier call for ``attribute`` is ``value``."""
    called = probs[:, names.index(attribute)] >= 0.5
    return float((called == bool(value)).float().mean())


def people_report(
    generate: Generate,
    classifier: AttributeClassifier,
    people: tuple[list[Description], list[str]],
    excluded: Mapping[str, float],
    *,
    seed: int = 0,
    batch_size: int = 64,
    seeds: int = SEEDS,
    probe_seeds: int = PROBE_SEEDS,
) -> dict:
    """Adherence on people's descriptions, negation probes and dilution probes (see the module docstring).
    Attributes in ``excluded`` (the classifier cannot tell them apart) are left out of every number."""
    descriptions, neutral = people
    names = list(classifier.config.attributes)
    keep = [i for i, n in enumerate(names) if n not in excluded]
    kept = [names[i] for i in keep]
    base = SEED_BASE * (seed + 1)

    texts = [d.text for d in descriptions for _ in range(seeds)]
    face_seeds = [base + i for i in range(len(texts))]
    probs = _probs(generate, classifier, texts, face_seeds, batch_size)[:, keep]
    values, mask = claim_matrix([d.claims for d in descriptions for _ in range(seeds)], kept)
    overall = adherence(probs, values, mask, kept)
    negated_values, negated_mask = claim_matrix(
        [{k: d.claims[k] for k in d.negated} for d in descriptions for _ in range(seeds)], kept
    )
    styles = sorted({s for d in descriptions for s in d.styles})
    per_style = {}
    for style in styles:
        rows = torch.tensor([style in d.styles for d in descriptions for _ in range(seeds)])
        per_style[style] = {"mean": adherence(probs[rows], values[rows], mask[rows], kept)["mean"], "descriptions": int(rows.sum()) // seeds}

    negation = {}
    offset = base + len(texts)
    for attribute, shown, said, negated, subjects in NEGATION_PROBES:
        if attribute in excluded:
            continue
        rates = {}
        for form, template in (("said", said), ("negated", negated), ("unsaid", "{s}")):
            probe_texts = [template.format(s=s, n=s.split()[-1]) + "." for s in subjects for _ in range(probe_seeds)]
            probe_seeds_ = [offset + k for k in range(len(probe_texts))]  # the same noises for the three forms
            rates[form] = _shown(_probs(generate, classifier, probe_texts, probe_seeds_, batch_size), names, attribute, shown)
        negation[claim_label(attribute, shown) if attribute not in MARKED_BY_ABSENCE else "beard"] = rates

    dilution = {}
    rng = random.Random(seed)
    for attribute, shown, sentence in DILUTION_PROBES:
        if attribute in excluded:
            continue
        rates = {}
        for level in DILUTION_LEVELS:
            probe_texts = []
            for _ in range(probe_seeds):
                padding = rng.sample(neutral, level)
                before = padding[: (level + 1) // 2]
                probe_texts.append(" ".join([*before, sentence, *padding[len(before) :]]))
            probe_seeds_ = [offset + k for k in range(probe_seeds)]
            rates[str(level)] = _shown(_probs(generate, classifier, probe_texts, probe_seeds_, batch_size), names, attribute, shown)
        padded = [rates[str(level)] for level in DILUTION_LEVELS[1:]]
        label = claim_label(attribute, shown) if attribute not in MARKED_BY_ABSENCE else "beard"
        dilution[label] = {"drawn": rates, "cost_points": 100 * (rates["0"] - sum(padded) / len(padded))}

    negated_found = adherence(probs, negated_values, negated_mask, kept) if bool(negated_mask.any()) else None
    return {
        "descriptions": len(descriptions),
        "faces": len(texts),
        "seeds_per_description": seeds,
        "adherence": overall["mean"],
        "claims": overall["claims"],
        "per_claim": overall["per_claim"],
        "per_style": per_style,
        "negated_claims": {"mean": negated_found["mean"], "claims": negated_found["claims"]} if negated_found else None,
        "negation": negation,
        "negation_excess": max((r["negated"] - r["unsaid"] for r in negation.values()), default=None),
        "dilution": dilution,
        "dilution_cost_points": sum(d["cost_points"] for d in dilution.values()) / len(dilution) if dilution else None,
        "probe_seeds": probe_seeds,
    }
