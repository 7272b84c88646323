"""Training configuration: one typed, validated dataclass, stored resolved in every run folder."""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import torch

from t2f.files import read_json_object
from t2f.model import ModelConfig

# Fixed descriptions for the progress grids (paper Figure 2): they cover the attributes the demo
# must follow (gender, hair colour, smiling, glasses) and are encoded into the pack.
SAMPLE_PROMPTS: tuple[str, ...] = (
    "a smiling young woman with wavy blond hair",
    "a man with black hair and a beard",
    "an older man with gray hair wearing glasses",
    "a young woman with straight brown hair wearing lipstick",
    "a bald man with a mustache",
    "a smiling young man with bangs and eyeglasses",
)
AUGMENTATIONS = ("flip", "color", "translation", "cutout")
PRECISIONS = ("auto", "bf16", "fp32")
DATA_PLACEMENTS = ("auto", "device", "stream")


@dataclass
class TrainConfig:
    """Everything a run depends on besides its data."""

    model: ModelConfig = field(default_factory=ModelConfig)
    batch_size: int = 64  # global: split across processes under torchrun
    lr_g: float = 0.003
    lr_d: float = 0.003
    beta1: float = 0.0  # Adam(0, 0.99) as in the paper and MSG-GAN
    beta2: float = 0.99
    ema_kimg: float = 10.0  # EMA half-life of the generator, in thousands of images
    ema_rampup: float = 0.05  # half-life <= this fraction of images seen so far (0: off)
    mismatch_weight: float = 1.0  # matching-aware term: real image + wrong text counts as fake
    kl_weight: float = 1.0  # conditioning augmentation KL term (when model.cond_aug), per code dimension
    mode_seeking_weight: float = 0.0  # mode-seeking term (Mao et al. 2019) against noise being ignored (0: off)
    scale_consistency_weight: float = 0.0  # smaller outputs pulled toward the pooled full-size one (0: off)
    r1_gamma: float = 0.0  # R1 penalty on real images (0: off), applied lazily
    r1_interval: int = 16
    augment: tuple[str, ...] = AUGMENTATIONS  # DiffAugment ops applied to real and fake alike
    augment_p: float = 1.0  # probability each op is applied to a sample
    captions_per_image: int = 3
    total_kimg: float = 10_000.0  # stop after this many thousand images
    max_minutes: float | None = None  # or after this much wall time (checkpoint first)
    sample_every_minutes: float = 1.0
    checkpoint_every_minutes: float = 2.0
    keep_checkpoints: int = 3
    log_every: int = 20  # steps between TensorBoard points
    sample_seed: int = 1234
    seed: int = 0
    precision: str = "auto"  # bf16 autocast where native (CUDA, AVX-512 BF16/AMX CPUs), else fp32
    compile: bool = False  # torch.compile the networks (CUDA)
    channels_last: bool = True
    data_placement: str = "auto"  # the whole pack on the device when it fits, else a DataLoader
    num_workers: int = 4

    def __post_init__(self) -> None:
        if isinstance(self.model, dict):
            self.model = ModelConfig.from_dict(self.model)
        self.augment = tuple(self.augment)
        positive_ints = ("batch_size", "r1_interval", "captions_per_image", "keep_checkpoints", "log_every")
        for name in positive_ints:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        positive = ("lr_g", "lr_d", "ema_kimg", "total_kimg", "sample_every_minutes", "checkpoint_every_minutes")
        for name in positive:
            if not _finite(getattr(self, name)) or getattr(self, name) <= 0:
                raise ValueError(f"{name} must be a positive number, got {getattr(self, name)!r}")
        for name in ("mismatch_weight", "kl_weight", "mode_seeking_weight", "scale_consistency_weight", "r1_gamma", "ema_rampup"):
            if not _finite(getattr(self, name)) or getattr(self, name) < 0:
                raise ValueError(f"{name} must be a number >= 0, got {getattr(self, name)!r}")
        for name in ("beta1", "beta2", "augment_p"):
            if not _finite(getattr(self, name)) or not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"{name} must be in [0, 1], got {getattr(self, name)!r}")
        if self.mode_seeking_weight > 0 and self.batch_size % 2:
            raise ValueError(f"mode_seeking_weight > 0 pairs the fakes: batch_size must be even, got {self.batch_size}")
        if self.max_minutes is not None and (not _finite(self.max_minutes) or self.max_minutes <= 0):
            raise ValueError(f"max_minutes must be a positive number, got {self.max_minutes!r}")
        unknown = sorted(set(self.augment) - set(AUGMENTATIONS))
        if unknown:
            raise ValueError(f"unknown augmentations {unknown}; choose from {AUGMENTATIONS}")
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}, got {self.precision!r}")
        if self.data_placement not in DATA_PLACEMENTS:
            raise ValueError(f"data_placement must be one of {DATA_PLACEMENTS}, got {self.data_placement!r}")

    def to_dict(self) -> dict:
        """The saved form (run config.json, checkpoints, training record): plain JSON types, so resolution
        keys are strings and tuples are lists, exactly as a config reads back from JSON."""
        return json.loads(json.dumps(asdict(self)))

    @property
    def memory_format(self) -> torch.memory_format:
        """The layout of the networks and their image inputs."""
        return torch.channels_last if self.channels_last else torch.contiguous_format

    @classmethod
    def from_dict(cls, data: dict) -> TrainConfig:
        """Build from a dict (e.g. a JSON file); unknown keys are an error, not silently ignored."""
        unknown = sorted(set(data) - {f.name for f in fields(cls)})
        if unknown:
            raise ValueError(f"unknown training config keys: {unknown}")
        return cls(**data)

    @classmethod
    def from_file(cls, path: str | Path) -> TrainConfig:
        """Read a JSON config file (the same shape as a run's config.json)."""
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"config file {path} does not exist")
        data = read_json_object(path)
        try:
            return cls.from_dict(data)
        except (TypeError, ValueError) as e:
            raise ValueError(f"{path}: {e}") from None


def _finite(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
