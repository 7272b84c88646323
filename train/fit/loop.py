"""The training loop (``python -m train fit`` wires it to the command line).

One step = a discriminator update and a generator update on one global batch. All randomness of a
step (batch order, captions, noise, augmentation) is a function of (seed, step, rank), so a run
resumed from a checkpoint draws what the uninterrupted run would have drawn. The result is bitwise
the same on the CPU in fp32 (precision "fp32", or "auto" on a CPU without native bf16) on the same
machine, torch build and thread count; a resume that changes ``compile`` or the number of processes is refused,
since both change the order of floating-point sums. On CUDA it is close, not bitwise: deterministic
algorithms are not switched on, because the backward of ``grid_sample`` (the translation
augmentation) has no deterministic CUDA kernel, and it and other kernels accumulate with atomics.

Several processes (``torchrun --nproc_per_node N -m train fit ...``) split each global batch and
average gradients with one all_reduce per update, as StyleGAN2-ADA does: the schedule per image
seen (batch, learning rates, EMA, kimg) is the same for any number of processes.

What happens at a checkpoint beyond the checkpoint itself (an export, say) is the caller's: the
loop calls ``on_checkpoint(run_dir)`` and knows nothing of what it does.

A run that diverges stops at once with :class:`~train.fit.finite.NonFiniteError`, naming what went
non-finite and the step: its losses are checked where they are read for logging (no extra device sync),
its weights and Adam moments before every checkpoint and snapshot. It writes no checkpoint from that
state, so the last good ones stay and ``on_checkpoint`` (the export) is not called.
"""

from __future__ import annotations

import datetime
import json
import math
import platform
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.distributed as dist
from torch import Tensor
from torch.utils.tensorboard import SummaryWriter
from tqdm import tqdm

from t2f.files import CONFIG_NAME, RECORD_NAME, STATE_NAME, write_json
from train.data.pack import Pack, load_pack
from train.fit import checkpoint, snapshots
from train.fit.batches import BatchSource
from train.fit.config import TrainConfig
from train.fit.distributed import Dist, setup_distributed
from train.fit.finite import NonFiniteError, check_state, describe, named_training_tensors, nonfinite_losses, nonfinite_tensors
from train.fit.state import load_training_state
from train.fit.step import Models, build_models, ema_beta, train_step, update_ema


class _StopFlag:
    """Set by SIGTERM/SIGINT; the loop checkpoints and returns at the end of the current step."""

    def __init__(self):
        self.signal: str | None = None
        self._previous = {}

    def __enter__(self) -> _StopFlag:
        for sig in (signal.SIGTERM, signal.SIGINT):
            self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def _handle(self, signum, frame) -> None:
        self.signal = signal.Signals(signum).name

    def __exit__(self, *exc) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)


@dataclass
class FitResult:
    run: Path
    step: int
    nimg: int
    stopped_by: str  # "total_kimg", "max_minutes", "SIGTERM", "SIGINT"
    checkpoint: Path | None  # None on processes other than rank 0, which do not write
    record: dict
    models: Models


