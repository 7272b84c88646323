"""Differentiable augmentation (DiffAugment, Zhao et al. 2020) for MSG-GAN image pyramids.

The discriminator sees every scale, so one sample's scales must stay the same picture after
augmentation. Parameters are drawn once per sample, in units of the image (fractions of its size),
and applied to each scale at that scale's resolution: a translation of 16 px at 128 is 8 px at 64
and 0.5 px (bilinear) at 4. Real and fake pyramids go through the same code, so the discriminator
cannot tell them apart by how they were augmented; the generator gets gradients through all of it.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

TRANSLATION = 1 / 8  # max shift, fraction of the image size (DiffAugment's ratio)
CUTOUT = 1 / 2  # side of the cut-out square, fraction of the image size


class Augment(nn.Module):
    """Applies the enabled ops, each to a random subset of samples with probability ``p`` (fixed by
    the config, so there is no state to checkpoint)."""

    def __init__(self, ops: tuple[str, ...], p: float = 1.0):
        super().__init__()
        self.ops = tuple(ops)
        self.p = float(p)

    def forward(self, pyramid: list[Tensor], generator: torch.Generator) -> list[Tensor]:
        """pyramid: list of (N, 3, r, r) smallest first -> augmented list, same shapes."""
        if not self.ops:
            return pyramid
        n, device = pyramid[0].shape[0], pyramid[0].device

        def rand(*shape: int) -> Tensor:
            return torch.rand(*shape, generator=generator, device=device)

        def chosen() -> Tensor:  # (N, 1, 1, 1) mask: which samples get this op
            return (rand(n) < self.p).float().view(n, 1, 1, 1)

        out = [x.float() for x in pyramid]
        if "color" in self.ops:
            brightness = (rand(n, 1, 1, 1) - 0.5) * chosen()
            saturation = 1 + (rand(n, 1, 1, 1) * 2 - 1) * chosen()
            contrast = 1 + (rand(n, 1, 1, 1) - 0.5) * chosen()
            out = [_color(x, brightness, saturation, contrast) for x in out]
        flip = ("flip" in self.ops) * (rand(n) < 0.5 * self.p).float()
        shift = ("translation" in self.ops) * (rand(n, 2) * 2 - 1) * TRANSLATION * (rand(n, 1) < self.p).float()
        if "flip" in self.ops or "translation" in self.ops:
            # Whole pixels at the top scale, so the largest image is shifted exactly.
            top = pyramid[-1].shape[-1]
            shift = torch.round(shift * top) / top
            out = [_flip_translate(x, flip, shift) for x in out]
        if "cutout" in self.ops:
            centre = rand(n, 2)
            keep = rand(n) >= self.p
            out = [_cutout(x, centre, keep) for x in out]
        return out


def _color(x: Tensor, brightness: Tensor, saturation: Tensor, contrast: Tensor) -> Tensor:
    x = x + brightness
    mean = x.mean(dim=1, keepdim=True)
    x = (x - mean) * saturation + mean
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return (x - mean) * contrast + mean


def _flip_translate(x: Tensor, flip: Tensor, shift: Tensor) -> Tensor:
    """Mirror horizontally where flip is 1, then shift by ``shift`` (fractions of the size), zero fill."""
    n = x.shape[0]
    theta = torch.zeros(n, 2, 3, device=x.device, dtype=x.dtype)
    theta[:, 0, 0] = 1 - 2 * flip
    theta[:, 1, 1] = 1
    theta[:, :, 2] = -2 * shift  # grid coordinates span 2 units across the image
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


def _cutout(x: Tensor, centre: Tensor, keep: Tensor) -> Tensor:
    """Zero a square of side CUTOUT around ``centre`` (fractions of the size), except where ``keep``."""
    r = x.shape[-1]
    pos = (torch.arange(r, device=x.device, dtype=x.dtype) + 0.5) / r  # pixel centres in [0, 1]
    inside_x = (pos[None, :] - centre[:, 0:1]).abs() < CUTOUT / 2  # (N, r)
    inside_y = (pos[None, :] - centre[:, 1:2]).abs() < CUTOUT / 2
    hole = inside_y[:, :, None] & inside_x[:, None, :] & ~keep.view(-1, 1, 1)
    return x * (~hole).unsqueeze(1).to(x.dtype)
