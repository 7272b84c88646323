"""A run's EMA generator -> a weights folder TextToFace.from_pretrained reads.

The folder holds model.safetensors (float16), config.json, README.md (the model card), the progress
grid and the training record (and evaluation.json when the run has one).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import torch

from t2f.files import CARD_NAME, EVALUATION_NAME, GRID_NAME, RECORD_NAME, read_json_object, write_json
from t2f.model import Generator
from train.fit import checkpoint, snapshots
from train.fit.config import TrainConfig
from train.fit.state import save_training_state
from train.publish.model_card import write_model_card


def export_run(run: str | Path, out: str | Path, *, dtype: torch.dtype | None = None, training_state: bool = False) -> Path:
    """Write the newest checkpoint's EMA generator of ``run`` into ``out``; returns ``out``.

    ``dtype`` defaults to float16, or float32 with ``training_state``: the training state's
    continuation takes the EMA generator from model.safetensors, which must then be exact.
    With ``training_state``, ``out/training_state.safetensors`` is written too (see ``train.fit.state``).
    """
    run, out = Path(run), Path(out)
    latest = checkpoint.latest_checkpoint(run)
    if latest is None:
        raise FileNotFoundError(f"{run} holds no checkpoint to export (train it first with `python -m train fit`)")
    state = checkpoint.load_checkpoint(latest)
    cfg = TrainConfig.from_dict(state["config"])
    generator = Generator(cfg.model)
    generator.load_state_dict(state["models"]["G_ema"])
    out.mkdir(parents=True, exist_ok=True)
    (out / CARD_NAME).unlink(missing_ok=True)  # the card below replaces the mixin's default one
    generator.to(dtype or (torch.float32 if training_state else torch.float16)).save_pretrained(out)

    record_file = run / RECORD_NAME
    if not record_file.is_file():
        raise FileNotFoundError(f"{record_file} is missing: fit writes it with every checkpoint")
    record = read_json_object(record_file)
    write_json(out / RECORD_NAME, record)
    if training_state:
        # The record's sessions include the run being exported, which the state's next run follows.
        save_training_state({**state, "sessions": record.get("sessions", [])}, out)
    grid = run / snapshots.FOLDER / GRID_NAME
    if grid.is_file():
        shutil.copyfile(grid, out / GRID_NAME)
    evaluation = None
    if (run / EVALUATION_NAME).is_file():
        shutil.copyfile(run / EVALUATION_NAME, out / EVALUATION_NAME)
        evaluation = read_json_object(out / EVALUATION_NAME)
    write_model_card(out, record, evaluation)
    Generator.from_folder(out)  # what was written must load
    return out
