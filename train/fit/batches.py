"""Batches from a pack: which images and captions each step of each process sees, on its device.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch import Tensor

from train.data.pack import Pack
from train.fit.config import TrainConfig
from train.fit.distributed import Dist


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
