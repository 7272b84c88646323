"""InferSent (Conneau et al., 2017), the sentence encoder of the T2F paper, behind :class:`TextEncoder`.

InferSent runs a one-layer bidirectional LSTM over pre-trained word vectors and max-pools its
outputs over time: 2 x 2048 = 4096 dimensions for the released models. Two releases exist, both
from https://github.com/facebookresearch/InferSent:

- version 1: ``infersent1.pkl``, trained on GloVe ``glove.840B.300d.txt``; sentences are wrapped
  in ``<s>`` ... ``</s>`` and tokenized with nltk's ``word_tokenize``;
- version 2: ``infersent2.pkl``, trained on fastText ``crawl-300d-2M.vec``; sentences are wrapped in
  ``<p>`` ... ``</p>`` and the tokens are made Moses-like ("does n't" -> "doesn 't").

The ``.pkl`` files are torch-saved state dicts (``enc_lstm.weight_ih_l0`` ...); they load into
:class:`BiLSTMMax` as they are, with ``torch.load(..., weights_only=True)``. The word-vector files
are several GB of text: :class:`WordVectors` streams one once to index it and afterwards reads
each needed word with one seek. nltk is imported on first use only.
"""

from __future__ import annotations

import hashlib
import logging
import os
import pickle
import re
import threading
import warnings
from array import array
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import BinaryIO

import numpy as np
import torch
from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence, pad_sequence

from t2f.files import atomic_path, default_device
from t2f.text.base import TextEncoder, split_sentences

log = logging.getLogger(__name__)

MODEL_ENV = "T2F_INFERSENT_MODEL"  # replaces a model_path recorded in config.json that is missing here
VECTORS_ENV = "T2F_WORD_VECTORS"  # the same for the word-vector file
REPO_URL = "https://github.com/facebookresearch/InferSent"
# What each version was trained with (file names and download addresses from the reference README).
OFFICIAL = {
    1: {
        "model": "infersent1.pkl",
        "model_url": "https://dl.fbaipublicfiles.com/infersent/infersent1.pkl",
        "vectors": "glove.840B.300d.txt",
        "vectors_url": "https://nlp.stanford.edu/data/glove.840B.300d.zip",
    },
    2: {
        "model": "infersent2.pkl",
        "model_url": "https://dl.fbaipublicfiles.com/infersent/infersent2.pkl",
        "vectors": "crawl-300d-2M.vec",
        "vectors_url": "https://dl.fbaipublicfiles.com/fasttext/vectors-english/crawl-300d-2M.vec.zip",
    },
}
MARKERS = {1: ("<s>", "</s>"), 2: ("<p>", "</p>")}  # begin / end of sentence words per version
STATE_KEYS = tuple(
    f"enc_lstm.{kind}_{part}_l0{suffix}" for suffix in ("", "_reverse") for kind in ("weight", "bias") for part in ("ih", "hh")
)
BATCH_SIZE = 64
INDEX_FORMAT = 1  # bump when the index file layout changes: old index files are then rebuilt
_MEMO_LIMIT = 50_000  # words kept in memory (60 MB of 300-d vectors) before the memo is cleared


