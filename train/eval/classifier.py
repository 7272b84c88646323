"""Attribute classifier: the judge of text adherence and the feature space of diversity.

A small CNN trained by the project on the training split of a CelebA folder to recognise the 37
attributes that captions mention (``t2f.captions.ATTRIBUTES`` minus ``EXCLUDED``). It sees faces as
the generator draws them: the face crop at 128 px (``train.data.celeba.load_faces``), average-pooled to 64 px
(the same pooling as ``t2f.model.downsample_pyramid``), values in [-1, 1].

Multi-label, with each attribute's positives weighted by its negative/positive ratio, so that 0.5 is a
balanced decision for rare attributes too (an unweighted classifier would call nobody bald); its
accuracy is reported per attribute beside the balanced accuracy and the majority-class baseline.

Saved as ``NAME.safetensors`` (weights) + ``NAME.json`` (config, training facts, held-out accuracy):
no pickles. ``python -m train classifier --data DIR [--out FILE]``.
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import save_file
from torch import Tensor, nn

from t2f.captions import ATTRIBUTES, EXCLUDED
from t2f.files import CLASSIFIER_NAME, DEFAULT_WEIGHTS_DIR, read_json_object, read_state_dict
from train.data.celeba import Record, load_faces
from train.eval.metrics import as_float

CLASSIFIER_ATTRIBUTES: tuple[str, ...] = tuple(a for a in ATTRIBUTES if a not in EXCLUDED)
FORMAT = "t2f-attribute-classifier-1"
DEFAULT_PATH = DEFAULT_WEIGHTS_DIR / CLASSIFIER_NAME  # shipped beside the generator
LOAD_RESOLUTION = 128  # faces are loaded as the generator's training data, then pooled


@dataclass
class ClassifierConfig:
    """Architecture: one stride-2 and one stride-1 3x3 conv (BN, ReLU) per width, then global pooling."""

    resolution: int = 64
    widths: tuple[int, ...] = (16, 32, 64, 128)
    attributes: tuple[str, ...] = CLASSIFIER_ATTRIBUTES

    def __post_init__(self) -> None:
        self.widths, self.attributes = tuple(self.widths), tuple(self.attributes)
        unknown = sorted(set(self.attributes) - set(ATTRIBUTES))
        if unknown or not self.attributes:
            raise ValueError(f"attributes must be CelebA attribute names, got unknown {unknown}")
        if not self.widths or any(not isinstance(w, int) or w < 1 for w in self.widths):
            raise ValueError(f"widths must be positive integers, got {self.widths}")
        if self.resolution < 2 ** len(self.widths):
            raise ValueError(f"resolution {self.resolution} is too small for {len(self.widths)} stride-2 stages")


def _stage(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True),
        nn.Conv2d(c_out, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True),
    )  # fmt: skip


class AttributeClassifier(nn.Module):
    """Faces (N, 3, R, R) -> attribute logits (N, A); :meth:`features` gives the pooled features."""

    def __init__(self, config: ClassifierConfig | None = None):
        super().__init__()
        self.config = config or ClassifierConfig()
        widths = (3, *self.config.widths)
        self.body = nn.Sequential(*(_stage(a, b) for a, b in itertools.pairwise(widths)))
        self.head = nn.Linear(widths[-1], len(self.config.attributes))

    def prepare(self, images: Tensor) -> Tensor:
        """uint8 or [-1, 1] float faces at any square size -> float [-1, 1] at the classifier's resolution."""
        x = as_float(images)
        size, r = x.shape[-1], self.config.resolution
        if size == r:
            return x
        if size % r == 0:  # exact box filter, as downsample_pyramid makes the smaller scales
            return F.avg_pool2d(x, size // r)
        return F.interpolate(x, size=(r, r), mode="bilinear", antialias=True, align_corners=False)

    def features(self, x: Tensor) -> Tensor:
        """Prepared images -> (N, widths[-1]) globally pooled features."""
        return self.body(x).mean(dim=(2, 3))

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.features(x))

    @torch.inference_mode()
    def predict(self, images: Tensor, batch_size: int = 256) -> tuple[Tensor, Tensor]:
        """Probabilities (N, A) and features (N, F) on the CPU, for images of any size and dtype."""
        self.eval()
        device = next(self.parameters()).device
        probs, feats = [], []
        for batch in images.split(batch_size):
            f = self.features(self.prepare(batch.to(device)))
            probs.append(torch.sigmoid(self.head(f)).float().cpu())
            feats.append(f.float().cpu())
        return torch.cat(probs), torch.cat(feats)


