"""The weights folder's file names, and the readers and writers every part of the project shares.

One place for: what each file of a weights folder is called, how a JSON object and a safetensors file
are read (errors name the file and what is wrong), how a file is replaced atomically, and which device
runs by default. Nothing here knows the network: :mod:`t2f.model` builds it from what these read.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import torch

DEFAULT_WEIGHTS_DIR = Path(__file__).resolve().parent.parent / "weights"

# --- a weights folder ---------------------------------------------------------------------------------
CONFIG_NAME = "config.json"  # the generator's ModelConfig
WEIGHTS_NAME = "model.safetensors"  # the generator's state dict (EMA weights), any float dtype
ATTRIBUTES_NAME = "attributes.safetensors"  # attribute read-out and edit directions (optional)
ATTRIBUTES_CONFIG_NAME = "attributes.json"
CARD_NAME = "README.md"  # the model card
RECORD_NAME = "training_record.json"  # what ran where, for how long; one row per session
EVALUATION_NAME = "evaluation.json"  # the evaluation report (and evaluation.md beside it)
STATE_NAME = "training_state.safetensors"  # the compact training state a next session continues from
GRID_NAME = "progress.png"  # progress grid: fixed prompts and seeds over training
SAMPLES_NAME = "samples.png"  # the sample sheet: every scale of the sample descriptions
CURVE_NAME = "learning_curve.png"
EDIT_EXAMPLES_NAME = "edit_examples.png"
CLASSIFIER_NAME = "attribute-classifier.safetensors"  # the evaluation's attribute classifier (and its .json)

REQUIRED_FILES = (CONFIG_NAME, WEIGHTS_NAME)
# Downloaded with the weights when the repo has them: the read-out and edits, and how often faces show what is asked.
OPTIONAL_FILES = (ATTRIBUTES_NAME, ATTRIBUTES_CONFIG_NAME, EVALUATION_NAME)


def default_device() -> torch.device:
    """CUDA when present, else the CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def bf16_native(device: torch.device) -> bool:
    """Whether bf16 is native on ``device``: CUDA, or a CPU with AVX-512 BF16 or AMX. Elsewhere oneDNN emulates
    bf16, 10-400x slower than fp32 (measured on an AVX2 EPYC)."""
    return device.type == "cuda" or (device.type == "cpu" and torch.ops.mkldnn._is_mkldnn_bf16_supported())


def read_json_object(file: str | Path) -> dict:
    """Read a JSON file that must hold an object, with errors that name the file.

    Raises FileNotFoundError when it is missing and ValueError when it is not a JSON object.
    """
    file = Path(file)
    if not file.is_file():
        raise FileNotFoundError(f"{file} is missing")
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ValueError(f"{file} is not valid JSON: {e}") from None
    if not isinstance(data, dict):
        raise ValueError(f"{file} must hold a JSON object, got {type(data).__name__}")
    return data


def read_state_dict(file: str | Path) -> dict[str, torch.Tensor]:
    """Read a safetensors file into CPU tensors, with an error naming the file when it is unreadable."""
    # Imported here, not at the top: ``import t2f`` stays light (no safetensors.torch) until weights load.
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    file = Path(file)
    if not file.is_file():
        raise FileNotFoundError(f"{file} is missing")
    try:
        return load_file(str(file), device="cpu")
    except (SafetensorError, OSError, ValueError, RuntimeError) as e:
        raise ValueError(f"{file} is not a readable safetensors file (corrupt or truncated?): {e}") from None


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; when the block ends, flush it to disk and rename it onto
    ``path``, so readers see the whole old file or the whole new one, never a part (also after a crash:
    the rename must not land before the bytes do, hence the fsync). On an error the temporary file is
    removed and ``path`` is left as it was."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        yield tmp
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_json(path: str | Path, data: object) -> Path:
    """Write ``data`` as indented UTF-8 JSON, atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(data, indent=2), encoding="utf-8")
    return Path(path)
