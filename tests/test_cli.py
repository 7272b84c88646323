"""python -m t2f: valid images, the seed in the file names, one-line errors; and what `import t2f` costs."""

import os
import re
import subprocess
import sys

import numpy as np
import pytest
from conftest import REPO
from PIL import Image

from t2f import TextToFace
from t2f.__main__ import main

TEXT = "a man with a gray beard"


def run_cli(*args: str, cwd=REPO, env: dict | None = None) -> subprocess.CompletedProcess:
    """``python -m t2f ...`` in a fresh interpreter, offline."""
    environment = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(REPO), **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "t2f", *args], cwd=cwd, env=environment, capture_output=True, text=True, timeout=120, check=False
    )


def test_cli_writes_the_face_a_pipeline_draws(tiny_weights, tmp_path):
    out = tmp_path / "face.png"
    done = run_cli(TEXT, "--seed", "7", "--out", str(out), "--weights", str(tiny_weights))
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [str(out)]
    assert "Traceback" not in done.stderr and "Loading weights" not in done.stderr  # no progress bar either
    with Image.open(out) as image:
        assert image.format == "PNG" and image.size == (128, 128) and image.mode == "RGB"
        written = np.asarray(image)
    # Another process, the same pixels: same text + seed + weights on the same device.
    expected = TextToFace.from_pretrained(tiny_weights, device="cpu")(TEXT, seed=7).images[128]
    assert np.array_equal(written, np.asarray(expected))


def test_cli_error_is_one_line_without_traceback(tiny_weights, tmp_path):
    done = run_cli("   ", "--weights", str(tiny_weights), "--out", str(tmp_path / "x.png"))
    assert done.returncode == 2
    assert done.stderr.splitlines() == ["error: the description is empty: describe the face, e.g. 'a smiling woman with blond hair'"]
    assert not (tmp_path / "x.png").exists() and done.stdout == ""


def test_several_seeds_with_every_scale(tiny_weights, tmp_path, capsys):
    out = tmp_path / "strip.png"
    assert main([TEXT, "--seed", "3", "--n", "3", "--scales", "--out", str(out), "--weights", str(tiny_weights)]) == 0
    paths = [tmp_path / f"strip-{seed}.png" for seed in (3, 4, 5)]
    assert capsys.readouterr().out.splitlines() == [str(p) for p in paths]
    assert not out.exists()
    strips = [np.asarray(Image.open(p)) for p in paths]
    assert all(s.shape == (128, 6 * 128 + 5 * 4, 3) for s in strips)
    assert not np.array_equal(strips[0], strips[1])
    # The last panel of a strip is the plain face of that seed.
    single = tmp_path / "single.png"
    assert main([TEXT, "--seed", "4", "--out", str(single), "--weights", str(tiny_weights)]) == 0
    assert np.array_equal(strips[1][:, -128:], np.asarray(Image.open(single)))