def attribute_labels(records: list[Record], attributes: tuple[str, ...] = CLASSIFIER_ATTRIBUTES) -> Tensor:
    """(N, A) float 0/1 labels of ``attributes`` for records."""
    columns = [ATTRIBUTES.index(a) for a in attributes]
    return torch.tensor([[r.attributes[c] for c in columns] for r in records], dtype=torch.float32)


def load_labelled_faces(records: list[Record], resolution: int = LOAD_RESOLUTION) -> tuple[Tensor, list[Record]]:
    """uint8 faces (N, 3, R, R) for the readable records, and those records."""
    faces, _ = load_faces(records, resolution)
    kept = [(r, f) for r, f in zip(records, faces) if f is not None]
    if not kept:
        raise ValueError(f"none of the {len(records)} images could be read (the first: {records[0].path if records else '-'})")
    images = torch.stack([torch.from_numpy(np.array(f)) for _, f in kept]).permute(0, 3, 1, 2)
    return images.contiguous(), [r for r, _ in kept]


def train_classifier(
    images: Tensor,
    labels: Tensor,
    config: ClassifierConfig | None = None,
    *,
    epochs: int = 8,
    batch_size: int = 64,
    lr: float = 2e-3,
    seed: int = 0,
    device: str | torch.device = "cpu",
    log=None,
) -> AttributeClassifier:
    """Train on faces (N, 3, R, R) (uint8 or [-1, 1]) and 0/1 labels (N, A): AdamW, one-cycle
    schedule, horizontal flips and shifts of up to 1/16 of the image, balanced positive weights."""
    if len(images) != len(labels) or len(images) < 2:
        raise ValueError(f"need at least 2 images with one label row each, got {len(images)} images, {len(labels)} rows")
    torch.manual_seed(seed)
    device = torch.device(device)
    # channels_last: faster convolutions on the CPU (oneDNN) and on tensor cores.
    model = AttributeClassifier(config).to(device, memory_format=torch.channels_last)
    if labels.shape[1] != len(model.config.attributes):
        raise ValueError(f"labels have {labels.shape[1]} columns for {len(model.config.attributes)} attributes")
    with torch.no_grad():
        x_all = torch.cat([model.prepare(b) for b in images.split(1024)]).to(torch.float16)
    y_all = labels.float()
    positives = y_all.mean(0).clamp(1e-3, 1 - 1e-3)
    pos_weight = ((1 - positives) / positives).to(device)
    steps_per_epoch = math.ceil(len(x_all) / batch_size)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=epochs * steps_per_epoch)
    gen = torch.Generator().manual_seed(seed)
    r = model.config.resolution
    pad = max(1, r // 16)
    model.train()
    for epoch in range(epochs):
        order = torch.randperm(len(x_all), generator=gen)
        total = 0.0
        for idx in order.split(batch_size):
            if len(idx) < 2:  # batch norm needs two samples: a last batch of one is left out
                continue
            x = x_all[idx].float()
            flip = torch.rand(len(x), generator=gen) < 0.5
            x = torch.where(flip[:, None, None, None], x.flip(3), x)
            dx, dy = torch.randint(0, 2 * pad + 1, (2,), generator=gen).tolist()
            x = F.pad(x, (pad,) * 4, mode="replicate")[..., dy : dy + r, dx : dx + r]
            logits = model(x.to(device, memory_format=torch.channels_last))
            loss = F.binary_cross_entropy_with_logits(logits, y_all[idx].to(device), pos_weight=pos_weight)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item() * len(idx)
        if log:
            log(f"epoch {epoch + 1}/{epochs}: loss {total / len(x_all):.4f}")
    return model.eval()


def attribute_accuracy(model: AttributeClassifier, images: Tensor, labels: Tensor) -> dict[str, dict[str, float]]:
    """Per attribute: accuracy at 0.5, balanced accuracy (mean of the true positive and true negative
    rates), the majority-class accuracy (what always answering the commoner value scores) and the share
    of positives. Rates of a class absent from the labels are left out of the balanced accuracy."""
    probs, _ = model.predict(images)
    return binary_accuracy(probs >= 0.5, labels.bool(), model.config.attributes)


def binary_accuracy(predicted: Tensor, truth: Tensor, names: Sequence[str]) -> dict[str, dict[str, float]]:
    """The statistics of :func:`attribute_accuracy` for 0/1 predictions and truths (N, A), per name."""
    out = {}
    for i, name in enumerate(names):
        p, t = predicted[:, i], truth[:, i]
        rates = [float((p[t == c] == c).float().mean()) for c in (True, False) if (t == c).any()]
        share = float(t.float().mean())
        out[name] = {
            "accuracy": float((p == t).float().mean()),
            "balanced_accuracy": sum(rates) / len(rates),
            "majority_baseline": max(share, 1 - share),
            "positives": share,
        }
    return out


def mean_of(per_attribute: dict[str, dict[str, float]], key: str) -> float:
    """Unweighted mean of one statistic over attributes."""
    return sum(v[key] for v in per_attribute.values()) / len(per_attribute)


def save_classifier(model: AttributeClassifier, path: str | Path, info: dict) -> Path:
    """Write ``path`` (.safetensors) and its ``.json`` (config + ``info``); returns the weights path."""
    path = Path(path)
    if path.suffix != ".safetensors":
        raise ValueError(f"the classifier file must end in .safetensors, got {path}")
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    save_file(state, str(path))
    meta = {"format": FORMAT, "config": asdict(model.config), **info}
    path.with_suffix(".json").write_text(json.dumps(meta, indent=2), encoding="utf-8")
    return path


def load_classifier(path: str | Path, device: str | torch.device = "cpu") -> tuple[AttributeClassifier, dict]:
    """Read a classifier written by :func:`save_classifier`: (model in eval mode, its JSON)."""
    path = Path(path)
    meta_file = path.with_suffix(".json")
    if not path.is_file() or not meta_file.is_file():
        raise FileNotFoundError(
            f"attribute classifier {path} (and {meta_file.name} beside it) not found: "
            "train it with `python -m train classifier --data DIR`"
        )
    meta = read_json_object(meta_file)
    try:
        if meta.get("format") != FORMAT:
            raise ValueError(f"format {meta.get('format')!r}, expected {FORMAT!r}")
        model = AttributeClassifier(ClassifierConfig(**meta["config"]))
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        raise ValueError(f"{meta_file} is not an attribute classifier config: {e}") from None
    try:
        model.load_state_dict(read_state_dict(path))
    except RuntimeError as e:
        raise ValueError(f"{path} does not match {meta_file.name}: {e}") from None
    return model.to(device).eval(), meta


def accuracy_table(per_attribute: dict[str, dict[str, float]]) -> str:
    """Markdown table of :func:`attribute_accuracy`'s result, with the means in the last row."""
    rows = ["| Attribute | Accuracy | Balanced accuracy | Majority baseline | Positives |", "|---|---|---|---|---|"]
    keys = ("accuracy", "balanced_accuracy", "majority_baseline", "positives")
    for name, v in per_attribute.items():
        rows.append(f"| {name} | " + " | ".join(f"{v[k]:.3f}" for k in keys) + " |")
    rows.append("| **mean** | " + " | ".join(f"**{mean_of(per_attribute, k):.3f}**" for k in keys) + " |")
    return "\n".join(rows)
