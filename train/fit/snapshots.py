"""Sample grids like the paper's Figure 2: fixed descriptions and seeds, one row per scale, one
column per moment of training.

Each snapshot is saved as ``samples/snapshot-<step>.png`` (rows: scales, columns: descriptions);
``samples/progress.png`` is rebuilt from the snapshots: for each description a block whose rows are
the scales and whose columns are training progress (at most ``MAX_COLUMNS``, evenly spaced, the
latest always last).
"""

from __future__ import annotations

import re
from pathlib import Path

import torch
import torch.nn.functional as F
from PIL import Image, ImageDraw
from torch import Tensor, nn

from t2f.files import GRID_NAME
from t2f.pipeline import to_pil
from train.eval.metrics import mean_pairwise_distance

CELL = 64  # display size of one image; smaller scales are upscaled with nearest neighbours
MAX_COLUMNS = 10
LABEL = 16  # pixels of text above each block
SNAPSHOT = re.compile(r"^snapshot-(\d{9})\.png$")
FOLDER = "samples"  # in the run folder: snapshots and the progress grid
DIVERSITY_SEEDS = 8
DIVERSITY_SIZE = 32  # faces compared as 32x32 pixels: layout and colour, not texture noise


@torch.no_grad()
def sample_diversity(G: nn.Module, text: Tensor, z: Tensor) -> dict[str, float]:
    """How different the generator's faces are, as mean pairwise distance of normalised pixels:
    ``seeds``, between the K noises of each description (averaged over descriptions), and
    ``texts``, between the descriptions at one noise. Near 0: the noise or the text is ignored."""

    def faces(z: Tensor, text: Tensor) -> Tensor:
        top = G(z, text)[-1].float()
        return F.adaptive_avg_pool2d(top, DIVERSITY_SIZE).flatten(1)

    k = len(z)
    per_text = [mean_pairwise_distance(faces(z, t.expand(k, -1))) for t in text]
    across = mean_pairwise_distance(faces(z[:1].expand(len(text), -1), text))
    return {"seeds": sum(per_text) / len(per_text), "texts": across}


def save_snapshot(folder: Path, images: list[Tensor], step: int) -> Path:
    """images: the generator's outputs (smallest first) for the fixed prompts -> snapshot PNG."""
    rows = [to_pil(x) for x in images]  # one list of PIL per scale
    sheet = Image.new("RGB", (len(rows[0]) * CELL, len(rows) * CELL))
    for r, row in enumerate(rows):
        for c, im in enumerate(row):
            sheet.paste(im.resize((CELL, CELL), Image.NEAREST), (c * CELL, r * CELL))
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"snapshot-{step:09d}.png"
    sheet.save(path)
    return path


def build_progress_grid(folder: Path, prompts: list[str], scales: list[int]) -> Path | None:
    """Compose samples/progress.png from the snapshots in ``folder``; None when there are none."""
    snaps = sorted(p for p in folder.glob("snapshot-*.png") if SNAPSHOT.match(p.name))
    if not snaps:
        return None
    if len(snaps) > MAX_COLUMNS:
        picks = {round(i * (len(snaps) - 1) / (MAX_COLUMNS - 1)) for i in range(MAX_COLUMNS)}
        snaps = [snaps[i] for i in sorted(picks)]
    sheets = [Image.open(p).convert("RGB") for p in snaps]
    steps = [int(SNAPSHOT.match(p.name).group(1)) for p in snaps]
    block_h = LABEL + len(scales) * CELL
    grid = Image.new("RGB", (40 + len(sheets) * CELL, LABEL + len(prompts) * block_h), "white")
    draw = ImageDraw.Draw(grid)
    for c, step in enumerate(steps):
        draw.text((40 + c * CELL + 2, 2), f"{step}", fill="black")
    for b, prompt in enumerate(prompts):
        top = LABEL + b * block_h
        draw.text((2, top + 2), prompt[:90], fill="black")
        for r, scale in enumerate(scales):
            draw.text((2, top + LABEL + r * CELL + CELL // 2 - 6), f"{scale}px", fill="black")
        for c, sheet in enumerate(sheets):
            column = sheet.crop((b * CELL, 0, (b + 1) * CELL, len(scales) * CELL))
            grid.paste(column, (40 + c * CELL, top + LABEL))
    path = folder / GRID_NAME
    grid.save(path)
    return path
