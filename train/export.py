"""``python -m train export``: a run's EMA generator -> a weights folder TextToFace.from_pretrained reads.

The folder holds model.safetensors (float16), config.json, README.md (the model card), the progress
grid and the training record (and evaluation.json when the run has one).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import torch

from t2f.hub import load_generator
from t2f.model import Generator
from train import checkpoint
from train.config import TrainConfig

GRID_NAME = "progress.png"
RECORD_NAME = "training_record.json"
EVALUATION_NAME = "evaluation.json"


def export_run(run: str | Path, out: str | Path, *, dtype: torch.dtype | None = None, training_state: bool = False) -> Path:
    """Write the newest checkpoint's EMA generator of ``run`` into ``out``; returns ``out``.

    ``dtype`` defaults to float16, or float32 with ``training_state``: the training state's
    continuation takes the EMA generator from model.safetensors, which must then be exact.
    With ``training_state``, ``out/training_state.safetensors`` is written too (see ``train.state``).
    """
    from train.model_card import write_model_card

    run, out = Path(run), Path(out)
    latest = checkpoint.latest_checkpoint(run)
    if latest is None:
        raise FileNotFoundError(f"{run} holds no checkpoint to export (train it first with `python -m train fit`)")
    state = checkpoint.load_checkpoint(latest)
    cfg = TrainConfig.from_dict(state["config"])
    generator = Generator(cfg.model)
    generator.load_state_dict(state["models"]["G_ema"])
    out.mkdir(parents=True, exist_ok=True)
    (out / "README.md").unlink(missing_ok=True)  # the card below replaces the mixin's default one
    generator.to(dtype or (torch.float32 if training_state else torch.float16)).save_pretrained(out)

    record_file = run / RECORD_NAME
    if not record_file.is_file():
        raise FileNotFoundError(f"{record_file} is missing: fit writes it with every checkpoint")
    record = json.loads(record_file.read_text())
    (out / RECORD_NAME).write_text(json.dumps(record, indent=2))
    if training_state:
        from train.state import save_training_state

        # The record's sessions include the run being exported, which the state's next run follows.
        save_training_state({**state, "sessions": record.get("sessions", [])}, out)
    grid = run / "samples" / GRID_NAME
    if grid.is_file():
        shutil.copyfile(grid, out / GRID_NAME)
    evaluation = None
    if (run / EVALUATION_NAME).is_file():
        shutil.copyfile(run / EVALUATION_NAME, out / EVALUATION_NAME)
        evaluation = json.loads((out / EVALUATION_NAME).read_text())
    write_model_card(out, record, evaluation)
    load_generator(out)  # what was written must load
    return out


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("export", help="write a run's EMA generator as a weights folder (safetensors + config + card)")
    p.add_argument("--run", required=True, type=Path, help="run folder made by fit")
    p.add_argument("--out", required=True, type=Path, help="weights folder to write (e.g. weights/)")
    p.add_argument("--with-training-state", action="store_true", help="also write the compact training state (to continue from it)")
    p.set_defaults(func=lambda args: print(export_run(args.run, args.out, training_state=args.with_training_state)) or 0)
