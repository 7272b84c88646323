"""Does the judge see what a person sees? A sheet of faces to count by eye, and the classifier's calls on it.

    python -m bench.judge_agreement --weights weights --sheet runs/agreement-v2.png
    python -m bench.judge_agreement --weights weights --eye docs/agreement-v2.json   # compare with counts by eye

Draws ``SEEDS`` faces (seeds 0..7) for each of ``DESCRIPTIONS`` (8 plain descriptions, 2-4 salient attributes
each) at 128 px, writes them as one sheet (a row per description, numbered 1-8, seeds left to right), and
prints, per description and attribute it asks for, the faces the attribute classifier calls as showing it (a
string of 8 marks, ``x`` shown, ``.`` not). With ``--eye FILE``, a JSON file of the same marks written by a
person looking at the sheet ({description number: {attribute: "x..x...."}}), it prints per attribute how often
the two agree, and the judge's and the person's counts side by side.
"""

from __future__ import annotations

import argparse
import json

import torch
from PIL import Image

from t2f import TextToFace
from t2f.files import DEFAULT_WEIGHTS_DIR
from t2f.pipeline import to_pil
from train.eval.adherence import MARKED_BY_ABSENCE
from train.eval.classifier import DEFAULT_PATH, load_classifier

SEEDS = 8
# (description, {CelebA attribute: value asked}): the salient attributes, each asked in at least one row.
DESCRIPTIONS = (
    ("An old man with gray hair and glasses.", {"Young": 0, "Gray_Hair": 1, "Eyeglasses": 1}),
    ("A bald man with a mustache.", {"Bald": 1, "Mustache": 1}),
    ("A young woman with blond hair and bangs, smiling.", {"Young": 1, "Blond_Hair": 1, "Bangs": 1, "Smiling": 1}),
    ("A man with a beard, wearing a hat.", {"No_Beard": 0, "Wearing_Hat": 1}),
    ("A woman with black hair, wearing lipstick.", {"Male": 0, "Black_Hair": 1, "Wearing_Lipstick": 1}),
    ("A man with brown hair and a goatee.", {"Male": 1, "Brown_Hair": 1, "Goatee": 1}),
    ("A smiling woman with heavy makeup.", {"Smiling": 1, "Heavy_Makeup": 1}),
    ("A young man with black hair and no glasses.", {"Young": 1, "Black_Hair": 1, "Eyeglasses": 0}),
)


def marks(called: torch.Tensor) -> str:
    return "".join("x" if c else "." for c in called.tolist())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", default=str(DEFAULT_WEIGHTS_DIR))
    parser.add_argument("--classifier", default=str(DEFAULT_PATH))
    parser.add_argument("--sheet", help="write the sheet of faces here (PNG)")
    parser.add_argument("--eye", help="JSON of marks counted by eye on the sheet, to compare with the judge")
    args = parser.parse_args()
    pipe = TextToFace.from_pretrained(args.weights)
    classifier, _ = load_classifier(args.classifier)
    names = list(classifier.config.attributes)
    seeds = list(range(SEEDS))
    judge: dict[str, dict[str, str]] = {}
    rows = []
    for k, (text, asked) in enumerate(DESCRIPTIONS, 1):
        faces = pipe.draw([text] * SEEDS, seeds)[-1]
        rows.append(faces)
        probs, _ = classifier.predict(faces)
        judge[str(k)] = {}
        for attribute, value in asked.items():
            marked = 0 if attribute in MARKED_BY_ABSENCE else 1  # the value a face shows: presence, a beard
            called = (probs[:, names.index(attribute)] >= 0.5) == bool(marked)
            judge[str(k)][attribute] = marks(called if value == marked else ~called)
        print(f"{k}. {text}  " + "  ".join(f"{a}={v}" for a, v in asked.items()) + "  judge: " + "  ".join(f"{a} {m}" for a, m in judge[str(k)].items()))
    if args.sheet:
        size = rows[0].shape[-1]
        sheet = Image.new("RGB", (SEEDS * size, len(rows) * size))
        for r, faces in enumerate(rows):
            for c, face in enumerate(to_pil(faces)):
                sheet.paste(face, (c * size, r * size))
        sheet.save(args.sheet)
        print(f"wrote {args.sheet}: row k is description k, seeds 0-{SEEDS - 1} left to right")
    if args.eye:
        eye = json.loads(open(args.eye, encoding="utf-8").read())["marks"]
        print("\n| Description | Attribute (as asked) | Shown, by eye | Shown, judge | Faces where they agree |")
        print("|---|---|---|---|---|")
        agree = total = 0
        for k, asked in judge.items():
            for attribute, j in asked.items():
                e = eye[k][attribute]
                same = sum(a == b for a, b in zip(e, j))
                agree, total = agree + same, total + len(j)
                print(f"| {k} | {attribute}={DESCRIPTIONS[int(k) - 1][1][attribute]} | {e.count('x')}/{len(e)} | {j.count('x')}/{len(j)} | {same}/{len(j)} |")
        print(f"\nagreement over {total} calls: {agree / total:.3f}")


if __name__ == "__main__":
    torch.set_grad_enabled(False)
    main()
