"""Run by test_train under torchrun: fit, then compare every parameter across processes."""

import json
import sys
from pathlib import Path

import torch
import torch.distributed as dist

from train.config import TrainConfig
from train.loop import fit


def main(pack: str, run: str, config: str) -> None:
    cfg = TrainConfig.from_file(config)
    result = fit(cfg, Path(pack), Path(run))
    # Every process holds its own copy: after averaged updates they must be identical.
    models = result.models
    mine = torch.cat([p.detach().flatten().float() for net in (models.G, models.D) for p in net.parameters()])
    gathered = [torch.zeros_like(mine) for _ in range(dist.get_world_size())]
    dist.all_gather(gathered, mine)
    if dist.get_rank() == 0:
        check = {
            "world": dist.get_world_size(),
            "steps": result.step,
            "max_param_difference": max(float((g - gathered[0]).abs().max()) for g in gathered),
        }
        (Path(run) / "ddp_check.json").write_text(json.dumps(check))
    dist.destroy_process_group()


if __name__ == "__main__":
    main(*sys.argv[1:])