def test_defaults_unquoted_words_env_weights_and_overwriting(tiny_weights, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("T2F_WEIGHTS", str(tiny_weights))
    (tmp_path / "face.png").write_bytes(b"old")
    assert main(["a", "man", "with", "a", "gray", "beard", "--truncation", "0.7"]) == 0  # seed 0, ./face.png
    assert capsys.readouterr().out.splitlines() == ["face.png"]
    expected = TextToFace.from_pretrained(tiny_weights, device="cpu")(TEXT, seed=0, truncation=0.7).images[128]
    assert np.array_equal(np.asarray(Image.open(tmp_path / "face.png")), np.asarray(expected))
    assert main([TEXT, "--out", "face.jpg", "--device", "cpu"]) == 0
    assert Image.open(tmp_path / "face.jpg").format == "JPEG"
    assert main([TEXT, "--out", "mean.png", "--code-sampling", "0"]) == 0
    mean_code = TextToFace.from_pretrained(tiny_weights, device="cpu", code_sampling=0.0)(TEXT, seed=0).images[128]
    assert np.array_equal(np.asarray(Image.open(tmp_path / "mean.png")), np.asarray(mean_code))


BAD_ARGS = {
    "negative seed": (["--seed", "-1"], r"seed must be an integer in \[0, 9223372036854775807\]"),
    "huge seed": (["--seed", str(2**64)], r"seed must be an integer in \[0, 9223372036854775807\] \(2\*\*63 - 1\), got 18446744073709551616"),
    "float seed": (["--seed", "1.5"], r"argument --seed: invalid int value: '1.5' \(see python -m t2f --help\)"),
    "last seed too big": (["--seed", str(2**63 - 1), "--n", "2"], r"got 9223372036854775808"),
    "n 0": (["--n", "0"], "--n must be from 1 to 256, got 0"),
    "n 10000": (["--n", "10000"], "--n must be from 1 to 256, got 10000"),
    "truncation": (["--truncation", "1.5"], r"truncation must be a number in \[0, 1\], got 1.5"),
    "truncation nan": (["--truncation", "nan"], r"truncation must be a number in \[0, 1\], got nan"),
    "no such folder": (["--out", "{tmp}/missing/face.png"], "the folder .*missing does not exist"),
    "out is a folder": (["--out", "{tmp}"], "is a folder: give a file name"),
    "no extension": (["--out", "{tmp}/face"], "cannot tell an image type from the file name .*face: end it with .png"),
    "unwritable type": (["--out", "{tmp}/face.pdfx"], "cannot tell an image type"),
    "device": (["--device", "gpu"], "unknown device 'gpu'"),
    "negation strength": (["--negation-strength", "1.5"], r"negation strength must be a number in \[0, 1\] \(0: off\), got 1.5"),
    "code sampling": (["--code-sampling", "-0.5"], r"code sampling must be a number in \[0, 1\] \(0: the mean code\), got -0.5"),
    "missing weights": (["--weights", "{tmp}/nothing"], "weights folder .*nothing does not exist, and it is not a Hub repo id"),
    "offline repo id": (["--weights", "someone/t2f"], "there is no folder someone/t2f, and as a Hub repo id: cannot download"),
    "weights not a model": (["--weights", "{tmp}"], "config.json is missing"),
    "no description": ([], "the following arguments are required: description"),
    "unknown option": (["--size", "64"], "unrecognized arguments: --size 64"),
}


def exit_code(argv: list[str]) -> int:
    try:
        return main(argv)
    except SystemExit as ended:  # argparse's own errors end the program from inside parse_args
        return ended.code


@pytest.mark.parametrize("name", BAD_ARGS.keys())
def test_bad_arguments_exit_2_with_one_error_line(tiny_weights, tmp_path, capsys, name):
    args, message = BAD_ARGS[name]
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    description = [] if name == "no description" else [TEXT]
    assert exit_code([*description, "--weights", str(tiny_weights), "--out", str(tmp_path / "f.png"), *args]) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and err.startswith("error: "), err
    assert re.search(message, err), err
    assert not list(tmp_path.glob("*.png"))


def test_a_description_past_the_encoder_is_refused_not_cut(tiny_weights, tmp_path, capsys):
    out = tmp_path / "f.png"
    assert exit_code(["a man with"] + ["a beard"] * 150 + ["--weights", str(tiny_weights), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and re.search("is 303 word pieces long, but the text encoder .* reads only the first 254", err), err
    assert not out.exists()


def test_importing_t2f_loads_no_weights_and_no_app_or_training_code():
    code = (
        "import sys, t2f, t2f.pipeline, t2f.text, t2f.hub, t2f.captions\n"
        "heavy = {'gradio', 'train', 'sentence_transformers', 'transformers', 'safetensors.torch'} & set(sys.modules)\n"
        "assert not heavy, heavy\n"
        "assert not t2f.text._cache, 'an encoder was built at import'\n"
        "print('ok')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0 and done.stdout == "ok\n", done.stderr


@pytest.mark.parametrize("missing", ["tqdm", "tensorboard"])
def test_training_command_without_its_extras_says_what_to_install(missing):
    """`pip install .` installs the runtime only: `python -m train` then names the extras in one line."""
    code = f"import runpy, sys; sys.modules[{missing!r}] = None; sys.argv = ['train', '--help']; runpy.run_module('train', run_name='__main__')"
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert out.returncode == 2 and "Traceback" not in out.stderr, out.stderr
    assert out.stderr.startswith("error: python -m train needs the training and evaluation extras") and 'pip install ".[train,eval]"' in out.stderr
    assert out.stderr.count("\n") == 1


def test_without_weights_or_a_bundled_folder_the_cli_says_to_pass_weights(tmp_path, monkeypatch, capsys):
    """An installed copy has no weights/ folder beside it: the error names --weights and the variable."""
    monkeypatch.delenv("T2F_WEIGHTS", raising=False)
    monkeypatch.setattr("t2f.__main__.DEFAULT_WEIGHTS_DIR", tmp_path / "site-packages" / "weights")
    assert main(["a bald man", "--out", str(tmp_path / "face.png")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: no weights given") and "--weights FOLDER_OR_REPO" in err and "set T2F_WEIGHTS" in err
    assert err.count("\n") == 1 and not (tmp_path / "face.png").exists()