def default_cache_dir() -> Path:
    """Where word-vector indexes go: ``$XDG_CACHE_HOME/t2f/infersent`` (default ``~/.cache/t2f/infersent``)."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "t2f" / "infersent"


# --- the network ----------------------------------------------------------------------------------


class BiLSTMMax(nn.Module):
    """InferSent's encoder: a one-layer BiLSTM over word vectors, max-pooled over the words.

    The parameter names are those of the released state dicts (``enc_lstm.*``), so they load unchanged.
    Pooling takes the maximum over the real words of each sentence only. The reference's version 2
    does the same (it masks padding); its version 1 also lets the zero padding of a batch into the
    maximum, so a sentence's embedding there depends on the longest sentence beside it. Here every
    sentence gets the embedding the reference gives it when encoded on its own, whatever the batch.
    """

    def __init__(self, word_dim: int = 300, hidden: int = 2048):
        super().__init__()
        self.enc_lstm = nn.LSTM(word_dim, hidden, num_layers=1, bidirectional=True)

    @property
    def word_dim(self) -> int:
        return self.enc_lstm.input_size

    @property
    def hidden(self) -> int:
        return self.enc_lstm.hidden_size

    def forward(self, words: Tensor, lengths: Tensor) -> Tensor:
        """Padded word vectors (T, N, word_dim) and lengths (N,), all >= 1 -> embeddings (N, 2 * hidden)."""
        packed = pack_padded_sequence(words, lengths.cpu(), enforce_sorted=False)
        out, _ = self.enc_lstm(packed)
        out, _ = pad_packed_sequence(out, padding_value=float("-inf"))  # padding never wins the max
        return out.max(dim=0).values

    @classmethod
    def from_state_dict(cls, state: Mapping[str, Tensor], source: str = "the state dict") -> BiLSTMMax:
        """A network sized after ``state`` (released layout) with its weights loaded, or a ValueError."""
        missing = [k for k in STATE_KEYS if k not in state]
        unexpected = sorted(set(state) - set(STATE_KEYS))
        if missing or unexpected:
            raise ValueError(
                f"{source} is not an InferSent encoder: missing {missing}, unexpected {unexpected[:5]} "
                f"(expected exactly {list(STATE_KEYS)})"
            )
        weight_ih = state["enc_lstm.weight_ih_l0"]
        if weight_ih.ndim != 2 or weight_ih.shape[0] % 4:
            raise ValueError(f"{source}: enc_lstm.weight_ih_l0 has shape {tuple(weight_ih.shape)}, expected (4 * hidden, word_dim)")
        network = cls(word_dim=weight_ih.shape[1], hidden=weight_ih.shape[0] // 4)
        expected = network.state_dict()
        wrong = [f"{k}: {tuple(state[k].shape)} != {tuple(v.shape)}" for k, v in expected.items() if state[k].shape != v.shape]
        if wrong:
            raise ValueError(f"{source} has inconsistent LSTM shapes: {wrong}")
        if not all(state[k].is_floating_point() and torch.isfinite(state[k]).all() for k in STATE_KEYS):
            raise ValueError(f"{source} holds non-float or non-finite weights")
        network.load_state_dict({k: state[k].float() for k in STATE_KEYS})
        return network.eval().requires_grad_(False)


def load_state(path: str | Path) -> dict[str, Tensor]:
    """Read a released ``infersent*.pkl`` (a torch-saved state dict) safely, with ``weights_only=True``."""
    path = Path(path)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise FileNotFoundError(f"InferSent model file {path} does not exist") from None
    except pickle.UnpicklingError:
        raise ValueError(
            f"{path} is not a plain state dict: it pickles Python objects, which are never unpickled here "
            f"(they can run code). Use the released infersent1.pkl or infersent2.pkl from {REPO_URL}, which are state dicts"
        ) from None
    except (RuntimeError, EOFError, OSError, ValueError) as e:
        raise ValueError(f"{path} is not a readable torch file (corrupt or truncated?): {e}") from None
    if not isinstance(state, Mapping) or not all(isinstance(v, Tensor) for v in state.values()):
        raise ValueError(f"{path} does not hold a state dict of tensors (got {type(state).__name__})")
    return dict(state)


# --- tokenization ---------------------------------------------------------------------------------


def tokenize(text: str, version: int) -> list[str]:
    """The words of ``text`` as the reference tokenizes them for ``version`` (without sentence markers).

    The reference calls nltk's ``word_tokenize``, which first splits sentences with the trained
    English Punkt model (an nltk data download). Here sentences are split by
    :func:`~t2f.text.base.split_sentences` (Punkt with common abbreviations, no download), which
    splits the same except after abbreviations missing from its list; each sentence then goes through
    the same Treebank word tokenizer, so a sentence-final "." becomes its own word as in the reference. Version 2 then joins "n't" Moses-style, as the
    reference does ("does n't" -> "doesn 't").
    """
    from nltk.tokenize import word_tokenize

    words = [w for sentence in split_sentences(text) for w in word_tokenize(sentence, preserve_line=True)]
    if version == 2:
        words = " ".join(words).replace(" n't ", "n 't ").split()
    return words


# --- word vectors ---------------------------------------------------------------------------------


def _word_hash(word: bytes) -> int:
    return int.from_bytes(hashlib.blake2b(word, digest_size=8).digest(), "little")


def _split_line(line: bytes, dim: int) -> tuple[bytes, bytes] | None:
    """(word, numbers) of one line; words may hold spaces (GloVe 840B has a few), the last ``dim`` fields are numbers."""
    line = line.rstrip(b"\r\n ")  # fastText lines end with a space
    spaces = line.count(b" ")
    if spaces == dim:
        cut = line.index(b" ")
    elif spaces > dim:
        cut = len(line.rsplit(b" ", dim)[0])
    else:
        return None
    return line[:cut], line[cut + 1 :]


def _read_header(path: Path) -> tuple[int, int, bool]:
    """(dim, byte offset of the first vector line, whether the file has a fastText "count dim" header)."""
    with open(path, "rb") as f:
        first = f.readline()
    fields = first.split()
    if len(fields) == 2 and all(x.isdigit() for x in fields):
        return int(fields[1]), len(first), True
    if len(fields) < 2:
        raise ValueError(f"{path} is not a word-vector file: its first line should be 'word x1 x2 ...' or 'count dim'")
    return len(fields) - 1, 0, False


def index_word_vectors(path: str | Path) -> tuple[np.ndarray, np.ndarray, int]:
    """Stream a ``.txt``/``.vec`` word-vector file once: (word hashes sorted, their lines' byte offsets, dim).

    Only the words are looked at (hashed to 64 bits), never the numbers, and nothing but the index is
    kept: about 16 bytes per word. Duplicated words keep file order, so the first one is found first.
    """
    path = Path(path)
    dim, start, _ = _read_header(path)
    hashes, offsets = array("Q"), array("q")  # 16 bytes a word, not two Python ints
    with open(path, "rb") as f:
        f.seek(start)
        offset = start
        for number, line in enumerate(f, start=2 if start else 1):
            if not line.isspace():
                parts = _split_line(line, dim)
                if parts is None:
                    raise ValueError(f"{path}, line {number}: expected a word and {dim} numbers")
                hashes.append(_word_hash(parts[0]))
                offsets.append(offset)
            offset += len(line)
    hash_array = np.frombuffer(hashes, dtype=np.uint64)
    order = np.argsort(hash_array, kind="stable")
    return hash_array[order], np.frombuffer(offsets, dtype=np.int64)[order], dim


class WordVectors:
    """The vectors of a GloVe ``.txt`` / fastText ``.vec`` file, read word by word on demand.

    Why an index rather than a vocabulary subset: a text-to-face model must read any description,
    so no fixed subset (the reference's "100k most frequent words", or the words of a training set)
    covers every user's words, and looking a missing word up in a several-GB file means streaming it
    again (a minute). So the file is streamed once to index where each word's line starts (64-bit
    word hash -> byte offset, ~35 MB for GloVe's 2.2M words); the index is cached in ``cache_dir``
    under a key of the file's path, size and modification time and reused by every later load. A
    word's vector is then one seek and one line away; words looked up are kept in memory.
    """

    def __init__(self, path: str | Path, cache_dir: str | Path | None = None):
        self.path = Path(path)
        self.cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
        self._hashes: np.ndarray | None = None
        self._offsets: np.ndarray | None = None
        self._dim: int | None = None
        self._memo: dict[str, np.ndarray | None] = {}  # word -> vector, or None when the file lacks it
        self._lock = threading.Lock()

    @property
    def dim(self) -> int:
        """Length of each vector."""
        if self._dim is None:
            self._dim = _read_header(self.path)[0]
        return self._dim

    def index_file(self) -> Path:
        """The cache file of this vector file's index (it changes when the file does)."""
        stat = self.path.stat()
        key = f"{self.path.resolve()}\0{stat.st_size}\0{stat.st_mtime_ns}\0{INDEX_FORMAT}"
        return self.cache_dir / f"{self.path.name}-{hashlib.sha256(key.encode()).hexdigest()[:16]}.index.npz"

    def _load_index(self) -> None:
        if self._hashes is not None:
            return
        file = self.index_file()
        if file.is_file():
            try:
                with np.load(file, allow_pickle=False) as data:
                    self._hashes, self._offsets, self._dim = data["hashes"], data["offsets"], int(data["dim"])
                return
            except (OSError, ValueError, KeyError) as e:
                warnings.warn(f"rebuilding the unreadable word-vector index {file}: {e}", stacklevel=3)
        log.warning("indexing %s once (streams the whole file; reused afterwards from %s)", self.path, file)
        self._hashes, self._offsets, self._dim = index_word_vectors(self.path)
        try:
            file.parent.mkdir(parents=True, exist_ok=True)
            with atomic_path(file) as partial, open(partial, "wb") as f:  # readers see the whole index or none
                np.savez(f, hashes=self._hashes, offsets=self._offsets, dim=np.int64(self._dim))
        except OSError as e:
            warnings.warn(f"cannot cache the word-vector index in {file.parent} ({e}); it is rebuilt next time", stacklevel=3)

    def lookup(self, words: Iterable[str]) -> dict[str, np.ndarray]:
        """The float32 vectors of those ``words`` that the file holds (words it lacks are left out)."""
        words = set(words)
        with self._lock:
            todo = [w for w in words if w not in self._memo]
            if todo:
                self._load_index()
                if len(self._memo) + len(todo) > _MEMO_LIMIT:
                    self._memo.clear()  # bounds memory however many distinct words users send
                    todo = list(words)
                with open(self.path, "rb") as f:
                    for word in todo:
                        self._memo[word] = self._read(f, word)
            found = {w: self._memo.get(w) for w in words}
        return {w: v for w, v in found.items() if v is not None}

    def _read(self, f: BinaryIO, word: str) -> np.ndarray | None:
        key = word.encode("utf-8")
        target = np.uint64(_word_hash(key))
        i = int(np.searchsorted(self._hashes, target))
        while i < len(self._hashes) and self._hashes[i] == target:  # equal hashes: check the word itself
            f.seek(int(self._offsets[i]))
            parts = _split_line(f.readline(), self._dim)
            if parts is not None and parts[0] == key:
                try:
                    return np.array(parts[1].split(b" "), dtype=np.float32)
                except ValueError:
                    raise ValueError(f"{self.path}: the vector of {word!r} holds something that is not a number") from None
            i += 1
        return None


# --- the encoder ----------------------------------------------------------------------------------


def _find_file(kind: str, recorded: str | Path | None, env: str, version: int | None) -> Path:
    """``recorded`` when it is a file, else the file named by the environment variable ``env``, else an error
    saying which official file is needed and where to download it."""
    if recorded and Path(recorded).expanduser().is_file():
        return Path(recorded).expanduser().resolve()
    override = os.environ.get(env)
    if override and Path(override).expanduser().is_file():
        return Path(override).expanduser().resolve()
    if kind == "model":
        options = [f"{OFFICIAL[v]['model']} (version {v}, {OFFICIAL[v]['model_url']})" for v in ([version] if version else [1, 2])]
        need = f"InferSent needs its encoder weights, {' or '.join(options)}"
    else:
        file, url = OFFICIAL[version]["vectors"], OFFICIAL[version]["vectors_url"]
        need = f"InferSent version {version} needs the word vectors it was trained with, {file} (unzip {url})"
    if recorded:
        problems = [f"{recorded} {'is not a file' if Path(recorded).expanduser().exists() else 'does not exist'}"]
    else:
        problems = ["no path was given"]
    if override:
        problems.append(f"{env}={override} is not a file")
    example = OFFICIAL[version or 1][kind]
    raise FileNotFoundError(f"{need}: {'; '.join(problems)}. Pass its path, or set {env}=/path/to/{example}. See {REPO_URL}")


def _guess_version(model_path: Path) -> int:
    match = re.search(r"infersent([12])", model_path.name.lower())
    if match is None:
        raise ValueError(f"cannot tell the InferSent version from the file name {model_path.name}: give version 1 or 2")
    return int(match.group(1))


class InferSentEncoder(TextEncoder):
    """InferSent sentence embeddings (4096-d with the released models), from the official files.

    ``encode`` tokenizes each description, wraps it in the version's sentence markers, drops the
    words the word-vector file lacks (as the reference does) and max-pools the BiLSTM outputs. A
    description none of whose words has a vector (an empty one included) raises ValueError: its
    embedding would be the markers' alone, the same for every such text, which no face matches.
    (The reference warns and encodes "</s>" in the rarer case that even the markers lack vectors.)

    The network loads on first use of ``dim`` or ``encode``; the word-vector index is built, once
    per vector file, on the first ``encode``.
    """

    name = "infersent"

    def __init__(
        self,
        model_path: str | Path | None = None,
        word_vectors: str | Path | None = None,
        version: int | str | None = None,
        device: str | torch.device | None = None,
        cache_dir: str | Path | None = None,
    ):
        """Paths that are missing fall back to ``$T2F_INFERSENT_MODEL`` / ``$T2F_WORD_VECTORS``; the version
        defaults to the digit in the model's file name (infersent1.pkl / infersent2.pkl)."""
        if version is not None and str(version) not in ("1", "2"):
            raise ValueError(f"InferSent version must be 1 or 2, got {version!r}")
        self.model_path = _find_file("model", model_path, MODEL_ENV, int(version) if version is not None else None)
        self.version = int(version) if version is not None else _guess_version(self.model_path)
        self.word_vectors = WordVectors(_find_file("vectors", word_vectors, VECTORS_ENV, self.version), cache_dir)
        self._check_vector_kind()
        self.device = torch.device(device) if device else default_device()
        self.bos, self.eos = MARKERS[self.version]
        self._network: BiLSTMMax | None = None
        self._lock = threading.Lock()  # the app encodes from several worker threads

    @classmethod
    def from_options(cls, **options: str) -> InferSentEncoder:
        """Rebuild the encoder from a config.json's ``text_encoder_options`` (see :meth:`options`)."""
        known = {"version", "model_path", "word_vectors"}
        unknown = sorted(set(options) - known)
        if unknown:
            raise ValueError(f"unknown InferSent options {unknown}; known: {sorted(known)}")
        return cls(options.get("model_path"), options.get("word_vectors"), options.get("version"))

    def options(self) -> dict[str, str]:
        """The version and the (absolute) paths of the files used, as recorded in config.json."""
        return {"version": str(self.version), "model_path": str(self.model_path), "word_vectors": str(self.word_vectors.path)}

    def _check_vector_kind(self) -> None:
        """Warn when the vector file looks like the other version's (GloVe has no header, fastText has one)."""
        has_header = _read_header(self.word_vectors.path)[2]
        if has_header != (self.version == 2):
            expected = OFFICIAL[self.version]["vectors"]
            warnings.warn(
                f"InferSent version {self.version} was trained with {expected}, but {self.word_vectors.path.name} "
                f"{'has' if has_header else 'lacks'} a fastText header line: are the model and the vectors a pair?",
                stacklevel=3,
            )

    def network(self) -> BiLSTMMax:
        """The BiLSTM with the released weights, loaded once."""
        with self._lock:
            if self._network is None:
                network = BiLSTMMax.from_state_dict(load_state(self.model_path), str(self.model_path))
                if network.word_dim != self.word_vectors.dim:
                    raise ValueError(
                        f"{self.model_path} reads {network.word_dim}-d word vectors, but {self.word_vectors.path} "
                        f"holds {self.word_vectors.dim}-d ones"
                    )
                self._network = network.to(self.device)
            return self._network

    @property
    def dim(self) -> int:
        """2 x the LSTM's hidden size (4096 for the released models)."""
        return 2 * self.network().hidden

    def _encode(self, texts: list[str]) -> Tensor:
        unique = list(dict.fromkeys(texts))  # a text given several times is encoded once
        sentences = [[self.bos, *tokenize(t, self.version), self.eos] for t in unique]
        vectors = self.word_vectors.lookup(w for s in sentences for w in s)
        kept = [[w for w in s if w in vectors] for s in sentences]
        for text, words in zip(unique, kept):
            if not any(w not in (self.bos, self.eos) for w in words):
                raise ValueError(
                    f"none of the words of {text!r} has a vector in {self.word_vectors.path.name}: describe the face in English words"
                )
        network = self.network()
        order = sorted(range(len(kept)), key=lambda i: len(kept[i]))  # similar lengths share a batch
        out = torch.empty(len(unique), self.dim)
        with torch.inference_mode():
            for start in range(0, len(order), BATCH_SIZE):
                batch = order[start : start + BATCH_SIZE]
                words = pad_sequence([torch.from_numpy(np.stack([vectors[w] for w in kept[i]])) for i in batch])
                lengths = torch.tensor([len(kept[i]) for i in batch])
                out[batch] = network(words.to(self.device), lengths).float().cpu()
        row = {text: i for i, text in enumerate(unique)}
        return out[[row[t] for t in texts]]
