"""The training loop: ``python -m train fit``.

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
"""

from __future__ import annotations

import argparse
import copy
import datetime
import json
import math
import os
import platform
import signal
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.distributed as dist
from torch import Tensor, nn

from t2f.model import Discriminator, Generator, downsample_pyramid
from train import checkpoint, samples
from train.augment import Augment
from train.config import TrainConfig
from train.data import Pack, load_pack
from train.losses import kl_standard_normal, mode_seeking, r1_penalty, ra_hinge_d, ra_hinge_g

# --- processes and devices ------------------------------------------------------------------------


@dataclass
class Dist:
    """This process's place among the training processes."""

    rank: int = 0
    world: int = 1
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))

    @property
    def main(self) -> bool:
        return self.rank == 0


def setup_distributed(device: str | None = None) -> Dist:
    """Join the process group when started by torchrun (nccl on CUDA, gloo on the CPU)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local = int(os.environ.get("LOCAL_RANK", "0"))
    if device is None:
        device = f"cuda:{local}" if torch.cuda.is_available() else "cpu"
    dev = torch.device(device)
    if dev.type == "cuda":
        torch.cuda.set_device(dev)
    if world > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if dev.type == "cuda" else "gloo")
    return Dist(rank, world, dev)


def all_reduce_mean_(tensors: list[Tensor], d: Dist) -> None:
    """Average tensors over processes in place, flattened into one all_reduce."""
    if d.world == 1 or not tensors:
        return
    flat = torch.cat([t.reshape(-1) for t in tensors])
    dist.all_reduce(flat)
    flat /= d.world
    offset = 0
    for t in tensors:
        t.copy_(flat[offset : offset + t.numel()].view_as(t))
        offset += t.numel()


def step_generator(seed: int, step: int, rank: int, device: torch.device) -> torch.Generator:
    """The random stream of one step of one process."""
    return torch.Generator(device).manual_seed((seed * 1_000_003 + step) * 1024 + rank)


# --- data -----------------------------------------------------------------------------------------


class BatchSource:
    """Yields (step, uint8 images (b, 3, R, R), text embeddings (b, D)) on the device, b = this
    process's share of the global batch. Epoch e visits the images in the order randperm(seed, e);
    each visit draws one of the image's captions."""

    def __init__(self, pack: Pack, cfg: TrainConfig, d: Dist):
        self.pack, self.cfg, self.d = pack, cfg, d
        self.n = len(pack)
        if cfg.batch_size % d.world:
            raise ValueError(f"batch_size {cfg.batch_size} must be divisible by the number of processes {d.world}")
        self.local = cfg.batch_size // d.world
        if cfg.mode_seeking_weight > 0 and self.local % 2:
            raise ValueError(f"mode_seeking_weight > 0 pairs the fakes: each process's batch ({self.local}) must be even")
        self.embeddings = pack.embeddings.to(d.device)  # (N, K, D) float16
        placement = cfg.data_placement
        if placement == "auto":
            placement = "device" if self._fits_on_device() else "stream"
        self.placement = placement
        self.images = pack.decode_all().to(d.device) if placement == "device" else None
        self._perms: dict[tuple[int, str], Tensor] = {}

    def _fits_on_device(self) -> bool:
        size = self.n * 3 * self.pack.meta["resolution"] ** 2
        if self.d.device.type != "cuda":
            return size < 2**30
        free, _ = torch.cuda.mem_get_info(self.d.device)
        return size < free // 4

    def indices(self, step: int, device: torch.device | str = "cpu") -> tuple[Tensor, Tensor]:
        """(image indices, caption indices) of this process's share of global batch ``step``, on
        ``device``. Made there from per-epoch permutations and a per-step generator, so the loop
        never waits on a host-to-device copy."""
        first = step * self.cfg.batch_size + self.d.rank * self.local
        positions = torch.arange(first, first + self.local, device=device)
        rows = torch.empty_like(positions)
        for epoch in range(first // self.n, (first + self.local - 1) // self.n + 1):
            where = positions.div(self.n, rounding_mode="floor") == epoch
            rows = torch.where(where, self._permutation(epoch, device)[positions % self.n], rows)
        g = torch.Generator(device).manual_seed(self.cfg.seed * 7_919 + step)
        k = torch.randint(self.embeddings.shape[1], (self.cfg.batch_size,), generator=g, device=device)
        return rows, k[self.d.rank * self.local : (self.d.rank + 1) * self.local]

    def _permutation(self, epoch: int, device: torch.device | str) -> Tensor:
        key = (epoch, str(device))
        if key not in self._perms:
            g = torch.Generator().manual_seed(self.cfg.seed * 1_000_033 + epoch)
            self._perms = {k: v for k, v in self._perms.items() if k[0] >= epoch - 1}  # keep the epochs in use
            self._perms[key] = torch.randperm(self.n, generator=g).to(device)
        return self._perms[key]

    def batches(self, start: int) -> Iterator[tuple[int, Tensor, Tensor]]:
        """Endless batches from step ``start`` on."""
        device = self.d.device
        if self.images is not None:
            step = start
            while True:
                rows, k = self.indices(step, device)
                yield step, self.images[rows], self.embeddings[rows, k].float()
                step += 1
        loader = torch.utils.data.DataLoader(
            _PackImages(self.pack),
            batch_sampler=_StepSampler(self, start),
            num_workers=self.cfg.num_workers,
            pin_memory=device.type == "cuda",
            persistent_workers=self.cfg.num_workers > 0,
        )
        for step, (images, rows) in enumerate(loader, start):
            _, k = self.indices(step, device)
            yield step, images.to(device, non_blocking=True), self.embeddings[rows.to(device), k].float()


class _PackImages(torch.utils.data.Dataset):
    """Decodes pack images on DataLoader workers (the path for data too big for the device)."""

    def __init__(self, pack: Pack):
        self.pack = pack

    def __len__(self) -> int:
        return len(self.pack)

    def __getitem__(self, i: int) -> tuple[Tensor, int]:
        return torch.from_numpy(self.pack.image(i)).permute(2, 0, 1).contiguous(), i


class _StepSampler(torch.utils.data.Sampler):
    def __init__(self, source: BatchSource, start: int):
        self.source, self.start = source, start

    def __iter__(self) -> Iterator[list[int]]:
        step = self.start
        while True:
            yield self.source.indices(step)[0].tolist()
            step += 1


# --- models and optimisation ----------------------------------------------------------------------


@dataclass
class Models:
    G: Generator
    D: Discriminator
    G_ema: Generator
    augment: Augment
    opt_g: torch.optim.Adam
    opt_d: torch.optim.Adam
    G_run: nn.Module  # G or its compiled form
    D_run: nn.Module

    def state_dict(self) -> dict:
        return {
            "G": self.G.state_dict(),
            "D": self.D.state_dict(),
            "G_ema": self.G_ema.state_dict(),
            "opt_g": self.opt_g.state_dict(),
            "opt_d": self.opt_d.state_dict(),
        }

    def load_state_dict(self, state: dict) -> None:
        """Load a checkpoint's or a training state's networks and optimizers. An optimizer state without
        ``param_groups`` (the compact training state) keeps the hyper-parameters the config built.
        A D saved without the rgb skips this D has (see ``_check_resumable``) keeps them at their zero
        init, and Adam starts their moments afresh."""
        for name in ("G", "G_ema"):
            getattr(self, name).load_state_dict(state[name])
        grown = {k: v for k, v in self.D.state_dict().items() if k.startswith("rgb_skips.") and k not in state["D"]}
        self.D.load_state_dict({**grown, **state["D"]})
        for name in ("opt_g", "opt_d"):
            opt = getattr(self, name)
            opt.load_state_dict({"param_groups": opt.state_dict()["param_groups"], **state[name]})


def build_models(cfg: TrainConfig, device: torch.device) -> Models:
    """Networks, EMA copy, augmentation and Adam(beta1, beta2), seeded by cfg.seed (same on every process)."""
    torch.manual_seed(cfg.seed)
    G = Generator(cfg.model).to(device, memory_format=cfg.memory_format).train()
    D = Discriminator(cfg.model).to(device, memory_format=cfg.memory_format).train()
    G_ema = copy.deepcopy(G).eval().requires_grad_(False)
    betas = (cfg.beta1, cfg.beta2)
    opt_g = torch.optim.Adam(G.parameters(), lr=cfg.lr_g, betas=betas)
    opt_d = torch.optim.Adam(D.parameters(), lr=cfg.lr_d, betas=betas)
    if cfg.compile:
        # The same networks run at a few fixed batch shapes: one static graph each beats a dynamic one.
        torch._dynamo.config.automatic_dynamic_shapes = False
        G_run, D_run = torch.compile(G), torch.compile(D)
    else:
        G_run, D_run = G, D
    return Models(G, D, G_ema, Augment(cfg.augment, cfg.augment_p).to(device), opt_g, opt_d, G_run, D_run)


def ema_beta(cfg: TrainConfig, nimg: int) -> float:
    """Per-step EMA decay from a half-life in images, shortened early in training (StyleGAN2-ADA)."""
    half_life = cfg.ema_kimg * 1000
    if cfg.ema_rampup > 0:
        half_life = min(half_life, nimg * cfg.ema_rampup)
    return 0.5 ** (cfg.batch_size / max(half_life, 1e-8))


@torch.no_grad()
def update_ema(ema: nn.Module, model: nn.Module, beta: float) -> None:
    ema_params, params = list(ema.parameters()), list(model.parameters())
    torch._foreach_lerp_(ema_params, params, 1.0 - beta)


def _set_requires_grad(module: nn.Module, flag: bool) -> None:
    for p in module.parameters():
        p.requires_grad_(flag)


def discriminator_scores(D: nn.Module, real_pyr: list[Tensor], fake_pyr: list[Tensor], text: Tensor, wrong: Tensor, fake_text: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """(real, real-with-wrong-text, fake) scores. Real and fake go through D in separate passes, so
    minibatch-stddev groups never mix them (a mixed group carries no real/fake signal); the wrong
    text rides on the real pass through the projection term."""
    real_s, wrong_s = D(real_pyr, torch.stack([text, wrong])).float()
    return real_s, wrong_s, D(fake_pyr, fake_text).float()


def train_step(m: Models, cfg: TrainConfig, d: Dist, step: int, images: Tensor, text: Tensor) -> dict[str, Tensor]:
    """One discriminator and one generator update. Returns the loss terms (detached, on device).

    One generator pass serves both updates (DCGAN's order): D learns on the fakes detached, then G
    gets gradients through the updated D on the same fakes. G's relativistic loss compares with the
    real scores of D's pass, taken just before D's update, instead of scoring the real batch again:
    both save a network pass per step, which is a third of a step on the CPU.
    """
    device = images.device
    g = step_generator(cfg.seed, step, d.rank, device)
    mc = cfg.model
    n = images.shape[0]
    amp = torch.autocast(device.type, dtype=torch.bfloat16, enabled=_bf16(cfg, device))
    real = (images.float() / 127.5 - 1).contiguous(memory_format=cfg.memory_format)
    real_pyr = m.augment(downsample_pyramid(real, len(mc.resolutions)), g)
    wrong = text.roll(1, dims=0)  # each real image with another image's description
    # With the mode-seeking term, fakes come in pairs (i, i + n/2) that share a text and differ in noise.
    fake_text = torch.cat([text[: n // 2]] * 2) if cfg.mode_seeking_weight > 0 else text
    z = torch.randn(n, mc.z_dim, generator=g, device=device)
    eps = torch.randn(n, mc.cond_dim, generator=g, device=device)
    with amp:
        fake = m.G_run(z, fake_text, eps)
    fake_pyr = m.augment([x.float() for x in fake], g)

    # Discriminator: real vs fake (relativistic average hinge) + real/matched vs real/mismatched.
    _set_requires_grad(m.D, True)
    with amp:
        real_s, wrong_s, fake_s = discriminator_scores(m.D_run, real_pyr, [x.detach() for x in fake_pyr], text, wrong, fake_text)
    loss_adv = ra_hinge_d(real_s, fake_s)
    loss_mismatch = ra_hinge_d(real_s, wrong_s)
    loss_d = loss_adv + cfg.mismatch_weight * loss_mismatch
    m.opt_d.zero_grad(set_to_none=True)
    loss_d.backward()
    out = {"d_adv": loss_adv.detach(), "d_mismatch": loss_mismatch.detach()}
    if cfg.r1_gamma > 0 and step % cfg.r1_interval == 0:
        # Lazy R1 (scaled by the interval), on the uncompiled D: compile has no double backward.
        inputs = [x.detach().requires_grad_(True) for x in real_pyr]
        penalty = r1_penalty(m.D(inputs, text), inputs)
        (penalty * (cfg.r1_gamma / 2 * cfg.r1_interval)).backward()
        out["r1"] = penalty.detach()
    all_reduce_mean_([p.grad for p in m.D.parameters() if p.grad is not None], d)
    m.opt_d.step()

    # Generator: fool the updated D relative to the real batch; KL keeps the text code near N(0, I).
    _set_requires_grad(m.D, False)
    with amp:
        fake_s = m.D_run(fake_pyr, fake_text).float()
    loss_g = ra_hinge_g(real_s.detach(), fake_s)
    out["g_adv"] = loss_g.detach()
    if mc.cond_aug and cfg.kl_weight > 0:
        kl = kl_standard_normal(*m.G.cond.stats(text))
        loss_g = loss_g + cfg.kl_weight * kl
        out["kl"] = kl.detach()
    if cfg.mode_seeking_weight > 0:
        h = n // 2
        noise = torch.cat([z, eps], dim=1)
        top = fake[-1].float()
        ms = mode_seeking(top[:h], top[h:], noise[:h], noise[h:])
        loss_g = loss_g + cfg.mode_seeking_weight * ms
        out["mode_seeking"] = ms.detach()
    m.opt_g.zero_grad(set_to_none=True)
    loss_g.backward()
    all_reduce_mean_([p.grad for p in m.G.parameters() if p.grad is not None], d)
    m.opt_g.step()
    return out


def _bf16(cfg: TrainConfig, device: torch.device) -> bool:
    """bf16 autocast when asked, or with "auto" where bf16 is native: CUDA, or a CPU with AVX-512 BF16
    or AMX. Elsewhere oneDNN emulates bf16, 10-400x slower than fp32 (measured on an AVX2 EPYC)."""
    if cfg.precision != "auto":
        return cfg.precision == "bf16"
    return device.type == "cuda" or (device.type == "cpu" and torch.ops.mkldnn._is_mkldnn_bf16_supported())


# --- the run --------------------------------------------------------------------------------------


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
        export_to: Path | None, resume_from: Path | None = None, export_state: bool = False,
    ):  # fmt: skip
        self.started = time.monotonic()
        self.cfg, self.run_dir, self.command, self.export_to, self.export_state = cfg, Path(run), command, export_to, export_state
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
        elif resume_from is not None:
            from train.state import STATE_NAME, load_training_state

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
            (self.run_dir / "config.json").write_text(json.dumps(cfg.to_dict(), indent=2))
        self.writer = _tensorboard(self.run_dir) if self.d.main else None
        self.prompts = self.pack.meta.get("prompts", [])
        self.sample_text = self.pack.sample_embeddings.float().to(self.d.device)
        noise = torch.Generator().manual_seed(cfg.sample_seed)
        self.sample_z = torch.randn(len(self.prompts), cfg.model.z_dim, generator=noise).to(self.d.device)
        self.diversity_z = torch.randn(samples.DIVERSITY_SEEDS, cfg.model.z_dim, generator=noise).to(self.d.device)
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
            self.snapshot()
            path = self.save()
        progress.close()
        if self.writer is not None:
            self.writer.close()
        if self.d.main:
            print(f"stopped at step {self.step} ({self.nimg} images, by {stopped_by}); checkpoint {path}", file=sys.stderr)
        return FitResult(self.run_dir, self.step, self.nimg, stopped_by, path, self.record(), self.models)

    def log(self, terms: dict[str, Tensor], progress) -> None:
        """Loss values (this syncs the device, hence only every log_every steps), speed, TensorBoard."""
        self.losses = {k: float(v) for k, v in terms.items()}
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

    def snapshot(self) -> None:
        """Add a column to the progress grid (EMA generator, fixed prompts and seeds) and log how
        different its faces are, so a collapse shows within minutes."""
        if self.d.main and self.prompts:
            with torch.no_grad():
                images = self.models.G_ema(self.sample_z, self.sample_text)
                self.diversity = samples.sample_diversity(self.models.G_ema, self.sample_text, self.diversity_z)
            samples.save_snapshot(self.run_dir / "samples", images, self.step)
            samples.build_progress_grid(self.run_dir / "samples", self.prompts, self.cfg.model.resolutions)
            if self.writer is not None:
                for k, v in self.diversity.items():
                    self.writer.add_scalar(f"diversity/{k}", v, self.nimg)
            print(f"step {self.step} ({self.nimg} images): losses {_fmt(self.losses)}, diversity {_fmt(self.diversity)}", file=sys.stderr, flush=True)

    def save(self) -> Path | None:
        """Checkpoint and training record (rank 0), and the export when asked for."""
        if not self.d.main:
            return None
        (self.run_dir / "training_record.json").write_text(json.dumps(self.record(), indent=2))
        state = _checkpoint_state(self.models, self.cfg, self.d.world, self.step, self.nimg, self.train_seconds, self.losses)
        state.update(sessions=self.sessions, run_start=self.run_start)
        path = checkpoint.save_checkpoint(self.run_dir, state, self.step, self.cfg.keep_checkpoints)
        if self.export_to is not None:
            from train.export import export_run

            export_run(self.run_dir, self.export_to, training_state=self.export_state)
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
    export_to: Path | None = None,
    resume_from: Path | None = None,
    export_state: bool = False,
) -> FitResult:
    """Train on a pack into the run folder ``run``; returns where and why it stopped.

    With ``export_to``, every checkpoint is also exported there (EMA generator, card, grid, and with
    ``export_state`` the compact training state), so a run cut short still leaves usable weights.
    ``resume_from`` starts the run from a weights folder's training state (see ``train.state``).
    """
    return Trainer(
        cfg, pack_path, run, resume=resume, device=device, command=command, export_to=export_to,
        resume_from=resume_from, export_state=export_state,
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
    move to a compiled run or another number of GPUs, and switch on D's rgb skips."""
    free = set(RUN_LENGTH_KEYS)
    now, saved = cfg.to_dict(), TrainConfig.from_dict(state["config"]).to_dict()  # defaults for keys added since
    if world is None:
        free.add("compile")
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
    from tqdm import tqdm

    return tqdm(total=total, initial=step, disable=not d.main, unit="step", dynamic_ncols=True, mininterval=1 if sys.stderr.isatty() else 30)


def _tensorboard(run: Path):
    from torch.utils.tensorboard import SummaryWriter

    return SummaryWriter(str(run / "tensorboard"))


# --- command line ---------------------------------------------------------------------------------


def add_parser(subparsers) -> None:
    from train.prepare import add_data_arguments

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
    p.set_defaults(func=run_fit)


OVERRIDES = ("max_minutes", "total_kimg", "batch_size", "seed", "compile", "precision", "sample_every_minutes", "checkpoint_every_minutes")


def resolve_config(args: argparse.Namespace) -> TrainConfig:
    """The config file (or defaults, or the run's own config on --resume), then command-line overrides."""
    data = TrainConfig().to_dict()
    saved = args.out / "config.json"
    if args.config is not None:
        data = TrainConfig.from_file(args.config).to_dict()
    elif args.resume and saved.is_file():
        data = TrainConfig.from_file(saved).to_dict()
    elif args.resume_from is not None:
        from train.state import read_state_config

        data = read_state_config(args.resume_from)
    for name in OVERRIDES:
        value = getattr(args, name, None)
        if value is not None:
            data[name] = value
    if getattr(args, "d_rgb_skips", False):
        data["model"]["d_rgb_skips"] = True
    return TrainConfig.from_dict(data)


def run_fit(args: argparse.Namespace) -> int:
    from train.prepare import pack_for_training

    main_process = int(os.environ.get("RANK", "0")) == 0
    if args.push_to_hub and main_process:
        from train.push import check_can_push

        check_can_push(args.push_to_hub)  # a missing login fails now, not after the run
    cfg = resolve_config(args)
    cfg, pack_path = pack_for_training(cfg, args)
    command = " ".join(["python -m train"] + [a if " " not in a else repr(a) for a in sys.argv[1:]])
    export_to = args.export or (args.out / "export" if args.push_to_hub else None)
    if args.with_training_state and export_to is None:
        raise ValueError("--with-training-state needs --export (the folder to write it to)")
    result = fit(
        cfg, pack_path, args.out, resume=args.resume, device=args.device, command=command, export_to=export_to,
        resume_from=args.resume_from, export_state=args.with_training_state,
    )  # fmt: skip
    if dist.is_initialized():
        dist.destroy_process_group()
    print(f"{result.run}: step {result.step}, {result.nimg} images, stopped by {result.stopped_by}")
    if export_to is not None and main_process:
        print(f"exported to {export_to}")
        if args.push_to_hub:
            from train.push import push_run

            print(push_run(export_to, args.push_to_hub))
    return 0
