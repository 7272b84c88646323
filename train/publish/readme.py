"""README's generated blocks: text between ``<!-- name:start -->`` and ``<!-- name:end -->`` markers.
"""

from __future__ import annotations

import re
from pathlib import Path


def readme_markers(name: str) -> tuple[str, str]:
    """The comments that open and close README's generated block ``name``."""
    return f"<!-- {name}:start -->", f"<!-- {name}:end -->"


def update_readme_block(readme: Path, name: str, body: str) -> None:
    """Replace the text between README's ``<!-- name:start -->`` and ``<!-- name:end -->`` markers with ``body``."""
    start_marker, end_marker = readme_markers(name)
    text = readme.read_text(encoding="utf-8")
    start, end = text.find(start_marker), text.find(end_marker)
    if start < 0 or end < start:
        raise ValueError(f"{readme} has no {start_marker} ... {end_marker} block to put the {name} in")
    block = f"{start_marker}\n{body}\n{end_marker}"
    readme.write_text(text[:start] + block + text[end + len(end_marker) :], encoding="utf-8")


def readme_blocks(readme: Path) -> set[str]:
    """The names of the generated blocks ``readme`` has."""
    return set(re.findall(r"<!-- ([\w-]+):start -->", readme.read_text(encoding="utf-8")))
