"""InferSent on tiny files in the official formats: a state dict with the released parameter names and
a GloVe / fastText text file of word vectors, both written here (the real ones are GBs and not available)."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

import t2f.text.infersent as infersent
from conftest import tiny_config
from t2f.captions import ATTRIBUTE_PHRASES
from t2f.text.infersent import BiLSTMMax, InferSentEncoder, MODEL_ENV, VECTORS_ENV, WordVectors, tokenize
from t2f.model import Generator
from t2f.pipeline import TextToFace
from t2f.text import get_text_encoder

WORD_DIM, HIDDEN = 6, 5
WORDS = ("<s>", "</s>", "<p>", "</p>", "a", "man", "woman", "with", "blond", "hair", "smiling", "glasses", ".", ",", "'t", "doesn")


def make_infersent(folder: Path, version: int = 1, words=WORDS, seed: int = 0, legacy_format: bool = True) -> tuple[Path, Path]:
    """(infersentV.pkl, word-vector file) in the released formats, with small sizes.

    The .pkl is ``torch.save`` of an ``enc_lstm.*`` state dict (the released files date from PyTorch 0.4,
    hence the legacy, non-zip serialization by default). Version 1 gets a GloVe-style file (no header),
    version 2 a fastText-style ``.vec`` ("count dim" header, a space ending each line).
    """
    torch.manual_seed(seed)
    lstm = nn.LSTM(WORD_DIM, HIDDEN, num_layers=1, bidirectional=True)
    state = {f"enc_lstm.{k}": v for k, v in lstm.state_dict().items()}
    model = folder / f"infersent{version}.pkl"
    torch.save(state, model, _use_new_zipfile_serialization=not legacy_format)
    vectors = np.random.default_rng(seed).standard_normal((len(words), WORD_DIM))
    lines = [w + " " + " ".join(f"{x:.6f}" for x in v) for w, v in zip(words, vectors)]
    if version == 1:
        path, text = folder / "glove.840B.300d.txt", "\n".join(lines) + "\n"
    else:
        path, text = folder / "crawl-300d-2M.vec", f"{len(words)} {WORD_DIM}\n" + " \n".join(lines) + " \n"
    path.write_text(text, encoding="utf-8")
    return model, path


def read_vectors(path: Path) -> dict[str, torch.Tensor]:
    """The test's own parse of a small vector file: word -> vector (first occurrence wins)."""
    out: dict[str, torch.Tensor] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        fields = line.rstrip().rsplit(" ", WORD_DIM)
        if len(fields) == WORD_DIM + 1:
            out.setdefault(fields[0], torch.tensor([float(x) for x in fields[1:]]))
    return out


def manual_embedding(state: dict[str, torch.Tensor], inputs: torch.Tensor) -> torch.Tensor:
    """InferSent written out: the LSTM equations in both directions over (T, E) inputs, then a max over T."""

    def run(xs: torch.Tensor, suffix: str) -> torch.Tensor:
        w_ih, w_hh = state[f"enc_lstm.weight_ih_l0{suffix}"], state[f"enc_lstm.weight_hh_l0{suffix}"]
        bias = state[f"enc_lstm.bias_ih_l0{suffix}"] + state[f"enc_lstm.bias_hh_l0{suffix}"]
        h, c, outputs = torch.zeros(HIDDEN), torch.zeros(HIDDEN), []
        for x in xs:
            i, f, g, o = (w_ih @ x + w_hh @ h + bias).chunk(4)  # PyTorch's gate order
            c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
            h = torch.sigmoid(o) * torch.tanh(c)
            outputs.append(h)
        return torch.stack(outputs)

    forward = run(inputs, "")
    backward = run(inputs.flip(0), "_reverse").flip(0)
    return torch.cat([forward, backward], dim=1).max(dim=0).values


