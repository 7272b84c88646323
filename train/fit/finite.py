"""Non-finite values (NaN, inf): which tensors hold them, and the error that stops a run or refuses a file.

A diverged run must not overwrite good weights: the loop checks its losses where it reads them anyway
(log points) and its weights before every checkpoint and snapshot; an export and the training state
check what they write and read.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import torch
from torch import Tensor

SHOWN = 5  # names listed in a message; the rest are counted


class NonFiniteError(ValueError):
    """NaN or inf in losses, weights or a file. A ValueError: the command line prints it as one line, status 2."""


def nonfinite_tensors(tensors: Mapping[str, Tensor]) -> list[str]:
    """The names of the floating-point tensors holding NaN or inf, in the mapping's order."""
    by_device: dict[torch.device, list[str]] = {}
    for name, t in tensors.items():
        if t.is_floating_point() and t.numel():
            by_device.setdefault(t.device, []).append(name)
    bad = set()
    for names in by_device.values():  # one device sync per device, not one per tensor
        finite = torch.stack([torch.isfinite(tensors[k]).all() for k in names]).tolist()
        bad.update(k for k, ok in zip(names, finite) if not ok)
    return [k for k in tensors if k in bad]


def describe(bad: list[str], total: int) -> str:
    """``"a, b, c, ... (7 of 80 tensors)"``: the first names and how many."""
    shown = ", ".join(bad[:SHOWN]) + (", ..." if len(bad) > SHOWN else "")
    return f"{shown} ({len(bad)} of {total} tensors)"


def named_training_tensors(models: Mapping[str, dict]) -> dict[str, Tensor]:
    """A checkpoint's ``models`` (networks and Adam states) as one flat mapping of named tensors:
    ``G.<param>``, ``D.<param>``, ``G_ema.<param>``, ``opt_g.<param>.exp_avg_sq`` and so on."""
    out: dict[str, Tensor] = {}
    for net in ("G", "D", "G_ema"):
        if net in models:
            out.update({f"{net}.{k}": v for k, v in models[net].items()})
    for net, opt in (("G", "opt_g"), ("D", "opt_d")):
        if opt not in models:
            continue
        names = list(models.get(net, {}))  # Adam's state is indexed by parameter order, the state_dict's order
        for i, moments in models[opt].get("state", {}).items():
            name = names[int(i)] if int(i) < len(names) else str(i)
            out.update({f"{opt}.{name}.{k}": v for k, v in moments.items() if isinstance(v, Tensor) and k != "step"})
    return out


def nonfinite_losses(losses: Mapping[str, float]) -> list[str]:
    """``"name=value"`` for each loss that is NaN or inf."""
    return [f"{k}={v}" for k, v in losses.items() if not math.isfinite(v)]


def check_finite(tensors: Mapping[str, Tensor], what: str) -> None:
    """Raise NonFiniteError, ``"<what> holds non-finite values in <names> (k of n tensors)"``, when a
    floating-point tensor holds NaN or inf."""
    bad = nonfinite_tensors(tensors)
    if bad:
        raise NonFiniteError(f"{what} holds non-finite values in {describe(bad, len(tensors))}")


def check_state(models: Mapping[str, dict], what: str) -> None:
    """:func:`check_finite` of a checkpoint's ``models`` (networks and Adam moments)."""
    check_finite(named_training_tensors(models), what)
