"""The sample sheet: a model's faces at every scale for the sample descriptions, one row each.
"""

from __future__ import annotations

from PIL import Image, ImageDraw

from t2f.pipeline import scales_strip
from train.fit.snapshots import LABEL


def description_sheet(pipe, prompts: list[str], seed: int) -> Image.Image:
    """One row per description: its face at every scale (4 px to full size, upscaled with nearest
    neighbours), the description written above it. ``pipe`` is a :class:`t2f.TextToFace`."""
    rows = []
    for prompt in prompts:
        strip = scales_strip(pipe(prompt, seed=seed).images)
        row = Image.new("RGB", (strip.width, strip.height + LABEL), "white")
        ImageDraw.Draw(row).text((2, 2), f"{prompt} (seed {seed})", fill="black")
        row.paste(strip, (0, LABEL))
        rows.append(row)
    sheet = Image.new("RGB", (rows[0].width, sum(r.height for r in rows)), "white")
    for i, row in enumerate(rows):
        sheet.paste(row, (0, i * row.height))
    return sheet
