"""Publishing to and loading from the Hugging Face Hub, over real HTTP against a local stub (no network).

Uploads run in this process with huggingface_hub pointed at the stub; the download runs in a
subprocess with HF_ENDPOINT set before huggingface_hub is imported (its URL templates are fixed at
import), then loads again here from the cache, offline.
"""

import hashlib
import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from huggingface_hub import ModelCard, constants
from PIL import Image
from safetensors.torch import load_file

from t2f.hub import resolve_weights
from t2f.model import Generator
from t2f.pipeline import TextToFace
from tests.conftest import REPO, tiny_config
from tests.hub_stub import HashEncoder, HubStub
from train.fit import checkpoint
from train.cli import main
from train.fit.config import TrainConfig
from train.publish.model_card import render_model_card, write_model_card
from train.publish.push import check_can_push, push_run

TOKEN = "hf_StubToken0123456789abcdefXYZ"
REPO_ID = "alice/t2f-tiny"
PROMPT = "a smiling young woman with wavy blond hair"
STEP = 120
DOWNLOAD = """
import sys
from safetensors.torch import save_file
from t2f.pipeline import TextToFace
from tests.hub_stub import HashEncoder
repo_id, revision, cache, prompt, out_file = sys.argv[1:]
pipe = TextToFace.from_pretrained(repo_id, revision=revision, cache_dir=cache, text_encoder=HashEncoder(), device="cpu")
out = pipe(prompt, seed=7, return_tensors=True)
save_file({str(r): t.contiguous() for r, t in out.tensors.items()}, out_file)
"""


def tiny_train_config() -> TrainConfig:
    return TrainConfig(model=tiny_config(), batch_size=8)


def training_record(cfg: TrainConfig, steps: int) -> dict:
    return {
        "run": "tiny",
        "command": "python -m train fit --data celeba-10k --out runs/tiny",
        "device": "NVIDIA H200",
        "gpu_minutes": 12.5,
        "train_minutes": 12.5,
        "images_seen": steps * cfg.batch_size,
        "epochs": 0.85,
        "images_per_second": 1650.2,
        "steps": steps,
        "final_losses": {"d_adv": 0.512, "d_mismatch": 0.25, "g_adv": 1.9, "kl": 0.0312},
        "config": cfg.to_dict(),
        "data": {"name": "celeba-10k", "train_images": 9000, "held_out_images": 1000},
        "torch": torch.__version__,
        "date": "2025-06-01T12:00:00+00:00",
    }


@pytest.fixture
def run(tmp_path) -> Path:
    """A run folder as fit leaves it: a checkpoint holding a seeded tiny EMA generator, record, grid."""
    torch.manual_seed(0)
    cfg = tiny_train_config()
    folder = tmp_path / "runs" / "tiny"
    state = {"config": cfg.to_dict(), "models": {"G_ema": Generator(cfg.model).state_dict()}, "step": STEP}
    checkpoint.save_checkpoint(folder, state, STEP, keep=1)
    (folder / "training_record.json").write_text(json.dumps(training_record(cfg, STEP)))
    (folder / "samples").mkdir()
    Image.new("RGB", (64, 32), "teal").save(folder / "samples" / "progress.png")
    return folder


@pytest.fixture
def hub(monkeypatch, tmp_path):
    """The stub Hub, with huggingface_hub in this process pointed at it, online, and HF_TOKEN set."""
    with HubStub() as stub:
        monkeypatch.setattr(constants, "ENDPOINT", stub.url)
        monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
        monkeypatch.setattr(constants, "HF_TOKEN_PATH", str(tmp_path / "no-stored-token"))
        monkeypatch.setenv("HF_TOKEN", TOKEN)
        yield stub


def snapshot(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.rglob("*") if p.is_file()}


def assert_no_token(*texts: str, folder: Path) -> None:
    for text in texts:
        assert TOKEN not in text
    for file in folder.rglob("*"):
        assert not file.is_file() or TOKEN.encode() not in file.read_bytes(), file


def pixels(pipe: TextToFace) -> dict[int, torch.Tensor]:
    return pipe(PROMPT, seed=7, return_tensors=True).tensors


