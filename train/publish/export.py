"""A run's EMA generator -> a weights folder TextToFace.from_pretrained reads.

The folder holds model.safetensors (float16), config.json, README.md (the model card), the progress
grid and the training record (and evaluation.json when the run has one).

An export is written to a temporary folder beside the target, checked there (every tensor finite, the
generator and the training state load back) and only then moved in: a diverged or broken run leaves the
weights folder as it was. README's continue command exports into ``weights/`` itself.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import torch

from t2f.files import CARD_NAME, EVALUATION_NAME, GRID_NAME, RECORD_NAME, read_json_object, write_json
from t2f.model import Generator
from train.fit import checkpoint, snapshots
from train.fit.config import TrainConfig
from train.fit.finite import check_state
from train.fit.state import load_training_state, save_training_state
from train.publish.model_card import linked_images, render_model_card


def export_run(run: str | Path, out: str | Path, *, dtype: torch.dtype | None = None, training_state: bool = False) -> Path:
    """Write the newest checkpoint's EMA generator of ``run`` into ``out``; returns ``out``.

    ``dtype`` defaults to float16, or float32 with ``training_state``: the training state's
    continuation takes the EMA generator from model.safetensors, which must then be exact.
    With ``training_state``, ``out/training_state.safetensors`` is written too (see ``train.fit.state``).

    The files go to a temporary folder beside ``out`` first and replace those of ``out`` only once they
    load back; files of ``out`` the export does not write (an evaluation.json or learning curve made
    there, the attribute model) stay, and the model card links the pictures found in either. Raises
    FileNotFoundError for a run without a checkpoint or record, NonFiniteError (a ValueError) for a
    checkpoint or an export holding NaN or inf, and ValueError for one that does not load back; ``out``
    is then untouched.
    """
    run, out = Path(run), Path(out)
    latest = checkpoint.latest_checkpoint(run)
    if latest is None:
        raise FileNotFoundError(f"{run} holds no checkpoint to export (train it first with `python -m train fit`)")
    state = checkpoint.load_checkpoint(latest)
    check_state(state["models"], f"not exporting into {out}: {latest}")  # a checkpoint written before fit checked
    record_file = run / RECORD_NAME
    if not record_file.is_file():
        raise FileNotFoundError(f"{record_file} is missing: fit writes it with every checkpoint")
    record = read_json_object(record_file)
    cfg = TrainConfig.from_dict(state["config"])
    generator = Generator(cfg.model)
    generator.load_state_dict(state["models"]["G_ema"])

    out.parent.mkdir(parents=True, exist_ok=True)
    staging = out.parent / f".{out.name}.export-{os.getpid()}"  # beside out: the moves below are renames
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    try:
        generator.to(dtype or (torch.float32 if training_state else torch.float16)).save_pretrained(staging)
        write_json(staging / RECORD_NAME, record)
        if training_state:
            # The record's sessions include the run being exported, which the state's next run follows.
            save_training_state({**state, "sessions": record.get("sessions", [])}, staging)
        grid = run / snapshots.FOLDER / GRID_NAME
        if grid.is_file():
            shutil.copyfile(grid, staging / GRID_NAME)
        evaluation = None
        if (run / EVALUATION_NAME).is_file():
            shutil.copyfile(run / EVALUATION_NAME, staging / EVALUATION_NAME)
            evaluation = read_json_object(staging / EVALUATION_NAME)
        grid_file, curve_file = (new or old for new, old in zip(linked_images(staging), linked_images(out)))
        card = render_model_card(record, evaluation, grid_file, curve_file=curve_file)
        (staging / CARD_NAME).write_text(card, encoding="utf-8")  # replaces the mixin's default card
        try:  # what was written must load: finite (float16 overflows to inf), matching its config
            Generator.from_folder(staging)
            if training_state:
                load_training_state(staging)
        except ValueError as e:
            raise ValueError(f"not exporting into {out}, left as it was: {e}") from None
        out.mkdir(parents=True, exist_ok=True)
        for file in sorted(staging.iterdir()):
            with open(file, "rb") as f:  # on disk before the rename, as t2f.files.atomic_path does
                os.fsync(f.fileno())
            os.replace(file, out / file.name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return out
