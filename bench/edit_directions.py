"""Do the edit directions edit? The attribute classifier's verdict, per direction, at strengths -1 .. 1.

    python -m bench.edit_directions --weights weights            # 32 seeds x 3 descriptions, Markdown table
    python -m bench.edit_directions --weights weights --seeds 4 --picture /tmp/edits.png   # a quick look

For each edit direction (``t2f.attributes.EDITS``), every (description, seed) is drawn with only that
direction moved, at each strength; the project's attribute classifier (``python -m train classifier``) scores
the 128 px faces. The table gives the mean probability of what +1 means (e.g. "not Young" for age) at each
strength, its change from -1 to +1, and how much the other attributes move between -1 and +1 (mean absolute
change of their probabilities, and the one that moves most). A direction whose attribute changes by less
than 0.05 is reported as not moving it, not hidden. Also saves a picture: one face, a row per direction,
strengths left to right (``--picture``, default weights/edit_examples.png).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch
from PIL import Image, ImageDraw

from t2f import TextToFace
from t2f.attributes import EDITS
from t2f.files import DEFAULT_WEIGHTS_DIR
from train.eval.classifier import DEFAULT_PATH, load_classifier

DESCRIPTIONS = (
    "a smiling young woman with wavy blond hair",
    "an old man with gray hair, glasses and a mustache",
    "a young man with black hair",
)
STRENGTHS = (-1.0, -0.5, 0.0, 0.5, 1.0)
MOVES, BARELY = 0.10, 0.05  # change of the attribute's probability from -1 to +1


def verdict(change: float) -> str:
    """How a direction's change of its own attribute's probability (from -1 to +1) reads."""
    if change >= MOVES:
        return "moves it"
    if change >= BARELY:
        return "barely moves it"
    if change <= -BARELY:
        return "moves it the wrong way"
    return "does not move it"


def measure(pipe: TextToFace, classifier, descriptions, seeds, strengths) -> list[dict]:
    """Per edit: mean probability of its +1 side per strength, and the other attributes' movement."""
    names = list(classifier.config.attributes)
    results = []
    for edit in EDITS:
        probs = []  # per strength: (faces, attributes)
        for s in strengths:
            faces = [
                pipe.edit(text, seed, {edit.name: s}, return_tensors=True).tensors[pipe.scales[-1]]
                for text in descriptions
                for seed in seeds
            ]
            probs.append(classifier.predict(torch.stack(faces).clamp(-1, 1))[0])  # the pixels people see
        k = names.index(edit.attribute)
        side = [(p[:, k] if edit.toward else 1 - p[:, k]).mean().item() for p in probs]
        moved = (probs[-1] - probs[0]).abs().mean(dim=0)  # (attributes,): mean |change| from -1 to +1
        moved[k] = float("nan")
        others = moved[~moved.isnan()]
        worst = int(torch.nan_to_num(moved, nan=-1.0).argmax())
        results.append(
            {
                "edit": edit.name,
                "means": edit.attribute if edit.toward else f"not {edit.attribute}",
                "probability": side,
                "change": side[-1] - side[0],
                "others_mean": others.mean().item(),
                "most_moved": (names[worst], moved[worst].item()),
            }
        )
    return results


def table(results: list[dict], strengths) -> str:
    """Markdown table of :func:`measure`'s results."""
    head = " | ".join(f"{s:+g}" for s in strengths)
    rows = [
        f"| edit | +1 means | P at {head} | change | others move (mean) | most moved other | verdict |",
        "|---|---|" + "---|" * len(strengths) + "---|---|---|---|",
    ]
    for r in results:
        p = " | ".join(f"{v:.2f}" for v in r["probability"])
        name, value = r["most_moved"]
        rows.append(
            f"| {r['edit']} | {r['means']} | {p} | {r['change']:+.2f} | {r['others_mean']:.3f} | {name} {value:.2f} "
            f"| {verdict(r['change'])} |"
        )
    return "\n".join(rows)


def picture(pipe: TextToFace, text: str, seed: int, strengths, size: int = 128, label_width: int = 110) -> Image.Image:
    """One face, a row per direction, strengths left to right, labelled."""
    top = 18
    sheet = Image.new("RGB", (label_width + len(strengths) * size, top + len(EDITS) * size), "white")
    draw = ImageDraw.Draw(sheet)
    for j, s in enumerate(strengths):
        draw.text((label_width + j * size + size // 2 - 10, 3), f"{s:+g}", fill="black")
    for i, edit in enumerate(EDITS):
        draw.text((6, top + i * size + size // 2 - 6), edit.name, fill="black")
        for j, s in enumerate(strengths):
            face = pipe.edit(text, seed, {edit.name: s}).images[pipe.scales[-1]]
            sheet.paste(face.resize((size, size), Image.NEAREST), (label_width + j * size, top + i * size))
    return sheet


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--weights", default=str(DEFAULT_WEIGHTS_DIR), help="weights folder with attributes.safetensors")
    parser.add_argument("--classifier", type=Path, default=DEFAULT_PATH, help="attribute classifier (.safetensors)")
    parser.add_argument("--seeds", type=int, default=32, help="seeds per description (default 32)")
    parser.add_argument("--descriptions", nargs="+", default=list(DESCRIPTIONS))
    parser.add_argument("--picture", type=Path, default=DEFAULT_WEIGHTS_DIR / "edit_examples.png")
    parser.add_argument("--picture-text", default=DESCRIPTIONS[0])
    parser.add_argument("--picture-seed", type=int, default=42)
    parser.add_argument("--device", help="cpu or cuda (default: cuda when present)")
    args = parser.parse_args(argv)

    start = time.perf_counter()
    pipe = TextToFace.from_pretrained(args.weights, device=args.device)
    if pipe.edit_problem:
        raise SystemExit(f"error: {pipe.edit_problem}")
    classifier, _ = load_classifier(args.classifier, device=pipe.device)
    results = measure(pipe, classifier, args.descriptions, range(args.seeds), STRENGTHS)
    faces = len(EDITS) * len(STRENGTHS) * len(args.descriptions) * args.seeds
    print(
        f"{args.seeds} seeds x {len(args.descriptions)} descriptions ({', '.join(map(repr, args.descriptions))}), "
        f"{faces} faces scored by {args.classifier.name}; P is the mean probability of what +1 means; "
        f"others: mean |change| from -1 to +1 of the other {len(classifier.config.attributes) - 1} attributes\n"
    )
    print(table(results, STRENGTHS))
    picture(pipe, args.picture_text, args.picture_seed, STRENGTHS).save(args.picture)
    print(f"\npicture ({args.picture_text!r}, seed {args.picture_seed}): {args.picture}; {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
