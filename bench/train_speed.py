"""Training throughput of candidate recipes on this machine: img/s and GFLOP per image of the project's
own ``train_step`` on random data, fp32 and bf16.

    python bench/train_speed.py                      # every candidate, 20 s each after warm-up
    python bench/train_speed.py --seconds 10 --only cpu-small gpu

Prints one Markdown table. GFLOP per image counts one whole step (D and G updates) divided by the
batch, from PyTorch's FLOP counter (convolutions and matrix products only).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from train.fit.config import TrainConfig  # noqa: E402
from train.fit.distributed import Dist  # noqa: E402
from train.fit.step import build_models, train_step  # noqa: E402

CONFIGS = Path(__file__).resolve().parents[1] / "train" / "configs"


def _widths(*w: int) -> dict[int, int]:
    return dict(zip((4, 8, 16, 32, 64, 128), w))


def candidates() -> dict[str, TrainConfig]:
    """Named recipes: the configs in train/configs and the width/batch variants they were chosen from."""
    gpu = TrainConfig.from_file(CONFIGS / "celeba128.json")
    cpu = TrainConfig.from_file(CONFIGS / "celeba128-cpu.json")
    v2 = TrainConfig.from_file(CONFIGS / "celeba128-v2-cpu.json")
    base = dict(cpu.to_dict(), compile=False)

    def variant(g: dict[int, int], d: dict[int, int], **changes) -> TrainConfig:
        data = dict(base, **changes)
        data["model"] = dict(base["model"], channels=g, d_channels=d)
        return TrainConfig.from_dict(data)

    return {
        "gpu (celeba128.json)": TrainConfig.from_dict(dict(gpu.to_dict(), compile=False, batch_size=32)),
        "G 256..16, D 256..8": variant(_widths(256, 256, 128, 64, 32, 16), _widths(256, 128, 64, 32, 16, 8)),
        "G 256..8, D 256..8": variant(_widths(256, 128, 64, 32, 16, 8), _widths(256, 128, 64, 32, 16, 8)),
        "cpu (celeba128-cpu.json)": cpu,
        "v2 cpu (celeba128-v2-cpu.json: G and D skips)": v2,
        "cpu, batch 64": variant(cpu.model.channels, cpu.model.d_channels, batch_size=64),
    }


def gflop_per_image(cfg: TrainConfig) -> float:
    m = build_models(cfg, torch.device("cpu"))
    images, text = _batch(cfg, 0)
    counter = FlopCounterMode(display=False)
    with counter:
        train_step(m, cfg, Dist(), 0, images, text)
    return counter.get_total_flops() / cfg.batch_size / 1e9


def images_per_second(cfg: TrainConfig, seconds: float, warmup: int = 3) -> float:
    m = build_models(cfg, torch.device("cpu"))
    batches = [_batch(cfg, i) for i in range(4)]
    for step in range(warmup):
        train_step(m, cfg, Dist(), step, *batches[step % 4])
    start, step = time.perf_counter(), warmup
    while time.perf_counter() - start < seconds or step < warmup + 2:
        train_step(m, cfg, Dist(), step, *batches[step % 4])
        step += 1
    return (step - warmup) * cfg.batch_size / (time.perf_counter() - start)


def _batch(cfg: TrainConfig, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    r = cfg.model.resolution
    images = torch.randint(0, 256, (cfg.batch_size, 3, r, r), generator=g, dtype=torch.uint8)
    return images, torch.randn(cfg.batch_size, cfg.model.text_dim, generator=g)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="timed seconds per row, after warm-up")
    parser.add_argument("--only", nargs="*", help="substrings of the candidate names to run")
    parser.add_argument("--precisions", nargs="*", default=["fp32", "bf16"], choices=("fp32", "bf16"))
    args = parser.parse_args()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    print("| candidate | G widths 4..128 | D widths 4..128 | batch | precision | GFLOP/img | img/s |")
    print("|---|---|---|---:|---|---:|---:|")
    for name, cfg in candidates().items():
        if args.only and not any(s in name for s in args.only):
            continue
        flops = gflop_per_image(cfg)
        for precision in args.precisions:
            run = TrainConfig.from_dict(dict(cfg.to_dict(), precision=precision))
            rate = images_per_second(run, args.seconds)
            g = ",".join(str(w) for w in cfg.model.channels.values())
            d = ",".join(str(w) for w in cfg.model.d_channels.values())
            print(f"| {name} | {g} | {d} | {cfg.batch_size} | {precision} | {flops:.2f} | {rate:.1f} |", flush=True)


if __name__ == "__main__":
    main()
