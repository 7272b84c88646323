"""Sentence encoders: a description -> a fixed-size embedding that conditions the model.

Every encoder has a ``name`` (recorded in a model's config.json), a ``dim`` and
``encode(list[str]) -> Tensor (N, dim)`` on the CPU in float32. Encoders load their weights
lazily, on the first ``encode``, and :func:`get_text_encoder` hands out one cached instance
per (name, options).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping

from t2f.text.base import MAX_TEXT_CHARS, TextEncoder, check_text
from t2f.text.infersent import InferSentEncoder
from t2f.text.minilm import MINILM_NAME, MiniLMEncoder

__all__ = [
    "ENCODERS", "MAX_TEXT_CHARS", "MINILM_NAME", "InferSentEncoder", "MiniLMEncoder", "TextEncoder", "check_text",
    "get_text_encoder",
]  # fmt: skip

# Encoder names as written in config.json -> factories taking the config's text_encoder_options.
ENCODERS: dict[str, Callable[..., TextEncoder]] = {MINILM_NAME: MiniLMEncoder, "infersent": InferSentEncoder.from_options}

_cache: dict[tuple, TextEncoder] = {}
_cache_lock = threading.Lock()


def get_text_encoder(
    name: str = MINILM_NAME, options: Mapping[str, str] | None = None, device: str | None = None
) -> TextEncoder:
    """The shared encoder called ``name`` (built once per name, options and device; weights load on first
    use), on ``device`` ("cuda", "cpu", ...; None: the encoder's own default)."""
    if name not in ENCODERS:
        raise ValueError(f"unknown text encoder {name!r}; known: {sorted(ENCODERS)}")
    options = {**(options or {}), **({"device": device} if device else {})}
    key = (name, tuple(sorted(options.items())))
    with _cache_lock:
        if key not in _cache:
            _cache[key] = ENCODERS[name](**options)
        return _cache[key]
