"""How much does each scale's own input move the discriminator's score?

    python -m bench.d_scale_sensitivity --weights weights --pack cache/celeba-train-128px-...pack

MSG-GAN's generator learns a scale's RGB output only through the discriminator's input at that scale.
For a batch of real faces (their pyramid) and of generated ones (the training G, seeded noise), the
table gives, per scale r, the mean norm of the gradient of D's score with respect to the r px image
("direct") and, for comparison, the gradient of the same low-frequency change made through the top
image (its gradient summed over each r px cell: "via top"). A direct/via-top ratio well below 1 means
D barely reads that scale by itself, so G's output there is left loose (``ModelConfig.d_rgb_skips``).
Reads G and D from the committed training state (``weights/training_state.safetensors``).
"""

from __future__ import annotations

import argparse

import numpy as np
import torch
import torch.nn.functional as F

from t2f.model import Discriminator, downsample_pyramid
from train.fit.config import TrainConfig
from train.data.pack import load_pack
from train.fit.step import build_models
from train.eval.metrics import as_float
from train.fit.state import load_training_state


def sensitivity(D: Discriminator, pyramid: list[torch.Tensor], text: torch.Tensor) -> list[tuple[int, float, float]]:
    """(scale, direct gradient norm, via-top gradient norm) per scale, smallest first, batch means."""
    pyramid = [x.detach().clone().requires_grad_(True) for x in pyramid]
    D(pyramid, text).sum().backward()
    top = pyramid[-1].grad
    rows = []
    for x in pyramid:
        f = top.shape[-1] // x.shape[-1]
        via_top = F.avg_pool2d(top, f) * f * f  # d score / d (a constant change over each f x f cell)
        rows.append((x.shape[-1], x.grad.flatten(1).norm(dim=1).mean().item(), via_top.flatten(1).norm(dim=1).mean().item()))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--weights", default="weights", help="folder with training_state.safetensors")
    parser.add_argument("--pack", required=True, help="training pack (python -m train prepare)")
    parser.add_argument("--n", type=int, default=64, help="faces per batch")
    args = parser.parse_args()

    state = load_training_state(args.weights)
    cfg = TrainConfig.from_dict(state["config"])
    models = build_models(cfg, torch.device("cpu"))
    models.load_state_dict(state["models"])
    torch.manual_seed(0)
    pack = load_pack(args.pack)
    n = min(args.n, len(pack))
    real = as_float(torch.from_numpy(np.stack([pack.image(i) for i in range(n)])).permute(0, 3, 1, 2))
    text = pack.embeddings[:n, 0].float()
    with torch.no_grad():
        fake = models.G(torch.randn(n, cfg.model.z_dim), text)
    D = models.D
    tables = {"real": sensitivity(D, downsample_pyramid(real, len(fake)), text), "generated": sensitivity(D, fake, text)}
    print(f"D of {args.weights} (step {state['step']}, {state['nimg']:,} images; d_rgb_skips={cfg.model.d_rgb_skips}), {n} faces")
    print("| scale | real: direct | real: via top | real: ratio | generated: direct | generated: via top | generated: ratio |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for (r, rd, rv), (_, gd, gv) in zip(tables["real"], tables["generated"], strict=True):
        print(f"| {r} px | {rd:.3f} | {rv:.3f} | {rd / rv:.2f} | {gd:.3f} | {gv:.3f} | {gd / gv:.2f} |")


if __name__ == "__main__":
    main()