class Trainer:
    """One run: networks, data, run folder and clocks. :meth:`run` is the loop; the other methods are
    what it does now and then (log, sample, checkpoint, decide to stop)."""

    def __init__(
        self, cfg: TrainConfig, pack_path: Path, run: Path, *, resume: bool, device: str | None, command: str,
        on_checkpoint: Callable[[Path], None] | None = None, resume_from: Path | None = None,
    ):  # fmt: skip
        self.started = time.monotonic()
        self.cfg, self.run_dir, self.command, self.on_checkpoint = cfg, Path(run), command, on_checkpoint
        self.d = setup_distributed(device)
        self.pack = load_pack(pack_path)
        _check_pack(cfg, self.pack)
        existing = checkpoint.latest_checkpoint(self.run_dir)
        if existing is not None and not resume:
            what = "--resume-from starts a new run folder" if resume_from else "choose another --out"
            raise FileExistsError(f"{self.run_dir} already holds checkpoints: pass --resume to continue it, or {what}")
        if resume and existing is None:
            raise FileNotFoundError(f"--resume: {self.run_dir} holds no checkpoint to resume from")
        self.step, self.nimg, self.train_seconds = 0, 0, 0.0
        self.sessions: list[dict] = []  # rows of the sessions before this run (from a committed training state)
        state, source = None, None
        if existing is not None:
            state, source = checkpoint.load_checkpoint(existing, map_location=self.d.device), existing
            _check_resumable(cfg, state, source, world=self.d.world)
            check_state(state["models"], f"cannot resume: {existing}")  # written before runs stopped on divergence
        elif resume_from is not None:
            state, source = load_training_state(resume_from, self.d.device), Path(resume_from) / STATE_NAME
            _check_resumable(cfg, state, source)
        self.models = build_models(cfg, self.d.device)
        if state is not None:
            self.models.load_state_dict(state["models"])
            self.step, self.nimg, self.train_seconds = state["step"], state["nimg"], state["train_seconds"]
            self.sessions = state.get("sessions", [])
        # Where this run (one session's row of the record) started: a checkpoint of this run keeps it
        # (one written before run_start existed came from a run that started from scratch).
        fresh = {"nimg": self.nimg, "train_seconds": self.train_seconds}
        if state is not None and existing is None:  # a new session: say what it trains differently
            fresh["changes"] = config_changes(TrainConfig.from_dict(state["config"]).to_dict(), cfg.to_dict())
        self.run_start = state.get("run_start", {"nimg": 0, "train_seconds": 0.0}) if existing is not None else fresh
        self.source = BatchSource(self.pack, cfg, self.d)
        if self.d.main:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            write_json(self.run_dir / CONFIG_NAME, cfg.to_dict())
        self.writer = SummaryWriter(str(self.run_dir / "tensorboard")) if self.d.main else None
        self.prompts = self.pack.meta.get("prompts", [])
        self.sample_text = self.pack.sample_embeddings.float().to(self.d.device)
        noise = torch.Generator().manual_seed(cfg.sample_seed)
        self.sample_z = torch.randn(len(self.prompts), cfg.model.z_dim, generator=noise).to(self.d.device)
        self.diversity_z = torch.randn(snapshots.DIVERSITY_SEEDS, cfg.model.z_dim, generator=noise).to(self.d.device)
        self.diversity: dict[str, float] = {}
        self.total_steps = math.ceil(cfg.total_kimg * 1000 / cfg.batch_size)
        self.losses: dict[str, float] = {}
        self.timing = _Throughput()

    def run(self) -> FitResult:
        cfg = self.cfg
        progress = _progress(self.d, self.step, self.total_steps)
        last_sample = last_ckpt = time.monotonic()
        stopped_by = "total_kimg"
        terms: dict[str, Tensor] = {}
        try:
            with _StopFlag() as stop:
                if self.step == 0:
                    self.snapshot()
                batches = self.source.batches(self.step)
                while self.step < self.total_steps:
                    t0 = time.monotonic()
                    _, images, text = next(batches)
                    terms = train_step(self.models, cfg, self.d, self.step, images, text)
                    self.nimg += cfg.batch_size
                    self.step += 1
                    update_ema(self.models.G_ema, self.models.G, ema_beta(cfg, self.nimg))
                    logged = self.step % cfg.log_every == 0 or self.step == self.total_steps
                    if logged:
                        self.log(terms, progress)
                    progress.update(1)
                    self.train_seconds += time.monotonic() - t0
                    now = time.monotonic()
                    if now - last_sample >= cfg.sample_every_minutes * 60:
                        self.snapshot()
                        last_sample = now
                    reason = self.stop_reason(stop, now, logged)
                    if reason:
                        stopped_by = reason
                        break
                    if now - last_ckpt >= cfg.checkpoint_every_minutes * 60:
                        self.save()
                        last_ckpt = now
                if terms:
                    self.losses = {k: float(v) for k, v in terms.items()}
                    self.check_losses()
                self.snapshot()
                path = self.save()
        finally:  # also when the run diverged: the TensorBoard curves up to it are what shows why
            progress.close()
            if self.writer is not None:
                self.writer.close()
        if self.d.main:
            print(f"stopped at step {self.step} ({self.nimg} images, by {stopped_by}); checkpoint {path}", file=sys.stderr)
        return FitResult(self.run_dir, self.step, self.nimg, stopped_by, path, self.record(), self.models)

    def log(self, terms: dict[str, Tensor], progress) -> None:
        """Loss values (this syncs the device, hence only every log_every steps), speed, TensorBoard."""
        self.losses = {k: float(v) for k, v in terms.items()}
        self.check_losses()
        self.timing.add(self.step, self.nimg, time.monotonic())
        rate = self.timing.images_per_second()
        progress.set_postfix({"img/s": f"{rate:.0f}", **{k: f"{v:.3f}" for k, v in self.losses.items()}}, refresh=False)
        if self.writer is not None:
            for k, v in self.losses.items():
                self.writer.add_scalar(f"loss/{k}", v, self.nimg)
            self.writer.add_scalar("speed/images_per_second", rate, self.nimg)

    def stop_reason(self, stop: _StopFlag, now: float, logged: bool) -> str | None:
        """Why to stop after this step, if at all. Several processes decide together at log points,
        so they all stop after the same step."""
        out_of_time = self.cfg.max_minutes is not None and now - self.started >= self.cfg.max_minutes * 60
        local = stop.signal or ("max_minutes" if out_of_time else None)
        if self.d.world == 1:
            return local
        if not logged:
            return None
        flag = torch.tensor([float(local is not None)], device=self.d.device)
        dist.all_reduce(flag)
        return (local or "another process was stopped") if flag.item() > 0 else None

    def check_losses(self) -> None:
        """Raise NonFiniteError when a loss just read (``self.losses``) is NaN or inf. Each process has its
        own losses, so several processes decide together and all stop at the same step."""
        bad = nonfinite_losses(self.losses)
        if self.d.world > 1:
            flag = torch.tensor([float(bool(bad))], device=self.d.device)
            dist.all_reduce(flag)
            if flag.item() > 0 and not bad:
                bad = ["on another process"]
        if bad:
            raise self.diverged(f"non-finite losses {', '.join(bad)}")

    def check_weights(self) -> None:
        """Raise NonFiniteError when a network's weights or an Adam moment hold NaN or inf (rank 0, before
        it writes a checkpoint or samples: one device sync, at those moments only)."""
        tensors = named_training_tensors(self.models.state_dict())
        bad = nonfinite_tensors(tensors)
        if bad:
            raise self.diverged(f"non-finite values in {describe(bad, len(tensors))}")

    def diverged(self, what: str) -> NonFiniteError:
        """The one-line error of a diverged run: what went non-finite, when, and which checkpoint is kept."""
        last = checkpoint.latest_checkpoint(self.run_dir)
        kept = f"the last good one is {last}" if last is not None else "this run has none yet"
        return NonFiniteError(
            f"training diverged at step {self.step} ({self.nimg} images): {what}; stopped without writing a checkpoint "
            f"or exporting ({kept})"
        )

    def snapshot(self) -> None:
        """Add a column to the progress grid (EMA generator, fixed prompts and seeds) and log how
        different its faces are, so a collapse shows within minutes."""
        if self.d.main and self.prompts:
            self.check_weights()
            with torch.no_grad():
                images = self.models.G_ema(self.sample_z, self.sample_text)
                self.diversity = snapshots.sample_diversity(self.models.G_ema, self.sample_text, self.diversity_z)
            snapshots.save_snapshot(self.run_dir / snapshots.FOLDER, images, self.step)
            snapshots.build_progress_grid(self.run_dir / snapshots.FOLDER, self.prompts, self.cfg.model.resolutions)
            if self.writer is not None:
                for k, v in self.diversity.items():
                    self.writer.add_scalar(f"diversity/{k}", v, self.nimg)
            print(f"step {self.step} ({self.nimg} images): losses {_fmt(self.losses)}, diversity {_fmt(self.diversity)}", file=sys.stderr, flush=True)

    def save(self) -> Path | None:
        """Checkpoint and training record (rank 0), then ``on_checkpoint(run_dir)`` when given.
        Raises NonFiniteError, writing nothing, when the weights hold NaN or inf."""
        if not self.d.main:
            return None
        self.check_weights()  # before anything is written: the checkpoints it would rotate out are the good ones
        write_json(self.run_dir / RECORD_NAME, self.record())
        state = _checkpoint_state(self.models, self.cfg, self.d.world, self.step, self.nimg, self.train_seconds, self.losses)
        state.update(sessions=self.sessions, run_start=self.run_start)
        path = checkpoint.save_checkpoint(self.run_dir, state, self.step, self.cfg.keep_checkpoints)
        if self.on_checkpoint is not None:
            self.on_checkpoint(self.run_dir)
        return path

    def record(self) -> dict:
        """The training record: what ran where, for how long, how fast, ending with which losses."""
        d, cfg, pack = self.d, self.cfg, self.pack
        device_name = machine_name(d.device)
        session = {
            "run": self.run_dir.name,
            "date": datetime.datetime.now(datetime.timezone.utc).date().isoformat(),
            "device": f"{d.world} x {device_name}" if d.world > 1 else device_name,
            "images_seen": self.nimg - self.run_start["nimg"],
            "train_minutes": round((self.train_seconds - self.run_start["train_seconds"]) / 60, 2),
            "images_seen_total": self.nimg,
        }
        if self.run_start.get("changes"):
            session["changes"] = self.run_start["changes"]
        return {
            "run": self.run_dir.name,
            "command": self.command,
            "device": f"{d.world} x {device_name}" if d.world > 1 else device_name,
            "gpu_minutes": round(self.train_seconds * d.world / 60, 2) if d.device.type == "cuda" else 0.0,
            "train_minutes": round(self.train_seconds / 60, 2),
            "images_seen": self.nimg,
            "epochs": round(self.nimg / len(pack), 2),
            "images_per_second": round(self.timing.images_per_second(), 1),
            "steps": self.step,
            "final_losses": self.losses,
            "final_diversity": self.diversity,
            "config": cfg.to_dict(),
            "data": {
                "name": pack.meta.get("data_name", ""),
                "train_images": len(pack),
                "held_out_images": pack.meta.get("held_out_images"),
                "pack_key": pack.meta.get("key"),
            },
            "torch": torch.__version__,
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "sessions": self.sessions + [session],
        }


