"""The compact training state committed beside the shipped generator, so a fresh clone continues training.

``weights/training_state.safetensors`` holds what a run needs besides the EMA generator (which is
``weights/model.safetensors``, exported in float32 for this reason): G and D in float32, Adam's
second moments in bfloat16 (their step sizes, so 3 significant digits are plenty), and in the
metadata the training config, the step and image counters and the rows of the
earlier sessions. Adam's first moments are only kept when beta1 > 0: with the paper's beta1 = 0
they are the last gradient, which the next step overwrites.

Resuming from it continues the run closely but not bitwise: the second moments were rounded.
It is never loaded by the app and never sent by ``train push``. A state holding NaN or inf is refused
when written and when read: resumed, its layers would silently stop moving (Adam divides by inf).
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file
from torch import Tensor

from t2f.files import STATE_NAME, atomic_path, read_state_dict
from t2f.model import Discriminator, Generator
from train.fit.config import TrainConfig
from train.fit.finite import check_finite

STATE_FORMAT = "t2f-training-state-1"
MAX_BYTES = 30 * 2**20


def save_training_state(state: dict, folder: str | Path) -> Path:
    """Write a checkpoint's ``state`` (see ``train.fit.loop``) compactly as ``folder/training_state.safetensors``.
    Raises NonFiniteError (a ValueError), writing nothing, when a tensor holds NaN or inf (also after the
    rounding to bfloat16)."""
    cfg = TrainConfig.from_dict(state["config"])
    models = state["models"]
    tensors: dict[str, Tensor] = {}
    for net in ("G", "D"):
        tensors.update({f"{net}.{k}": v.float().contiguous() for k, v in models[net].items()})
    for net, opt in (("G", "opt_g"), ("D", "opt_d")):
        names = list(models[net])  # Adam's state is indexed by parameter order, the state_dict's order
        for i, moments in models[opt]["state"].items():
            tensors[f"{opt}.{names[int(i)]}.exp_avg_sq"] = moments["exp_avg_sq"].to(torch.bfloat16).contiguous()
            if cfg.beta1 > 0:
                tensors[f"{opt}.{names[int(i)]}.exp_avg"] = moments["exp_avg"].float().contiguous()
    adam_steps = {opt: float(next(iter(models[opt]["state"].values()))["step"]) for opt in ("opt_g", "opt_d")}
    meta = {
        "format": STATE_FORMAT,
        "config": json.dumps(state["config"]),
        "counters": json.dumps({k: state[k] for k in ("step", "nimg", "train_seconds")} | {"adam_steps": adam_steps}),
        "sessions": json.dumps(state.get("sessions", [])),
    }
    path = Path(folder) / STATE_NAME
    check_finite(tensors, f"refusing to write {path}: the state")
    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp), metadata=meta)
        size = tmp.stat().st_size
        if size > MAX_BYTES:  # raised inside: the old state stays as it was
            raise ValueError(f"the training state would be {size / 2**20:.1f} MiB, over the {MAX_BYTES / 2**20:.0f} MiB kept in git")
    return path


def load_training_state(folder: str | Path, device: torch.device | str = "cpu") -> dict:
    """Read ``folder/training_state.safetensors`` and ``folder/model.safetensors`` (the EMA generator)
    back into the state form a checkpoint has. Errors name the file and what is wrong; NonFiniteError (a
    ValueError) when it holds NaN or inf."""
    folder = Path(folder)
    path = folder / STATE_NAME
    meta = _metadata(path)
    cfg = _config(meta, path)
    tensors = read_state_dict(path)
    check_finite(tensors, f"cannot continue from {path}: it")
    tensors = {k: v.to(device) for k, v in tensors.items()}
    counters = json.loads(meta["counters"])
    ema = Generator.from_folder(folder).state_dict()
    models: dict = {"G_ema": {k: v.float().to(device) for k, v in ema.items()}}
    with torch.device("meta"):  # the networks' own order of names: Adam's state is indexed by it
        order = {"G": list(Generator(cfg.model).state_dict()), "D": list(Discriminator(cfg.model).state_dict())}
    for net in ("G", "D"):
        missing = [k for k in order[net] if f"{net}.{k}" not in tensors]
        if missing:
            raise ValueError(f"{path} does not match its config: {net} lacks {missing[:5]}")
        models[net] = {k: tensors[f"{net}.{k}"] for k in order[net]}
    for net, opt in (("G", "opt_g"), ("D", "opt_d")):
        step = torch.tensor(counters["adam_steps"][opt])
        adam = {}
        for i, name in enumerate(models[net]):
            v = tensors.get(f"{opt}.{name}.exp_avg_sq")
            if v is None:
                raise ValueError(f"{path} lacks Adam's state for {net}.{name}")
            m = tensors.get(f"{opt}.{name}.exp_avg", torch.zeros_like(v, dtype=torch.float32))
            adam[i] = {"step": step.clone(), "exp_avg": m.float(), "exp_avg_sq": v.float()}
        models[opt] = {"state": adam}  # the hyper-parameters come from the config, as the optimizer is built
    return {"models": models, "config": cfg.to_dict(), **{k: counters[k] for k in ("step", "nimg", "train_seconds")},
            "sessions": json.loads(meta.get("sessions", "[]")), "losses": {}}  # fmt: skip


def update_state_sessions(folder: str | Path, sessions: list[dict]) -> Path:
    """Replace the session rows in ``folder/training_state.safetensors``, tensors unchanged.

    ``train evaluate`` adds a session's evaluation to its row after the state was exported; the next
    run's record starts from the state's rows, so they must carry it too.
    """
    path = Path(folder) / STATE_NAME
    meta = _metadata(path)
    tensors = read_state_dict(path)
    check_finite(tensors, f"refusing to rewrite {path}: it")
    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp), metadata={**meta, "sessions": json.dumps(sessions)})
    return path


def read_state_config(folder: str | Path) -> dict:
    """The training config stored in ``folder/training_state.safetensors`` (validated), without its tensors."""
    path = Path(folder) / STATE_NAME
    return _config(_metadata(path), path).to_dict()


def _config(meta: dict[str, str], path: Path) -> TrainConfig:
    try:
        return TrainConfig.from_dict(json.loads(meta["config"]))
    except (TypeError, ValueError) as e:
        raise ValueError(f"{path}: its config is not one this version can train: {e}") from None


def _metadata(path: Path) -> dict[str, str]:
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist: export a run with --with-training-state to make it")
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
    except (SafetensorError, OSError) as e:
        raise ValueError(f"{path} is not a readable training state: {e}") from None
    if meta.get("format") != STATE_FORMAT:
        raise ValueError(f"{path} is not a {STATE_FORMAT} file (format {meta.get('format')!r})")
    return meta
