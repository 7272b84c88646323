"""Loss terms as small pure functions of discriminator scores and tensors."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


def ra_hinge_d(real: Tensor, fake: Tensor) -> Tensor:
    """Relativistic average hinge loss of the discriminator (MSG-GAN): real should beat the average
    fake by a margin of 1, and fake should lose to the average real by the same margin."""
    return F.relu(1 - (real - fake.mean())).mean() + F.relu(1 + (fake - real.mean())).mean()


def ra_hinge_g(real: Tensor, fake: Tensor) -> Tensor:
    """The generator's side of :func:`ra_hinge_d`: the roles of real and fake swapped."""
    return F.relu(1 + (real - fake.mean())).mean() + F.relu(1 - (fake - real.mean())).mean()


def kl_standard_normal(mu: Tensor, logvar: Tensor) -> Tensor:
    """KL(N(mu, exp(logvar)) || N(0, I)) per code dimension, averaged over dimensions and batch
    (conditioning augmentation's regulariser at StackGAN's scale: its code takes the mean over all
    elements). The sum over the 128 dimensions would weigh ~100 against an adversarial loss of ~2
    at initialisation and squeeze the text out of the code."""
    return 0.5 * (mu.pow(2) + logvar.exp() - 1 - logvar).mean()


def mode_seeking(image_a: Tensor, image_b: Tensor, noise_a: Tensor, noise_b: Tensor, eps: float = 1e-5) -> Tensor:
    """Mode-seeking term (Mao et al., CVPR 2019) for pairs of fakes that share their text: the
    reciprocal of (mean image distance / mean noise distance), so minimising it pushes different
    noise to different faces. Measured on the full-size output only, as the paper does: a mean over
    every scale gives each 4x4 pixel 1024 times the pull of a 128x128 one, and the generator answered
    with seed-specific colour noise at 4x4 and 8x8 instead of different faces."""
    image_dist = (image_a - image_b).abs().mean()
    noise_dist = (noise_a - noise_b).abs().mean()
    return 1 / (image_dist / noise_dist + eps)


def scale_gaps(images: list[Tensor]) -> list[Tensor]:
    """The scale gap of a generator's outputs (smallest to largest, each (N, 3, r, r)): for every output but
    the largest, the mean absolute difference from the largest average-pooled to its size, one value per
    image, (N,). Zero for a real pyramid, which is made by that pooling."""
    top = images[-1]
    return [(x - F.avg_pool2d(top, top.shape[-1] // x.shape[-1])).abs().mean(dim=(1, 2, 3)) for x in images[:-1]]


def scale_consistency(images: list[Tensor]) -> Tensor:
    """Scale-consistency term: the mean :func:`scale_gaps` of the outputs, with the largest detached, so
    each smaller image is pulled toward the pooled full-size face and the full-size face is not pulled
    toward them. Not in MSG-GAN, whose scales are tied only through D: there the 8x8 output stayed
    speckled colour where the pooled face has its layout (the demo shows both side by side)."""
    return torch.stack([gap.mean() for gap in scale_gaps([*images[:-1], images[-1].detach()])]).mean()


def r1_penalty(scores: Tensor, inputs: list[Tensor]) -> Tensor:
    """R1 (Mescheder et al. 2018): squared gradient norm of the real scores w.r.t. the real inputs,
    summed over every scale the discriminator reads, averaged over the batch."""
    grads = torch.autograd.grad(scores.sum(), inputs, create_graph=True)
    return sum(g.pow(2).sum(dim=(1, 2, 3)) for g in grads).mean()
