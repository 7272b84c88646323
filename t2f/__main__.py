"""Command line: ``python -m t2f "a man with a gray beard" --seed 7 --out face.png``.

Writes the face at full resolution, or with ``--scales`` every scale side by side in one image;
``--n K`` writes K faces with the seeds seed, seed + 1, ..., the seed inserted before the file
extension (face-7.png, face-8.png, ...). ``--edit smiling=0.8 age=-0.5`` moves attributes of the same
face (``TextToFace.edit``; names and range in its error message). The paths written are printed, one a line. An existing
file is overwritten. Errors a user can fix print one ``error: ...`` line and exit with status 2.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from PIL import Image

from t2f.attributes import EDIT_NAMES, NEGATION_STRENGTH, check_strengths
from t2f.files import DEFAULT_WEIGHTS_DIR
from t2f.pipeline import (
    CODE_SAMPLING, MAX_BATCH, TextToFace, check_code_sampling, check_device, check_negation_strength, check_seed,
    check_truncation, scales_strip,
)  # fmt: skip
from t2f.text import check_text

WEIGHTS_ENV = "T2F_WEIGHTS"


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        # argparse's own errors (a missing or malformed argument) in the same one-line form as ours.
        self.exit(2, f"error: {message} (see python -m t2f --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="python -m t2f",
        description="Draw a face from a description with T2F-MSGGAN.",
        epilog='Example: python -m t2f "a smiling young woman with wavy blond hair" --seed 42 --out face.png',
    )
    add = parser.add_argument
    add("description", nargs="+", help="what the face looks like (quotes optional)")
    add("--seed", type=int, default=0, metavar="N", help="noise seed, 0 to 2**63 - 1 (default: 0)")
    add("--n", type=int, default=1, metavar="K", help=f"faces to draw, seeds seed .. seed + K - 1 (1 to {MAX_BATCH})")
    add("--out", type=Path, default=Path("face.png"), metavar="FILE", help="image to write (overwritten; default: face.png)")
    add("--scales", action="store_true", help="write every scale (4x4 to full size) side by side")
    add("--truncation", type=float, default=1.0, metavar="T", help="noise scale in [0, 1]: less variety, more quality (default: 1)")
    add(
        "--weights",
        default=os.environ.get(WEIGHTS_ENV) or None,
        metavar="FOLDER_OR_REPO",
        help=f"weights folder or Hugging Face repo id (default: ${WEIGHTS_ENV}, else the bundled weights/)",
    )
    add(
        "--edit",
        nargs="+",
        metavar="NAME=STRENGTH",
        help=f"edit the face: strengths in [-1, 1] for {', '.join(EDIT_NAMES)} (e.g. --edit smiling=0.8 age=-0.5)",
    )
    add(
        "--negation-strength",
        type=float,
        default=NEGATION_STRENGTH,
        metavar="S",
        help=f"steer away from what the description negates, e.g. 'no beard': 0 (off) to 1 (default {NEGATION_STRENGTH:g})",
    )
    add(
        "--code-sampling",
        type=float,
        default=CODE_SAMPLING,
        metavar="S",
        help=f"share of the text code's spread each face is sampled with: 0 (the mean code) to 1 (default {CODE_SAMPLING:g})",
    )
    add(
        "--keep-off-topic",
        action="store_true",
        help="draw from every sentence, also those that describe no face (by default they are left out, with a note)",
    )
    add("--device", help="cpu or cuda (default: cuda when present)")
    return parser


def output_paths(out: Path, seeds: list[int]) -> list[Path]:
    """``out`` itself for one face; for several, the seed before the extension: face.png -> face-7.png."""
    if len(seeds) == 1:
        return [out]
    return [out.with_name(f"{out.stem}-{seed}{out.suffix}") for seed in seeds]


def check_output(out: Path) -> None:
    """Refuse, before any work, a path that cannot be written: unknown image type, missing folder."""
    if out.is_dir():
        raise ValueError(f"{out} is a folder: give a file name, e.g. {out / 'face.png'}")
    if Image.registered_extensions().get(out.suffix.lower()) not in Image.SAVE:
        raise ValueError(f"cannot tell an image type from the file name {out}: end it with .png (or .jpg, .webp)")
    folder = out.parent
    if not folder.is_dir():
        raise FileNotFoundError(f"the folder {folder} does not exist: create it first, or write elsewhere")
    if not os.access(folder, os.W_OK):
        raise PermissionError(f"cannot write into the folder {folder}")


def parse_edits(items: list[str]) -> dict[str, float]:
    """``["smiling=0.8", "age=-0.5"]`` -> checked strengths, or a ValueError saying the form and the limits."""
    strengths: dict[str, object] = {}
    for item in items:
        name, sep, value = item.partition("=")
        try:
            strengths[name.strip()] = float(value)
        except ValueError:
            sep = ""
        if not sep:
            raise ValueError(f"--edit takes NAME=STRENGTH pairs such as smiling=0.8, got {item!r}")
    return check_strengths(strengths)


def run(args: argparse.Namespace) -> None:
    """Validate everything, load the model, then draw the faces and write them, printing each path."""
    text = check_text(" ".join(args.description))
    if not 1 <= args.n <= MAX_BATCH:
        raise ValueError(f"--n must be from 1 to {MAX_BATCH}, got {args.n}")
    seeds = [check_seed(args.seed + i) for i in range(args.n)]
    truncation = check_truncation(args.truncation)
    strengths = parse_edits(args.edit) if args.edit else None
    negation_strength = check_negation_strength(args.negation_strength)
    code_sampling = check_code_sampling(args.code_sampling)
    device = check_device(args.device)
    paths = output_paths(args.out, seeds)
    for path in paths:
        check_output(path)
    if args.weights is None and not DEFAULT_WEIGHTS_DIR.is_dir():  # an installed copy has no weights/ beside it
        raise FileNotFoundError(
            f"no weights given, and there is no bundled weights folder ({DEFAULT_WEIGHTS_DIR}): "
            f"pass --weights FOLDER_OR_REPO (a weights folder or a Hugging Face repo id), or set {WEIGHTS_ENV}"
        )

    pipe = TextToFace.from_pretrained(
        args.weights, device=device, negation_strength=negation_strength, leave_out_off_topic=not args.keep_off_topic,
        code_sampling=code_sampling,
    )  # fmt: skip
    left_out = pipe.face_text(text).left_out
    if left_out:
        print(
            f"note: left out {len(left_out)} sentence(s) that describe no face (--keep-off-topic keeps them): "
            + " ".join(repr(s) for s in left_out),
            file=sys.stderr,
        )
    if strengths is None:
        faces = pipe([text] * len(seeds), seeds, truncation=truncation)
    else:
        faces = [pipe.edit(text, seed, strengths, truncation=truncation) for seed in seeds]
    for face, path in zip(faces, paths):
        image = scales_strip(face.images) if args.scales else face.images[max(face.images)]
        image.save(path)
        print(path, flush=True)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        run(args)
    except (ValueError, OSError) as e:  # OSError: missing files, permissions, the network, a full disk
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