@pytest.fixture
def cache_home(tmp_path, monkeypatch) -> Path:
    """Index caches go to a temporary XDG cache, not the user's."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv(MODEL_ENV, raising=False)
    monkeypatch.delenv(VECTORS_ENV, raising=False)
    return tmp_path / "xdg"


@pytest.mark.parametrize("legacy_format", [True, False])
def test_released_layout_loads_and_rebuilds_from_options(tmp_path, cache_home, legacy_format):
    model, vectors = make_infersent(tmp_path, legacy_format=legacy_format)
    encoder = InferSentEncoder(model, vectors, device="cpu")
    assert encoder.name == "infersent" and encoder.version == 1  # read from the file name
    assert encoder.dim == 2 * HIDDEN
    out = encoder.encode(["a man with blond hair.", "a smiling woman"])
    assert out.shape == (2, 2 * HIDDEN) and out.dtype == torch.float32 and out.device.type == "cpu"
    assert encoder.options() == {"version": "1", "model_path": str(model.resolve()), "word_vectors": str(vectors.resolve())}
    rebuilt = get_text_encoder("infersent", encoder.options())
    assert rebuilt is not encoder and rebuilt.dim == encoder.dim
    torch.testing.assert_close(rebuilt.encode(["a man with blond hair.", "a smiling woman"]), out)


@pytest.mark.parametrize("version", [1, 2])
def test_max_pooling_matches_the_lstm_equations(tmp_path, cache_home, version):
    model, vectors = make_infersent(tmp_path, version=version)
    state = torch.load(model, weights_only=True)
    table = read_vectors(vectors)
    bos, eos = infersent.MARKERS[version]
    texts = ["a man", "a smiling woman with blond hair, with glasses.", "hair"]  # one batch, three lengths
    out = InferSentEncoder(model, vectors, version, device="cpu").encode(texts)
    for text, row in zip(texts, out):
        words = [bos, *tokenize(text, version), eos]
        expected = manual_embedding(state, torch.stack([table[w] for w in words]))
        torch.testing.assert_close(row, expected, atol=1e-5, rtol=1e-5)
    # Padding never enters the max: a sentence encoded with longer ones gets its embedding alone.
    alone = InferSentEncoder(model, vectors, version, device="cpu").encode(["a man"])
    torch.testing.assert_close(alone[0], out[0], atol=1e-6, rtol=1e-6)


def test_unknown_words_are_dropped_and_empty_descriptions_rejected(tmp_path, cache_home):
    encoder = InferSentEncoder(*make_infersent(tmp_path), device="cpu")
    known, with_unknown = encoder.encode(["a man with glasses", "a qwxz man with zzyzx glasses"])
    torch.testing.assert_close(with_unknown, known)
    for text in ("qwxz zzyzx", "", "   "):
        with pytest.raises(ValueError, match="none of the words of .* has a vector in glove.840B.300d.txt"):
            encoder.encode(["a man", text])
    assert encoder.encode([]).shape == (0, 2 * HIDDEN)


def test_tokenization_follows_the_reference_per_version():
    text = "She doesn't smile. He has a beard, and isn't bald."
    v1 = ["She", "does", "n't", "smile", ".", "He", "has", "a", "beard", ",", "and", "is", "n't", "bald", "."]
    assert tokenize(text, 1) == v1
    assert tokenize(text, 2) == ["She", "doesn", "'t", "smile", ".", "He", "has", "a", "beard", ",", "and", "isn", "'t", "bald", "."]


def test_word_vector_file_formats(tmp_path, cache_home, monkeypatch):
    path = tmp_path / "odd.vec"
    lines = ["4 3", "a 1 2 3 ", ". . . 4 5 6 ", "", "a 7 8 9 ", "Zoë -1e-2 0.5 6 "]  # header, word with spaces, duplicate
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    vectors = WordVectors(path, cache_dir=tmp_path / "cache")
    assert vectors.dim == 3
    found = vectors.lookup(["a", ". . .", "Zoë", "missing", "."])
    assert sorted(found) == [". . .", "Zoë", "a"]
    np.testing.assert_array_equal(found["a"], [1, 2, 3])  # the first of duplicated words
    np.testing.assert_array_equal(found[". . ."], [4, 5, 6])
    np.testing.assert_allclose(found["Zoë"], [-0.01, 0.5, 6])
    assert found["a"].dtype == np.float32
    monkeypatch.setattr(infersent, "_MEMO_LIMIT", 2)  # a full memo is cleared, and what is asked is read again
    assert sorted(vectors.lookup(["a", "Zoë", "unseen"])) == ["Zoë", "a"]
    bad = tmp_path / "bad.txt"
    bad.write_text("a 1 2 3\nb 1 2\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"bad.txt, line 2: expected a word and 3 numbers"):
        WordVectors(bad, cache_dir=tmp_path / "cache").lookup(["a"])


def test_index_is_built_once_and_reused(tmp_path, cache_home, monkeypatch):
    _, path = make_infersent(tmp_path)
    cache = tmp_path / "cache"
    scans = []
    real_index = infersent.index_word_vectors
    monkeypatch.setattr(infersent, "index_word_vectors", lambda p: scans.append(p) or real_index(p))
    first = WordVectors(path, cache_dir=cache).lookup(["man", "hair", "nope"])
    assert len(scans) == 1 and [f.name for f in cache.iterdir()] == [WordVectors(path, cache).index_file().name]
    second = WordVectors(path, cache_dir=cache).lookup(["man", "hair", "nope"])  # a new process, say
    assert len(scans) == 1 and sorted(second) == ["hair", "man"]
    np.testing.assert_array_equal(second["man"], first["man"])
    with path.open("a", encoding="utf-8") as f:  # a changed file gets a new index
        f.write("beard" + " 0.5" * WORD_DIM + "\n")
    assert "beard" in WordVectors(path, cache_dir=cache).lookup(["beard"]) and len(scans) == 2
    index = WordVectors(path, cache).index_file()
    index.write_bytes(b"not an npz")
    with pytest.warns(UserWarning, match="rebuilding the unreadable word-vector index"):
        assert "man" in WordVectors(path, cache_dir=cache).lookup(["man"])
    with pytest.warns(UserWarning, match="cannot cache the word-vector index"):  # a file where the folder should be
        assert "man" in WordVectors(path, cache_dir=path / "cache").lookup(["man"])


def test_missing_files_name_what_is_needed_and_env_vars_override(tmp_path, cache_home, monkeypatch):
    model, vectors = make_infersent(tmp_path)
    recorded = {"version": "1", "model_path": "/elsewhere/infersent1.pkl", "word_vectors": "/elsewhere/glove.840B.300d.txt"}
    with pytest.raises(FileNotFoundError) as error:
        InferSentEncoder.from_options(**recorded)
    message = str(error.value)
    for needed in ("infersent1.pkl", "https://dl.fbaipublicfiles.com/infersent/infersent1.pkl", "/elsewhere/infersent1.pkl", MODEL_ENV):
        assert needed in message
    monkeypatch.setenv(MODEL_ENV, str(model))
    with pytest.raises(FileNotFoundError, match=rf"glove.840B.300d.txt .*{VECTORS_ENV}"):
        InferSentEncoder.from_options(**recorded)
    monkeypatch.setenv(VECTORS_ENV, str(tmp_path / "nothing.txt"))
    with pytest.raises(FileNotFoundError, match=f"{VECTORS_ENV}=.*nothing.txt is not a file"):
        InferSentEncoder.from_options(**recorded)
    monkeypatch.setenv(VECTORS_ENV, str(vectors))
    encoder = InferSentEncoder.from_options(**recorded)
    assert encoder.options()["model_path"] == str(model.resolve()) and encoder.encode(["a man"]).shape == (1, 2 * HIDDEN)
    with pytest.raises(ValueError, match="unknown InferSent options"):
        InferSentEncoder.from_options(**recorded, bsize="64")


def test_bad_model_files_are_refused_clearly(tmp_path, cache_home):
    model, vectors = make_infersent(tmp_path)
    pickled = tmp_path / "infersent.allnli.pickle"  # the first release pickled the whole module
    torch.save(nn.LSTM(WORD_DIM, HIDDEN), pickled)
    with pytest.raises(ValueError, match="not a plain state dict"):
        InferSentEncoder(pickled, vectors, version=1).network()
    state = torch.load(model, weights_only=True)
    with pytest.raises(ValueError, match=r"missing \['enc_lstm.bias_hh_l0_reverse'\]"):
        BiLSTMMax.from_state_dict({k: v for k, v in state.items() if k != "enc_lstm.bias_hh_l0_reverse"})
    wide = tmp_path / "infersent1-wide.pkl"
    torch.save({f"enc_lstm.{k}": v for k, v in nn.LSTM(WORD_DIM + 1, HIDDEN, bidirectional=True).state_dict().items()}, wide)
    with pytest.raises(ValueError, match="reads 7-d word vectors, but .* holds 6-d ones"):
        InferSentEncoder(wide, vectors).network()
    with pytest.raises(ValueError, match="cannot tell the InferSent version"):
        InferSentEncoder(pickled, vectors)
    with pytest.raises(ValueError, match="version must be 1 or 2"):
        InferSentEncoder(model, vectors, version=3)
    _, fasttext = make_infersent(tmp_path, version=2)
    with pytest.warns(UserWarning, match="version 1 was trained with glove.840B.300d.txt"):
        InferSentEncoder(model, fasttext)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        InferSentEncoder(model, vectors)  # the right pair: no warning


def test_text_to_face_runs_on_infersent(tmp_path, cache_home):
    encoder = InferSentEncoder(*make_infersent(tmp_path), device="cpu")
    config = tiny_config(text_encoder="infersent", text_dim=encoder.dim, text_encoder_options=encoder.options())
    torch.manual_seed(0)
    Generator(config).save_pretrained(tmp_path / "weights")
    pipe = TextToFace.from_pretrained(tmp_path / "weights", device="cpu")  # rebuilds the encoder from config.json
    assert pipe.text_encoder.name == "infersent" and pipe.text_encoder.options() == encoder.options()
    out = pipe("a smiling woman with blond hair", seed=3)
    assert sorted(out.images) == config.resolutions and out.images[128].size == (128, 128)


def test_fit_and_from_pretrained_with_infersent(tmp_path, cache_home):
    """`python -m train fit --text-encoder infersent ...` end to end; the export then rebuilds the encoder."""
    from synthetic import make_celeba
    from test_train import small_config, write_config

    from train.cli import main as train_main
    from train.fit.config import SAMPLE_PROMPTS

    vocabulary = {w for text in [*ATTRIBUTE_PHRASES.values(), *SAMPLE_PROMPTS] for w in tokenize(text, 1)}
    model, vectors = make_infersent(tmp_path, words=["<s>", "</s>", "an", "this", ".", *sorted(vocabulary)])
    make_celeba(tmp_path / "celeba", 12)
    config = write_config(tmp_path / "cfg.json", small_config(total_kimg=0.008))  # one step
    args = ["fit", "--data", tmp_path / "celeba", "--cache", tmp_path / "packs", "--config", config, "--out", tmp_path / "run"]
    args += ["--text-encoder", "infersent", "--infersent-model", model, "--word-vectors", vectors, "--export", tmp_path / "weights"]
    assert train_main([str(a) for a in args]) == 0

    saved = json.loads((tmp_path / "weights" / "config.json").read_text())
    assert saved["text_encoder"] == "infersent" and saved["text_dim"] == 2 * HIDDEN
    assert saved["text_encoder_options"] == {"version": "1", "model_path": str(model.resolve()), "word_vectors": str(vectors.resolve())}
    pipe = TextToFace.from_pretrained(tmp_path / "weights", device="cpu")
    assert pipe.text_encoder.name == "infersent"
    assert sorted(pipe("a smiling young woman with wavy blond hair", seed=1).images) == [4, 8, 16, 32]