def machine_name(device: torch.device) -> str:
    """The GPU's name, or the CPU's model and the threads torch uses (what a CPU-minute was spent on)."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    model = platform.processor() or "CPU"
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
        model = next(line.split(":", 1)[1].strip() for line in lines if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"{model} CPU, {torch.get_num_threads()} threads"


def fit(
    cfg: TrainConfig,
    pack_path: Path,
    run: Path,
    *,
    resume: bool = False,
    device: str | None = None,
    command: str = "",
    on_checkpoint: Callable[[Path], None] | None = None,
    resume_from: Path | None = None,
) -> FitResult:
    """Train on a pack into the run folder ``run``; returns where and why it stopped.

    ``on_checkpoint(run)`` is called after every checkpoint (rank 0): the command line exports there,
    so a run cut short still leaves usable weights.
    ``resume_from`` starts the run from a weights folder's training state (see ``train.fit.state``).
    """
    return Trainer(
        cfg, pack_path, run, resume=resume, device=device, command=command, on_checkpoint=on_checkpoint,
        resume_from=resume_from,
    ).run()  # fmt: skip


def _check_pack(cfg: TrainConfig, pack: Pack) -> None:
    mc, meta = cfg.model, pack.meta
    expected = {"text_encoder": mc.text_encoder, "text_dim": mc.text_dim, "resolution": mc.resolution}
    wrong = {k: (meta.get(k), v) for k, v in expected.items() if meta.get(k) != v}
    if wrong:
        detail = ", ".join(f"{k}: pack {a!r}, model {b!r}" for k, (a, b) in wrong.items())
        raise ValueError(f"the pack does not fit the model config ({detail})")


# How long a run goes and how often it logs: what a resumed run may change without changing what it trains.
RUN_LENGTH_KEYS = ("total_kimg", "max_minutes", "sample_every_minutes", "checkpoint_every_minutes", "keep_checkpoints", "log_every", "num_workers", "data_placement")


def config_changes(before: dict, after: dict, prefix: str = "") -> list[str]:
    """What a run trains differently from the config it continues, as ``"key: old -> new"`` lines
    (nested keys dotted; how long it runs and how often it logs are left out)."""
    lines = []
    for key in sorted(before.keys() | after.keys()):
        if not prefix and key in RUN_LENGTH_KEYS:
            continue
        old, new = before.get(key), after.get(key)
        if isinstance(old, dict) and isinstance(new, dict):
            lines += config_changes(old, new, f"{prefix}{key}.")
        elif json.dumps(old, sort_keys=True) != json.dumps(new, sort_keys=True):
            lines.append(f"{prefix}{key}: {json.dumps(old, sort_keys=True)} -> {json.dumps(new, sort_keys=True)}")
    return lines


def _check_resumable(cfg: TrainConfig, state: dict, path: Path, world: int | None = None) -> None:
    """Resuming may change how long to run, not what is trained. Given ``world`` (resuming a checkpoint,
    which continues bitwise), neither ``compile`` nor the number of processes may change either: both
    change the floating-point sums. A checkpoint written before the process count was stored is not
    checked for it. The compact training state (no ``world``) continues closely, not bitwise, so it may
    move to a compiled run or another number of GPUs, switch on D's rgb skips, set the scale-consistency
    weight (a loss term on G's outputs, no new parameters), and train from a pack with another number of
    captions per image (each visit draws one caption either way; a next session may rebuild a smaller
    pack, which encodes in a fraction of the time). Such changes land in the session's ``changes``."""
    free = set(RUN_LENGTH_KEYS)
    now, saved = cfg.to_dict(), TrainConfig.from_dict(state["config"]).to_dict()  # defaults for keys added since
    if world is None:
        free.update({"compile", "captions_per_image", "scale_consistency_weight"})
        # The training state may switch D's rgb skips on: they start at zero, so D scores as before.
        if now["model"]["d_rgb_skips"]:
            saved["model"]["d_rgb_skips"] = True
    differ = sorted(k for k in now if k not in free and json.dumps(now[k], sort_keys=True) != json.dumps(saved.get(k), sort_keys=True))
    if differ:
        raise ValueError(f"cannot resume {path}: the config differs in {differ} (only {sorted(free)} may change)")
    if world is not None and state.get("world", world) != world:
        raise ValueError(f"cannot resume {path} bitwise: it was trained by {state['world']} processes, this run has {world}")


def _checkpoint_state(m: Models, cfg: TrainConfig, world: int, step: int, nimg: int, train_seconds: float, losses: dict) -> dict:
    # No RNG state to keep: every step's randomness is re-derived from (seed, step, rank).
    return {
        "models": m.state_dict(),
        "config": cfg.to_dict(),  # plain JSON types only (weights_only loading)
        "world": world,  # the number of processes: another one sums gradients in another order
        "step": step,
        "nimg": nimg,
        "train_seconds": train_seconds,
        "losses": losses,
    }


def _fmt(values: dict[str, float]) -> str:
    return " ".join(f"{k}={v:.3f}" for k, v in values.items()) or "-"


class _Throughput:
    """Images per second over the recent log points (excludes compile warm-up once it has passed)."""

    def __init__(self):
        self.points: list[tuple[int, int, float]] = []

    def add(self, step: int, nimg: int, now: float) -> None:
        self.points = (self.points + [(step, nimg, now)])[-10:]

    def images_per_second(self) -> float:
        if len(self.points) < 2:
            return 0.0
        (_, n0, t0), (_, n1, t1) = self.points[0], self.points[-1]
        return (n1 - n0) / max(t1 - t0, 1e-9)


def _progress(d: Dist, step: int, total: int):
    return tqdm(total=total, initial=step, disable=not d.main, unit="step", dynamic_ncols=True, mininterval=1 if sys.stderr.isatty() else 30)