def download_pixels(endpoint: str, cache: Path, tmp_path: Path) -> dict[int, torch.Tensor]:
    """:func:`pixels` of REPO_ID loaded by a fresh process whose Hub is ``endpoint``, online, caching in ``cache``."""
    result = tmp_path / "downloaded.safetensors"
    env = {k: v for k, v in os.environ.items() if k not in ("HF_HUB_OFFLINE", "HF_TOKEN")}
    env.update(HF_ENDPOINT=endpoint, HF_HOME=str(tmp_path / "hf-home"))  # the script runs in REPO, on sys.path
    args = [REPO_ID, "main", str(cache), PROMPT, str(result)]
    command = [sys.executable, "-c", DOWNLOAD, *args]
    done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return {int(r): image for r, image in load_file(str(result)).items()}


def test_push_then_load_through_the_hub_and_offline(run, hub, tmp_path, monkeypatch, capsys, caplog):
    caplog.set_level(logging.DEBUG)
    assert main(["push", "--run", str(run), "--repo", REPO_ID]) == 0
    out = capsys.readouterr()
    assert f"pushed to {hub.url}/{REPO_ID}/commit/" in out.out

    uploaded = hub.files(REPO_ID)
    export = run / "export"
    assert sorted(uploaded) == ["README.md", "config.json", "model.safetensors", "progress.png", "training_record.json"]
    for name in ("model.safetensors", "config.json", "progress.png", "training_record.json"):
        assert uploaded[name] == (export / name).read_bytes(), name
    repo = hub.repos[REPO_ID]
    assert repo.messages[repo.branches["main"]] == f"Upload T2F-MSGGAN run tiny at step {STEP}"
    card = ModelCard(uploaded["README.md"].decode())
    assert card.data.library_name == "t2f-msggan" and card.data.license == "other"
    assert f'TextToFace.from_pretrained("{REPO_ID}")' in card.text
    # Every request carried the token, in the Authorization header, along the upload routes of the Hub.
    assert [r.headers.get("authorization") for r in hub.requests] == [f"Bearer {TOKEN}"] * len(hub.requests)
    paths = [r.path for r in hub.requests]
    api = f"/api/models/{REPO_ID}"
    for route in ("/api/repos/create", "/api/validate-yaml", f"{api}/preupload/main", f"{api}/commit/main"):
        assert route in paths, route

    # Download through the stub in a fresh process, then again with the Hub unreachable (from the cache).
    cache = tmp_path / "hf-cache"
    requests_before = len(hub.requests)
    downloaded = download_pixels(hub.url, cache, tmp_path)
    assert any("/resolve/main/model.safetensors" in r.path for r in hub.requests[requests_before:])
    local = pixels(TextToFace.from_pretrained(export, text_encoder=HashEncoder(), device="cpu"))
    assert sorted(downloaded) == sorted(local)
    for r, image in local.items():
        assert torch.equal(downloaded[r], image), r
    with HubStub() as gone:
        unreachable = gone.url  # nothing listens there once this stub is shut down
    for r, image in download_pixels(unreachable, cache, tmp_path).items():
        assert torch.equal(image, local[r]), r

    # And here, offline, from the same cache; with nothing cached, a clear error naming the fallback.
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    requests_before = len(hub.requests)
    cached = TextToFace.from_pretrained(REPO_ID, cache_dir=cache, text_encoder=HashEncoder(), device="cpu")
    assert len(hub.requests) == requests_before
    for r, image in pixels(cached).items():
        assert torch.equal(image, local[r]), r
    with pytest.raises(ConnectionError, match="nothing is cached.*bundled weights"):
        resolve_weights("alice/never-downloaded", cache_dir=cache)
    assert_no_token(out.out, out.err, caplog.text, folder=tmp_path)


@pytest.mark.parametrize(
    "route, status, expected",
    [
        ("*", 401, "rejected the token (HTTP 401: Invalid credentials in Authorization header). Log in again"),
        ("*", 403, "may not write to alice/t2f-tiny (HTTP 403"),
        ("commit", 500, "the Hub did not take the upload (HTTP 500"),
    ],
)
def test_failed_upload_says_what_to_retry_and_keeps_the_run(run, hub, tmp_path, capsys, caplog, route, status, expected):
    caplog.set_level(logging.DEBUG)
    main(["export", "--run", str(run), "--out", str(run / "export")])
    before = snapshot(run)
    hub.fail[route] = status
    assert main(["push", "--run", str(run), "--repo", REPO_ID, "--private"]) == 2
    err = capsys.readouterr().err
    assert expected in err
    assert f"python -m train push --run {run} --repo {REPO_ID} --private" in err
    assert hub.files(REPO_ID) == {}  # nothing committed
    assert snapshot(run) == before
    assert_no_token(err, caplog.text, folder=tmp_path)


