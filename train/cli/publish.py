"""``python -m train export|push|record-evaluation|curve|attributes|sheet``: publishing a model."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from t2f import TextToFace
from t2f.attributes import EDITS, save_attribute_model
from t2f.files import CURVE_NAME, RECORD_NAME, read_json_object
from t2f.model import Generator
from t2f.text import get_text_encoder
from train.data.pack import load_pack
from train.fit.config import SAMPLE_PROMPTS
from train.publish.attributes import (
    DEFAULT_FACE_SENTENCES, DEFAULT_OFF_TOPIC, DEFAULT_UNGENDERED, DEFAULT_VECTORS, build_attribute_model,
)
from train.publish.curve import refresh_curve
from train.publish.evaluation import record_evaluation
from train.publish.export import export_run
from train.publish.push import push_run
from train.publish.sheets import description_sheet


def add_export_parser(subparsers) -> None:
    p = subparsers.add_parser("export", help="write a run's EMA generator as a weights folder (safetensors + config + card)")
    p.add_argument("--run", required=True, type=Path, help="run folder made by fit")
    p.add_argument("--out", required=True, type=Path, help="weights folder to write (e.g. weights/)")
    p.add_argument("--with-training-state", action="store_true", help="also write the compact training state (to continue from it)")
    p.set_defaults(func=lambda args: print(export_run(args.run, args.out, training_state=args.with_training_state)) or 0)


def add_push_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "push",
        help="upload a run's export (weights, config, model card, sample grid, record) to a Hugging Face Hub repo",
        description="Token: HF_TOKEN or the stored login (hf auth login). Creates the repo when missing.",
    )
    p.add_argument("--run", required=True, type=Path, help="run folder made by fit (or an exported weights folder)")
    p.add_argument("--repo", required=True, metavar="USER/NAME", help="Hub model repo to push to")
    p.add_argument("--private", action="store_true", help="create the repo private (no effect on an existing repo)")
    p.add_argument("--revision", help="branch to commit to (default main; created when missing)")
    p.set_defaults(func=run_push)


def run_push(args: argparse.Namespace) -> int:
    url = push_run(args.run, args.repo, private=args.private, revision=args.revision)
    print(f"pushed to {url}")
    return 0


def add_record_evaluation_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "record-evaluation",
        help="carry a weights folder's evaluation.json into its training record, state, learning curve and model card",
    )
    p.add_argument("--weights", type=Path, default=Path("weights"), help="weights folder holding evaluation.json (default: weights)")
    p.add_argument("--readme", type=Path, help="also rewrite this README's evaluation block (and curve block, when it has one)")
    p.set_defaults(func=run_record_evaluation)


def run_record_evaluation(args: argparse.Namespace) -> int:
    for path in record_evaluation(args.weights, args.readme):
        print(f"updated {path}")
    return 0


def run_curve(args: argparse.Namespace) -> int:
    record_file = args.weights / RECORD_NAME
    if not record_file.is_file():
        raise FileNotFoundError(f"{record_file} does not exist: export a run into {args.weights} first")
    sessions = read_json_object(record_file).get("sessions", [])
    print(refresh_curve(args.weights, sessions, args.readme))
    print(f"wrote {args.weights / CURVE_NAME}" + (f" and the curve block of {args.readme}" if args.readme else ""))
    return 0


def add_curve_parser(subparsers) -> None:
    p = subparsers.add_parser("curve", help="learning curve of session-by-session training (plot, table, stopping rule)")
    p.add_argument("--weights", type=Path, default=Path("weights"), help="weights folder with training_record.json (default: weights)")
    p.add_argument("--readme", type=Path, help="also write the table into this README's curve block")
    p.set_defaults(func=run_curve)


def run_attributes(args: argparse.Namespace) -> int:
    start = time.perf_counter()
    generator = Generator.from_folder(args.weights)
    pack = load_pack(args.pack)
    config = generator.config
    if pack.meta.get("text_encoder") != config.text_encoder:
        raise ValueError(
            f"{args.pack} holds {pack.meta.get('text_encoder')} embeddings; the weights read {config.text_encoder}"
        )
    if args.captions < 1:
        raise ValueError(f"--captions must be at least 1, got {args.captions}")
    encoder = get_text_encoder(config.text_encoder, config.text_encoder_options)
    model = build_attribute_model(
        generator, encoder, pack.embeddings[:, : args.captions], pack.attributes, pack.claims[:, : args.captions],
        vectors=args.vectors, off_topic=args.off_topic, open_gender=args.open_gender, sentences=args.sentences, seed=args.seed,
        source=f"{Path(args.pack).name} ({len(pack)} images x {min(args.captions, pack.embeddings.shape[1])} captions)",
    )  # fmt: skip
    file = save_attribute_model(model, args.weights)
    probe = model.info["probe"]
    held, free = probe["held_out_mean"], probe["free_descriptions"]
    print(
        f"probe: held-out captions ({probe['held_out_captions']}) accuracy {held['accuracy']:.3f}, balanced "
        f"{held['balanced_accuracy']:.3f} (majority baseline {held['majority_baseline']:.3f}); free descriptions "
        f"{free['accuracy']:.3f} of {free['checked']} readings"
    )
    negation, off, gate = probe["negation_held_out_mean"], probe["off_topic"], probe["face_gate_held_out"]
    print(
        f"negation probe: held-out balanced accuracy {negation['balanced_accuracy']:.3f}; face gate: held-out "
        f"captions open {gate['captions_open']:.3f}, their sentences alone open {gate['sentences_open']:.3f}, off-topic "
        f"texts closed {gate['off_topic_closed']:.3f}; captions "
        f"without man or woman read so {probe['gender_open_held_out']:.3f}; off-topic "
        f"texts read as nothing: held-out {off['held_out_nothing']:.3f} of {off['held_out_texts']}, hand-written "
        f"{off['free_nothing']:.3f} of {off['free_texts']}"
    )
    for miss in free["misses"] + off["free_misses"]:
        print(f"  miss: {miss}")
    seconds = time.perf_counter() - start
    print(f"wrote {file} and {file.with_suffix('.json').name} ({len(EDITS)} directions) in {seconds:.0f} s")
    return 0


def add_attributes_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "attributes", help="build the attribute read-out and edit directions of a weights folder (after every training)"
    )
    add = p.add_argument
    add("--weights", required=True, type=Path, help="weights folder (config.json + model.safetensors); written into")
    add("--pack", required=True, type=Path, help="the training pack (python -m train prepare) the weights learnt from")
    add("--vectors", type=int, default=DEFAULT_VECTORS, help=f"attribute vectors per direction ({DEFAULT_VECTORS})")
    add("--off-topic", type=int, default=DEFAULT_OFF_TOPIC, help=f"texts without a face the probes learn from ({DEFAULT_OFF_TOPIC})")
    add("--open-gender", type=int, default=DEFAULT_UNGENDERED, help=f"captions that leave gender open ({DEFAULT_UNGENDERED})")
    add("--sentences", type=int, default=DEFAULT_FACE_SENTENCES, help=f"caption sentences alone, for the face gate ({DEFAULT_FACE_SENTENCES})")
    add("--captions", type=int, default=4, help="captions per image the probes learn from, the pack's first (default 4)")
    add("--seed", type=int, default=0, help="which vectors, caption phrasings and off-topic texts (default 0)")
    p.set_defaults(func=run_attributes)


def run_sheet(args: argparse.Namespace) -> int:
    pipe = TextToFace.from_pretrained(args.weights)
    description_sheet(pipe, list(args.prompts or SAMPLE_PROMPTS), args.seed).save(args.out)
    print(args.out)
    return 0


def add_sheet_parser(subparsers) -> None:
    p = subparsers.add_parser("sheet", help="a picture of a model's faces at every scale for the sample descriptions")
    p.add_argument("--weights", default="weights", help="weights folder or Hub repo id (default: weights)")
    p.add_argument("--out", required=True, type=Path, help="PNG to write (e.g. weights/samples.png)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--prompts", nargs="+", help="descriptions (default: the training run's six sample descriptions)")
    p.set_defaults(func=run_sheet)
