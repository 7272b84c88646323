"""Judges side by side on real faces: per-attribute precision, recall, F1 and called against labelled share.

    python -m bench.judge_compare --data ../shared/data/celeba-10k ../shared/data/celeba-more \
        --classifiers weights/attribute-classifier.safetensors OLD.safetensors

Each classifier reads every face of the held-out split (CelebA's test partition: 5,190 faces, no person shared
with a training face) at its decision (probability >= 0.5). The project's first judge (format
``t2f-attribute-classifier-1``, a small CNN at 64 px, shipped until 2026-12-05: ``git show
bb1b20c:weights/attribute-classifier.safetensors`` and its ``.json``) is read as the ``cnn`` backbone it was.
Prints, for the salient attributes (``train.eval.classifier.SALIENT``), one row per attribute with each judge's
F1 and called/labelled share, then each judge's means.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from safetensors.torch import load_file

from t2f.files import read_json_object
from train.data.celeba import HELD_OUT, scan_celeba
from train.eval.classifier import (
    SALIENT, AttributeClassifier, ClassifierConfig, attribute_accuracy, attribute_labels, load_classifier, load_labelled_faces,
    salient_summary,
)  # fmt: skip


def load_any(path: Path) -> AttributeClassifier:
    """A classifier file of either format: the first judge's keys (``body.*``) are the CNN trunk's."""
    meta = read_json_object(path.with_suffix(".json"))
    if meta.get("format") != "t2f-attribute-classifier-1":
        return load_classifier(path)[0]
    model = AttributeClassifier(ClassifierConfig(backbone="cnn", **meta["config"]))
    model.load_state_dict({k.replace("body.", "trunk.", 1): v for k, v in load_file(str(path)).items()})
    return model.eval()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", nargs="+", required=True, type=Path)
    parser.add_argument("--classifiers", nargs="+", required=True, type=Path)
    args = parser.parse_args()
    images, records = load_labelled_faces(scan_celeba(args.data).split(HELD_OUT))
    labels = attribute_labels(records)
    results = {path.name if i == 0 else f"{path.parent.name}/{path.name}": attribute_accuracy(load_any(path), images, labels) for i, path in enumerate(args.classifiers)}
    names = list(results)
    print(f"{len(images)} held-out faces\n")
    print("| Attribute | labelled share | " + " | ".join(f"{n}: P / R / F1 / called" for n in names) + " |")
    print("|---|---|" + "---|" * len(names))
    for attribute in SALIENT:
        first = results[names[0]][attribute]
        cells = [f"{r[attribute]['precision']:.2f} / {r[attribute]['recall']:.2f} / **{r[attribute]['f1']:.2f}** / {r[attribute]['called_share']:.3f}" for r in results.values()]
        label = "beard (No_Beard = 0)" if attribute == "No_Beard" else attribute
        print(f"| {label} | {first['labelled_share']:.3f} | " + " | ".join(cells) + " |")
    for name, r in results.items():
        s = salient_summary(r)
        print(f"\n{name}: mean F1 {s['mean_f1']:.3f}, called/labelled share from {s['min_share_ratio']:.2f}x to {s['max_share_ratio']:.2f}x")


if __name__ == "__main__":
    main()
