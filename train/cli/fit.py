"""``python -m train fit``: train from scratch, resume a run, or continue a weights folder's training state;
export at every checkpoint and push at the end when asked."""

from __future__ import annotations

import argparse
import functools
import os
import sys
from pathlib import Path

import torch.distributed as dist

from train.cli.data import add_data_arguments, pack_for_training
from train.fit.config import TrainConfig
from train.fit.loop import fit
from train.fit.state import read_state_config
from train.publish.export import export_run
from t2f.files import CONFIG_NAME
from train.publish.push import EXPORT_DIR, check_can_push, push_run


def add_fit_parser(subparsers) -> None:
    p = subparsers.add_parser("fit", help="train from scratch (or --resume) on CelebA-layout data or a prepared pack")
    add_data_arguments(p)
    p.add_argument("--out", required=True, type=Path, help="run folder (checkpoints, samples, logs)")
    p.add_argument("--config", type=Path, help="JSON training config (same shape as a run's config.json)")
    p.add_argument("--resume", action="store_true", help="continue from the newest checkpoint in --out")
    p.add_argument("--resume-from", type=Path, metavar="WEIGHTS", help="start a new run from a weights folder's training state (e.g. weights/)")
    p.add_argument("--max-minutes", type=float, help="stop cleanly (with a checkpoint) after this much wall time")
    p.add_argument("--total-kimg", type=float, help="stop after this many thousand images")
    p.add_argument("--batch-size", type=int, help="global batch size")
    p.add_argument("--seed", type=int)
    p.add_argument("--compile", action=argparse.BooleanOptionalAction, default=None, help="torch.compile the networks")
    p.add_argument("--precision", choices=("auto", "bf16", "fp32"))
    p.add_argument("--sample-every", type=float, dest="sample_every_minutes", help="minutes between sample grids")
    p.add_argument("--checkpoint-every", type=float, dest="checkpoint_every_minutes", help="minutes between checkpoints")
    p.add_argument("--device", help="e.g. cuda, cuda:1, cpu (default: cuda when present)")
    p.add_argument("--export", type=Path, help="export the EMA generator here at every checkpoint and at the end")
    p.add_argument("--with-training-state", action="store_true", help="also export the compact training state (to continue from it)")
    p.add_argument("--push-to-hub", metavar="USER/NAME", help="push the export to this Hub repo when training ends")
    p.add_argument("--d-rgb-skips", action="store_true", help="switch on D's per-scale rgb skips (with --resume-from, they grow from zero)")
    p.add_argument("--scale-consistency", type=float, dest="scale_consistency_weight", metavar="WEIGHT", help="weight of the scale-consistency term (0: off; --resume-from may change it)")
    p.set_defaults(func=run_fit)


OVERRIDES = (
    "max_minutes", "total_kimg", "batch_size", "seed", "compile", "precision", "sample_every_minutes", "checkpoint_every_minutes",
    "scale_consistency_weight",
)  # fmt: skip


def resolve_config(args: argparse.Namespace) -> TrainConfig:
    """The config file (or defaults, or the run's own config on --resume), then command-line overrides."""
    data = TrainConfig().to_dict()
    saved = args.out / CONFIG_NAME
    if args.config is not None:
        data = TrainConfig.from_file(args.config).to_dict()
    elif args.resume and saved.is_file():
        data = TrainConfig.from_file(saved).to_dict()
    elif args.resume_from is not None:
        data = read_state_config(args.resume_from)
    for name in OVERRIDES:
        value = getattr(args, name, None)
        if value is not None:
            data[name] = value
    if getattr(args, "d_rgb_skips", False):
        data["model"]["d_rgb_skips"] = True
    return TrainConfig.from_dict(data)


def run_fit(args: argparse.Namespace) -> int:
    main_process = int(os.environ.get("RANK", "0")) == 0
    if args.push_to_hub and main_process:
        check_can_push(args.push_to_hub)  # a missing login fails now, not after the run
    cfg = resolve_config(args)
    cfg, pack_path = pack_for_training(cfg, args)
    command = " ".join(["python -m train"] + [a if " " not in a else repr(a) for a in sys.argv[1:]])
    export_to = args.export or (args.out / EXPORT_DIR if args.push_to_hub else None)
    if args.with_training_state and export_to is None:
        raise ValueError("--with-training-state needs --export (the folder to write it to)")
    # Every checkpoint is exported too, so a run cut short still leaves usable weights.
    on_checkpoint = functools.partial(export_run, out=export_to, training_state=args.with_training_state) if export_to else None
    result = fit(
        cfg, pack_path, args.out, resume=args.resume, device=args.device, command=command, on_checkpoint=on_checkpoint,
        resume_from=args.resume_from,
    )  # fmt: skip
    if dist.is_initialized():
        dist.destroy_process_group()
    print(f"{result.run}: step {result.step}, {result.nimg} images, stopped by {result.stopped_by}")
    if export_to is not None and main_process:
        print(f"exported to {export_to}")
        if args.push_to_hub:
            print(push_run(export_to, args.push_to_hub))
    return 0