def test_push_without_token_or_offline_fails_before_any_request(run, hub, monkeypatch):
    monkeypatch.delenv("HF_TOKEN")
    with pytest.raises(PermissionError, match="hf auth login.*HF_TOKEN"):
        push_run(run, REPO_ID)
    with pytest.raises(PermissionError, match="hf auth login"):
        check_can_push(REPO_ID)  # what fit --push-to-hub checks before training
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(ConnectionError, match="unset it to push"):
        push_run(run, REPO_ID, token=TOKEN)
    assert hub.requests == []
    assert not (run / "export").exists()  # failed before exporting, too


def test_push_network_error_names_the_retry(run, monkeypatch, tmp_path):
    with HubStub() as stub:
        closed = stub.url  # nothing listens there once the stub is gone
    monkeypatch.setattr(constants, "ENDPOINT", closed)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    with pytest.raises(ConnectionError, match=f"could not reach the Hub at {closed}.*--revision v1") as error:
        push_run(run, REPO_ID, revision="v1", token=TOKEN)
    assert TOKEN not in str(error.value)


def test_push_to_a_branch_and_refresh_a_stale_export(run, hub):
    push_run(run, REPO_ID)
    first = hub.files(REPO_ID)
    # Training went on: a newer checkpoint and record; the next push must export again, to the branch.
    state = checkpoint.load_checkpoint(checkpoint.latest_checkpoint(run))
    state["models"]["G_ema"] = {k: v + 0.5 for k, v in state["models"]["G_ema"].items()}
    checkpoint.save_checkpoint(run, {**state, "step": 2 * STEP}, 2 * STEP, keep=1)
    record = json.loads((run / "training_record.json").read_text())
    (run / "training_record.json").write_text(json.dumps({**record, "steps": 2 * STEP}))
    (run / "evaluation.json").write_text(json.dumps({"summary": {"fid": 41.234}}))
    url = push_run(run, REPO_ID, revision="v1")
    repo = hub.repos[REPO_ID]
    assert url.endswith(repo.branches["v1"]) and repo.messages[repo.branches["v1"]].endswith(f"step {2 * STEP}")
    assert hub.files(REPO_ID) == first  # main untouched
    pushed = hub.files(REPO_ID, "v1")
    assert pushed["model.safetensors"] == (run / "export" / "model.safetensors").read_bytes() != first["model.safetensors"]
    assert pushed["evaluation.json"] == (run / "evaluation.json").read_bytes()
    assert "| fid | 41.23 |" in pushed["README.md"].decode() and "Not evaluated yet" in first["README.md"].decode()


@pytest.mark.parametrize("repo_id", ["no-namespace", "a/b/c", "bad name/x"])
def test_push_rejects_a_bad_repo_id(run, repo_id):
    with pytest.raises(ValueError, match="USER/NAME"):
        push_run(run, repo_id, token=TOKEN)


def test_model_card_metadata_and_sections(tmp_path):
    record = training_record(tiny_train_config(), STEP)
    text = render_model_card(record, grid_file="progress.png", repo_id=REPO_ID)
    data = ModelCard(text).data
    assert data.library_name == "t2f-msggan" and data.pipeline_tag == "text-to-image"
    assert data.license == "other" and data.license_name == "celeba-non-commercial-research" and data.license_link
    assert {"text-to-image", "gan", "face-generation"} <= set(data.tags) and data.datasets == ["celeba"]
    for expected in (
        "![Samples at every scale during training](progress.png)",
        "| Images seen | 960 (0.85 epochs, 120 steps) |",
        "| Compute | 12.5 GPU-minutes on NVIDIA H200 (1,650 images/s) |",
        "Not evaluated yet",
        "| Final losses | d_adv 0.512, d_mismatch 0.25, g_adv 1.9, kl 0.0312 |",
        "mostly young and light-skinned",
        "not on free text",
        "non-commercial research purposes only",
        record["command"],
    ):
        assert expected in text, expected

    evaluation = {"summary": {"fid": 41.234, "attribute_accuracy": 0.713}, "per_attribute": {"Smiling": 0.9}}
    path = write_model_card(tmp_path, record, evaluation)
    written = path.read_text()
    assert path == tmp_path / "README.md"
    assert "| fid | 41.23 |" in written and "| attribute_accuracy | 0.713 |" in written
    assert "Not evaluated yet" not in written and "No sample grid" in written

    with pytest.raises(ValueError, match="lacks .*'gpu_minutes'"):
        render_model_card({k: v for k, v in record.items() if k != "gpu_minutes"})
