"""Checkpoints: one file per save, written atomically, the last N kept, loadable with weights_only=True."""

from __future__ import annotations

import re
from pathlib import Path

import torch

from t2f.files import atomic_path

PATTERN = re.compile(r"^ckpt-(\d{9})\.pt$")


def checkpoint_dir(run: Path) -> Path:
    return Path(run) / "checkpoints"


def list_checkpoints(run: Path) -> list[Path]:
    """Checkpoints of a run, oldest first."""
    folder = checkpoint_dir(run)
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if PATTERN.match(p.name))


def save_checkpoint(run: Path, state: dict, step: int, keep: int) -> Path:
    """Write ``state`` as checkpoints/ckpt-<step>.pt (temp file + rename), then drop all but the last ``keep``."""
    folder = checkpoint_dir(run)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"ckpt-{step:09d}.pt"
    with atomic_path(path) as tmp:
        torch.save(state, tmp)
    for old in list_checkpoints(run)[:-keep]:
        old.unlink()
    return path


def load_checkpoint(path: Path, map_location: str | torch.device = "cpu") -> dict:
    """Read a checkpoint (tensors and plain Python values only)."""
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except (RuntimeError, EOFError, OSError) as e:  # RuntimeError: zip or unpickling failures
        raise ValueError(f"{path} is not a readable checkpoint: {e}") from None


def latest_checkpoint(run: Path) -> Path | None:
    """The newest checkpoint of a run, or None."""
    found = list_checkpoints(run)
    return found[-1] if found else None
