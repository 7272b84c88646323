"""Missing or corrupt weight files: every loader fails with an error naming the file and the fault."""

import json
import shutil

import pytest
import torch
from conftest import tiny_config
from safetensors.torch import load_file, save_file

import t2f.hub
from t2f import Generator, TextToFace
from t2f.hub import resolve_weights
from t2f.files import CONFIG_NAME, WEIGHTS_NAME

LOADERS = {
    "Generator.from_folder": Generator.from_folder,
    "Generator.from_pretrained": Generator.from_pretrained,
    "TextToFace.from_pretrained": TextToFace.from_pretrained,
}


@pytest.fixture
def weights(tiny_weights, tmp_path):
    """A private, writable copy of the tiny weights folder to damage."""
    return shutil.copytree(tiny_weights, tmp_path / "weights")


def edit_config(folder, **changes):
    data = json.loads((folder / CONFIG_NAME).read_text())
    (folder / CONFIG_NAME).write_text(json.dumps({**data, **changes}))


def damage_state(folder, edit):
    state = load_file(folder / WEIGHTS_NAME)
    edit(state)
    save_file(state, folder / WEIGHTS_NAME)


def set_nan(state):
    state["fc.bias"][0] = float("nan")


def write(name: str, data: bytes | str):
    """A damage: overwrite ``name`` in the folder with ``data``."""
    return lambda folder: (folder / name).write_bytes(data.encode() if isinstance(data, str) else data)


def delete(name: str):
    return lambda folder: (folder / name).unlink()


def truncate(folder):
    (folder / WEIGHTS_NAME).write_bytes((folder / WEIGHTS_NAME).read_bytes()[:5000])


NOT_SAFETENSORS = rf"{WEIGHTS_NAME} is not a readable safetensors file \(corrupt or truncated\?\)"
INVALID_CONFIG = rf"{CONFIG_NAME} is not a valid model config"
MISMATCH = rf"{WEIGHTS_NAME} does not match .*{CONFIG_NAME}"
DAMAGES = {
    "no config": (delete(CONFIG_NAME), FileNotFoundError, rf"{CONFIG_NAME} is missing"),
    "config not JSON": (write(CONFIG_NAME, "{'z_dim': 16,"), ValueError, rf"{CONFIG_NAME} is not valid JSON"),
    "config not UTF-8": (write(CONFIG_NAME, b"\xff\xfe{}"), ValueError, rf"{CONFIG_NAME} is not valid JSON"),
    "config a list": (write(CONFIG_NAME, "[1, 2]"), ValueError, rf"{CONFIG_NAME} must hold a JSON object, got list"),
    "bad z_dim": (lambda f: edit_config(f, z_dim=-3), ValueError, rf"{INVALID_CONFIG}: z_dim must be a positive integer, got -3"),
    "bad resolution": (lambda f: edit_config(f, resolution="128"), ValueError, rf"{INVALID_CONFIG}: resolution"),
    "unknown key": (lambda f: edit_config(f, depth=6), ValueError, rf"{INVALID_CONFIG}: unknown model config keys: \['depth'\]"),
    "no weights": (delete(WEIGHTS_NAME), FileNotFoundError, rf"{WEIGHTS_NAME} is missing"),
    "garbage weights": (write(WEIGHTS_NAME, "not a safetensors file at all"), ValueError, NOT_SAFETENSORS),
    "truncated weights": (truncate, ValueError, NOT_SAFETENSORS),
    "empty weights": (write(WEIGHTS_NAME, b""), ValueError, NOT_SAFETENSORS),
    "missing tensor": (
        lambda f: damage_state(f, lambda s: s.pop("conv4.weight")),
        ValueError,
        rf"{MISMATCH}: missing \['conv4.weight'\]",
    ),
    "extra tensor": (lambda f: damage_state(f, lambda s: s.update(extra=torch.zeros(1))), ValueError, r"unexpected \['extra'\]"),
    "wrong shapes": (
        lambda f: edit_config(f, z_dim=20),  # the config no longer describes the saved tensors
        ValueError,
        rf"{MISMATCH}: .*wrong shapes \['fc.weight: \(512, 32\) != \(512, 36\)'\]",
    ),
    "non-finite": (lambda f: damage_state(f, set_nan), ValueError, rf"{WEIGHTS_NAME} holds non-finite or non-float values in \['fc.bias'\]"),
    "integer tensor": (
        lambda f: damage_state(f, lambda s: s.update({"fc.bias": s["fc.bias"].long()})),
        ValueError,
        r"non-finite or non-float values in \['fc.bias'\]",
    ),
}


@pytest.mark.parametrize("loader", LOADERS.values(), ids=LOADERS.keys())
@pytest.mark.parametrize("damage", DAMAGES.keys())
def test_damaged_weights_give_an_error_naming_the_file(weights, loader, damage):
    apply, error, message = DAMAGES[damage]
    apply(weights)
    with pytest.raises(error, match=message) as caught:
        loader(weights)
    assert str(weights) in str(caught.value)  # the full path, not only the file name


def test_a_file_is_not_a_weights_folder(tiny_weights):
    with pytest.raises(ValueError, match=rf"{WEIGHTS_NAME} is a file: expected a folder holding {CONFIG_NAME}"):
        resolve_weights(tiny_weights / WEIGHTS_NAME)


def test_a_missing_folder_is_tried_as_a_hub_repo_and_the_error_says_both(tmp_path):
    # Offline (conftest sets HF_HUB_OFFLINE) and nothing cached: a clear ConnectionError, not a traceback.
    with pytest.raises(ConnectionError, match="there is no folder no-such-folder, and as a Hub repo id: cannot download"):
        TextToFace.from_pretrained("no-such-folder", cache_dir=tmp_path)
    with pytest.raises(ConnectionError, match="there is no folder someone/t2f-model"):
        Generator.from_pretrained("someone/t2f-model", cache_dir=tmp_path)
    with pytest.raises(FileNotFoundError, match=r"weights folder .*nested/too/deep does not exist, and it is not a Hub repo id"):
        resolve_weights(tmp_path / "nested" / "too" / "deep")


def test_empty_bundled_weights_folder_says_how_to_get_weights(tmp_path, monkeypatch):
    monkeypatch.setattr(t2f.hub, "DEFAULT_WEIGHTS_DIR", tmp_path)
    with pytest.raises(FileNotFoundError, match=rf"bundled weights folder {tmp_path} holds no {CONFIG_NAME} yet.*README"):
        TextToFace.from_pretrained()
    Generator(tiny_config()).save_pretrained(tmp_path)
    assert resolve_weights() == tmp_path
