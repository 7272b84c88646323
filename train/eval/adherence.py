"""Text adherence: which attribute values a description claims, and how many of them the attribute
classifier finds in the faces drawn from it (see ``train.eval.evaluate`` for the protocol)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
from torch import Tensor

from t2f.captions import ATTRIBUTES
from train.data.pack import claim_tensor

# Below this held-out balanced accuracy (0.5 = chance) the classifier's calls on an attribute are too
# unreliable to judge a face by: on the test partition that leaves out Big_Lips (0.619) for the shipped judge.
MIN_BALANCED_ACCURACY = 0.65
# The attribute value a face "shows": presence, except No_Beard, whose marked value is a beard.
MARKED_BY_ABSENCE = frozenset({"No_Beard"})


def claim_label(attribute: str, value: int) -> str:
    """How a claim is named in reports: ``Eyeglasses``, ``not Male``."""
    return attribute if value else f"not {attribute}"


def claim_matrix(claims: Sequence[Mapping[str, int]], attributes: Sequence[str]) -> tuple[Tensor, Tensor]:
    """The claims of many descriptions ({attribute: 0 or 1} each, e.g. ``t2f.captions.describe(...).claims``)
    as (values, mask), both (N, A) over ``attributes`` (the classifier's; claims of others are dropped)."""
    stated = claim_tensor(claims)[:, [ATTRIBUTES.index(name) for name in attributes]]
    return stated.clamp(min=0).float(), stated >= 0


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
