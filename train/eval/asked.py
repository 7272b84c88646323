"""Drawn when asked: how often the faces show an attribute that a plain one-attribute description asks for.

For each of the salient attributes (``train.eval.classifier.SALIENT``, both sides of age), plain descriptions
in the caption writer's everyday words ("A bald man.", "A woman wearing glasses."), ``SEEDS`` faces in all,
split evenly over the description's subjects (a man, a woman, where both can show it), each read by the
attribute classifier at its calibrated decision. Every model is drawn with the same noise seeds.

The judge misses some faces that show an attribute: on real faces it finds each with its held-out recall, which
the report prints beside each share (:func:`judge_recall`), so a low share of a low-recall attribute (mustache:
0.45) says less than a low share of a high-recall one (glasses: 0.99).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import torch
from torch import Tensor

from train.eval.classifier import AttributeClassifier

SEEDS = 16  # faces per attribute
SEED_BASE = 9_100_019  # apart from the held-out faces' and the people's sets' noise seeds
# (label, CelebA attribute, value a face shows, descriptions): plain words, one attribute each.
PLAIN = (
    ("glasses", "Eyeglasses", 1, ("A man wearing glasses.", "A woman wearing glasses.")),
    ("hat", "Wearing_Hat", 1, ("A man wearing a hat.", "A woman wearing a hat.")),
    ("bald", "Bald", 1, ("A bald man.",)),
    ("mustache", "Mustache", 1, ("A man with a mustache.",)),
    ("goatee", "Goatee", 1, ("A man with a goatee.",)),
    ("beard", "No_Beard", 0, ("A man with a beard.",)),
    ("gray hair", "Gray_Hair", 1, ("A man with gray hair.", "A woman with gray hair.")),
    ("blond hair", "Blond_Hair", 1, ("A man with blond hair.", "A woman with blond hair.")),
    ("black hair", "Black_Hair", 1, ("A man with black hair.", "A woman with black hair.")),
    ("brown hair", "Brown_Hair", 1, ("A man with brown hair.", "A woman with brown hair.")),
    ("smiling", "Smiling", 1, ("A smiling man.", "A smiling woman.")),
    ("old", "Young", 0, ("An old man.", "An old woman.")),
    ("young", "Young", 1, ("A young man.", "A young woman.")),
    ("man", "Male", 1, ("A man.",)),
    ("woman", "Male", 0, ("A woman.",)),
    ("bangs", "Bangs", 1, ("A woman with bangs.",)),
    ("lipstick", "Wearing_Lipstick", 1, ("A woman wearing lipstick.",)),
    ("makeup", "Heavy_Makeup", 1, ("A woman wearing heavy makeup.",)),
)
# texts, noise seeds -> the generator's images smallest scale first, (N, 3, r, r) in [-1, 1]
Generate = Callable[[list[str], list[int]], list[Tensor]]


def plain_texts(seeds: int = SEEDS) -> list[tuple[str, list[str], list[int]]]:
    """(label, texts, noise seeds) per plain attribute: ``seeds`` faces split evenly over its descriptions, the
    k-th face of every attribute drawn with the same noise seed."""
    out = []
    for label, _, _, texts in PLAIN:
        per = -(-seeds // len(texts))
        drawn = [t for t in texts for _ in range(per)][:seeds]
        out.append((label, drawn, [SEED_BASE + k for k in range(seeds)]))
    return out


def drawn_when_asked(generate: Generate, classifier: AttributeClassifier, *, seeds: int = SEEDS, batch_size: int = 64) -> dict:
    """{"per_attribute": {label: {"attribute", "value", "shown", "faces"}}, "mean", "min", "seeds"}: the share
    of faces that show what their plain description asks for (``value`` of CelebA's ``attribute``)."""
    names = list(classifier.config.attributes)
    per = {}
    for (label, attribute, shown, _), (_, texts, noise) in zip(PLAIN, plain_texts(seeds)):
        probs = []
        for i in range(0, len(texts), batch_size):
            faces = generate(texts[i : i + batch_size], noise[i : i + batch_size])[-1]
            probs.append(classifier.predict(faces.float().cpu())[0][:, names.index(attribute)])
        called = torch.cat(probs) >= 0.5
        per[label] = {"attribute": attribute, "value": shown, "shown": float((called == bool(shown)).float().mean()), "faces": len(texts)}
    shares = [v["shown"] for v in per.values()]
    return {"per_attribute": per, "mean": sum(shares) / len(shares), "min": min(shares), "seeds": seeds}


def judge_recall(accuracy: Mapping[str, Mapping[str, float]], attribute: str, value: int) -> float | None:
    """The judge's held-out recall of ``value`` of ``attribute`` (from its ``.json``'s ``held_out_accuracy``, as
    ``train.eval.classifier.binary_accuracy`` gives it): what it finds on real faces that show it. None when the
    statistics lack it."""
    stats = accuracy.get(attribute, {})
    marked = 0 if attribute == "No_Beard" else 1  # the value binary_accuracy's recall is of
    return stats.get("recall" if value == marked else "recall_absent")
