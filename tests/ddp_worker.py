"""Run by test_train under torchrun: fit, then compare every parameter across processes, and the
averaged gradients of the processes with one process's gradient on the same global batch."""

import dataclasses
import json
import sys
from pathlib import Path

import torch
import torch.distributed as dist

from t2f.model import downsample_pyramid
from train.fit.config import TrainConfig
from train.data.pack import load_pack
from train.fit.batches import BatchSource
from train.fit.distributed import Dist
from train.fit.loop import fit
from train.fit.step import build_models
from train.fit.step import all_reduce_mean_


def gradients(cfg: TrainConfig, pack, d: Dist) -> torch.Tensor:
    """All G and D gradients, averaged over processes as train_step does, of the mean D score of this
    process's share of global batch 0 (real) and of G's faces from a shared noise draw (fake)."""
    m = build_models(cfg, d.device)
    _, images, text = next(BatchSource(pack, cfg, d).batches(0))
    local = len(images)
    z = torch.randn(cfg.batch_size, cfg.model.z_dim, generator=torch.Generator().manual_seed(1))[d.rank * local : (d.rank + 1) * local]
    real = downsample_pyramid(images.float() / 127.5 - 1, len(cfg.model.resolutions))
    (m.D(real, text).mean() + m.D(m.G(z, text), text).mean()).backward()
    grads = [p.grad for net in (m.G, m.D) for p in net.parameters()]
    all_reduce_mean_(grads, d)
    return torch.cat([g.flatten() for g in grads])


def gradient_check(cfg: TrainConfig, pack_path: str) -> dict:
    """What is exactly true of several processes: each takes its own slice of the same global batch and
    they average gradients, so the average equals one process's gradient on the whole batch for a loss
    that is a mean of per-sample terms. Training's own loss is not one: the relativistic averages and the
    minibatch-stddev groups are taken per process, so 2 x 4 is not 1 x 8 in general. Minibatch stddev
    with groups of 1 makes D per-sample; with groups of 4 it is not (reported, not equal)."""
    pack, out = load_pack(pack_path), {}
    for group in (1, 4):
        c = dataclasses.replace(cfg, model=dataclasses.replace(cfg.model, mbstd_group=group))
        averaged = gradients(c, pack, Dist(dist.get_rank(), dist.get_world_size()))
        if dist.get_rank() == 0:
            single = gradients(c, pack, Dist(0, 1))  # world 1: no all_reduce
            out[f"mbstd_{group}"] = {"max_difference": float((averaged - single).abs().max()), "scale": float(single.abs().max())}
    return out


def main(pack: str, run: str, config: str) -> None:
    cfg = TrainConfig.from_file(config)
    result = fit(cfg, Path(pack), Path(run))
    # Every process holds its own copy: after averaged updates they must be identical.
    models = result.models
    mine = torch.cat([p.detach().flatten().float() for net in (models.G, models.D) for p in net.parameters()])
    gathered = [torch.zeros_like(mine) for _ in range(dist.get_world_size())]
    dist.all_gather(gathered, mine)
    gradient = gradient_check(cfg, pack)
    if dist.get_rank() == 0:
        check = {
            "world": dist.get_world_size(),
            "steps": result.step,
            "max_param_difference": max(float((g - gathered[0]).abs().max()) for g in gathered),
            "gradients": gradient,
        }
        (Path(run) / "ddp_check.json").write_text(json.dumps(check))
    # Rank 0 works on alone above; a peer that tore gloo down meanwhile aborted it now and then (SIGABRT).
    dist.barrier()
    dist.destroy_process_group()


if __name__ == "__main__":
    main(*sys.argv[1:])
