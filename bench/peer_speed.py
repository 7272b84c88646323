"""A peer's training throughput on this machine, for bench/train_speed.py's table: lucidrains'
lightweight-gan (Liu et al., "Towards Faster and Stabilized GAN Training for High-fidelity Few-shot Image
Synthesis", ICLR 2021) at 128 px, float32, on random data.

    python -m venv /tmp/peer && /tmp/peer/bin/pip install torch==2.14.1 torchvision==0.29.1 lightweight-gan==1.2.1
    /tmp/peer/bin/python bench/peer_speed.py [--seconds 20]

Installed for the bench only (not a project dependency). Its Trainer moves everything to CUDA, so this runs
its networks and optimisers with the step of ``Trainer.train`` on the CPU: one D update (hinge loss, the
auxiliary reconstruction loss, a gradient penalty every 4th step) and one G update, with the settings its
``lightweight_gan`` command uses at ``--image-size 128``: batch 10 accumulated 4 times, latent 256, fmap_max
512, attention at 32 px, translation and cutout augmentation at the probability it sets itself for a
24,000-image folder. Prints one row in train_speed.py's columns (GFLOP per image: convolutions and matrix
products of a step without the penalty, as three in four are, from PyTorch's FLOP counter, per image).
A slow peer on this CPU: the warm-up, the counted step and four timed steps see 240 images.
"""

from __future__ import annotations

import argparse
import sys
import time

import torch
import torch.nn as nn
from torch.optim import Adam
from torch.utils.flop_counter import FlopCounterMode

# Its module asserts CUDA at import; nothing run here touches CUDA, so let the import through, then undo.
_cuda_is_available, torch.cuda.is_available = torch.cuda.is_available, lambda: True
from lightweight_gan import lightweight_gan as lw  # noqa: E402

torch.cuda.is_available = _cuda_is_available

IMAGE_SIZE, LATENT, BATCH, ACCUMULATE = 128, 256, 10, 4
AUG = {"prob": min(0.5, (1e5 - 24_000) * 3e-6), "types": ["cutout", "translation"]}  # Trainer.set_data_src's rule


class Peer:
    """lightweight-gan's G, D (wrapped for augmentation) and Adam(0.5, 0.9) optimisers, built as its Trainer
    builds them with ``antialias=False``, on the CPU."""

    def __init__(self, seed: int = 0):
        torch.manual_seed(seed)
        lw.Blur = nn.Identity  # Trainer.init_GAN's setting for antialias=False (the command's default)
        shape = dict(image_size=IMAGE_SIZE, fmap_max=512, attn_res_layers=[32])
        self.G = lw.Generator(latent_dim=LATENT, **shape)
        self.D = lw.Discriminator(disc_output_size=1, **shape)
        for m in (self.G, self.D):
            for layer in m.modules():
                if type(layer) in {nn.Conv2d, nn.Linear}:
                    nn.init.kaiming_normal_(layer.weight, a=0, mode="fan_in", nonlinearity="leaky_relu")
        self.D_aug = lw.AugWrapper(self.D, IMAGE_SIZE)
        self.G_opt = Adam(self.G.parameters(), lr=2e-4, betas=(0.5, 0.9))
        self.D_opt = Adam(self.D.parameters(), lr=2e-4, betas=(0.5, 0.9))
        self.steps = 0

    def step(self, reals: list[torch.Tensor]) -> None:
        """One ``Trainer.train`` step (without its EMA, checkpoints and sample grids): ``reals`` is its
        ``ACCUMULATE`` batches of ``BATCH`` images, float in [0, 1], (BATCH, 3, 128, 128)."""
        gp = self.steps % 4 == 0
        self.D_opt.zero_grad()
        for real in reals:
            real = real.clone()
            with torch.no_grad():
                fake = self.G(torch.randn(BATCH, LATENT))
            if gp:
                real.requires_grad_()
            fake, (fake_out, fake_out_32, _) = self.D_aug(
                fake, detach=True, input_requires_grad=gp, return_discr_input=True, **AUG
            )
            real_out, real_out_32, aux = self.D_aug(real, calc_aux_loss=True, **AUG)
            loss = lw.hinge_loss(real_out, fake_out) + lw.hinge_loss(real_out_32, fake_out_32) + aux
            if gp:
                grads = torch.autograd.grad(
                    [real_out, real_out_32, fake_out, fake_out_32], [real, fake],
                    grad_outputs=[torch.ones_like(t) for t in (real_out, real_out_32, fake_out, fake_out_32)],
                    create_graph=True,
                )  # fmt: skip
                loss = loss + 10 * (torch.cat(grads).reshape(2 * BATCH, -1).norm(2, dim=1) ** 2).mean()
            (loss / ACCUMULATE).backward()
        self.D_opt.step()
        self.G_opt.zero_grad()
        for _ in reals:
            fake_out, fake_out_32, _ = self.D_aug(self.G(torch.randn(BATCH, LATENT)), **AUG)
            ((lw.gen_hinge_loss(fake_out, None) + lw.gen_hinge_loss(fake_out_32, None)) / ACCUMULATE).backward()
        self.G_opt.step()
        self.steps += 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="timed seconds, after warm-up")
    args = parser.parse_args()
    g = torch.Generator().manual_seed(0)
    reals = [torch.rand(BATCH, 3, IMAGE_SIZE, IMAGE_SIZE, generator=g) for _ in range(ACCUMULATE)]
    peer = Peer()
    peer.step(reals)  # warm-up, with the gradient penalty (PyTorch's FLOP counter cannot follow autograd.grad)
    counter = FlopCounterMode(display=False)
    with counter:  # a step without it, as three in four are
        peer.step(reals)
    gflop = counter.get_total_flops() / (BATCH * ACCUMULATE) / 1e9
    print(f"GFLOP per image {gflop:.2f}; timing steps of {BATCH * ACCUMULATE} images", file=sys.stderr, flush=True)
    start, steps = time.perf_counter(), 0
    while time.perf_counter() - start < args.seconds or steps < 4:  # steps 2-5 and on: one in four penalised
        peer.step(reals)
        steps += 1
        print(f"step {steps}: {time.perf_counter() - start:.0f} s", file=sys.stderr, flush=True)  # it is slow here
    rate = steps * BATCH * ACCUMULATE / (time.perf_counter() - start)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    print("| candidate | G widths 4..128 | D widths 4..128 | batch | precision | GFLOP/img | img/s |")
    print("|---|---|---|---:|---|---:|---:|")
    print(f"| peer: lightweight-gan 1.2.1, its 128 px defaults | fmap_max 512 | fmap_max 512 | "
          f"{BATCH}x{ACCUMULATE} | fp32 | {gflop:.2f} | {rate:.1f} |")  # fmt: skip


if __name__ == "__main__":
    main()
