"""The sentence-encoder contract, and the text rule: what a description may be, for every way one
comes in (the Python API, the command line and the app all go through :func:`check_text` and
:meth:`TextEncoder.check_length`)."""

from __future__ import annotations

import functools
from abc import ABC, abstractmethod

import torch
from torch import Tensor

# A bound on the work one description can cause before the encoder's own limit is checked; far above
# what any encoder here reads (all-MiniLM-L6-v2: 254 word pieces, about 1,000 characters of English).
MAX_TEXT_CHARS = 10_000


def check_text(text: object) -> str:
    """A description with its whitespace collapsed; a ValueError when it is not a string, empty, or over
    ``MAX_TEXT_CHARS`` characters."""
    if not isinstance(text, str):
        raise ValueError(f"a description must be a string, got {type(text).__name__}")
    if len(text) > MAX_TEXT_CHARS:
        raise ValueError(f"a description may hold at most {MAX_TEXT_CHARS} characters, got {len(text)}")
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as e:  # a lone surrogate half ("\ud800"), which no encoder's tokenizer takes
            raise ValueError(
                f"a description must be Unicode text, but character {e.start + 1} is a lone surrogate (half of a pair)"
            ) from None
    text = " ".join(text.split())
    if not text:
        raise ValueError("the description is empty: describe the face, e.g. 'a smiling woman with blond hair'")
    return text


# Abbreviations after which a full stop ends no sentence ("Mr. Okafor", "e.g. a hat"): Punkt learns these from
# a corpus, and its trained English model is an nltk data download, so the common ones are given here.
ABBREVIATIONS = frozenset({
    "mr", "mrs", "ms", "dr", "prof", "st", "jr", "sr", "mt", "lt", "col", "capt", "sgt", "gen", "rev", "e.g", "i.e",
    "vs", "etc", "approx", "u.s", "u.k", "ft", "jan", "feb", "aug", "sept", "oct", "nov", "dec",
})  # fmt: skip


@functools.cache
def _punkt():
    from nltk.tokenize.punkt import PunktParameters, PunktSentenceTokenizer

    parameters = PunktParameters()
    parameters.abbrev_types = set(ABBREVIATIONS)
    return PunktSentenceTokenizer(parameters)


def split_sentences(text: str) -> list[str]:
    """The sentences of ``text``, each as written (nltk's Punkt sentence tokenizer, Kiss & Strunk 2006, with
    :data:`ABBREVIATIONS` and no data download): "Mr. Okafor is a postman. He is bald." -> two sentences."""
    return _punkt().tokenize(text)


class TextEncoder(ABC):
    """A sentence encoder. Subclasses set ``name`` and ``dim`` and implement ``_encode``."""

    name: str
    dim: int
    max_tokens: int | None = None  # the word pieces the encoder reads (None: all of them)

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

    def count_tokens(self, text: str) -> int:
        """The word pieces ``text`` is split into (only encoders with ``max_tokens`` need it)."""
        raise NotImplementedError(f"{type(self).__name__} reads texts of any length")

    def check_length(self, text: str) -> None:
        """A ValueError saying how much would be read when ``text`` is longer than the encoder reads:
        never a silent cut (words past the limit would not reach the model at all)."""
        if self.max_tokens is None:
            return
        n = self.count_tokens(text)
        if n > self.max_tokens:
            raise ValueError(
                f"the description is {n} word pieces long, but the text encoder ({self.name}) reads only the first "
                f"{self.max_tokens} (about {round(self.max_tokens * 4, -2):,} characters of English): shorten it, and put what "
                "matters for the face first"
            )

    def options(self) -> dict[str, str]:
        """What besides the name is needed to rebuild this encoder (stored in config.json)."""
        return {}
