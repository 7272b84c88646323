"""Shared fixtures. Tests never touch the network: Hub offline, no telemetry, no analytics."""

import os

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402
import torch  # noqa: E402

from t2f.model import Generator, ModelConfig  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
CELEBA_10K = REPO.parent / "shared" / "data" / "celeba-10k"
CELEBA_MORE = REPO.parent / "shared" / "data" / "celeba-more"

TINY_CHANNELS = {4: 32, 8: 32, 16: 16, 32: 16, 64: 8, 128: 8}


def tiny_config(**overrides) -> ModelConfig:
    """A full-resolution (4..128) model small enough to run in milliseconds, with the default encoder."""
    values = dict(channels=TINY_CHANNELS, d_channels=TINY_CHANNELS, z_dim=16, cond_dim=16)
    values.update(overrides)
    return ModelConfig(**values)


@pytest.fixture(scope="session")
def tiny_weights(tmp_path_factory) -> Path:
    """A weights folder (config.json + model.safetensors) of a seeded, randomly initialised tiny generator.

    Untrained on purpose: tests check the machinery (shapes, determinism, loading), not face quality.
    """
    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp("tiny_weights")
    Generator(tiny_config()).save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def tiny_edit_weights(tiny_weights, tmp_path_factory) -> Path:
    """``tiny_weights`` plus its attribute read-out and edit directions (``python -m train attributes``), built
    from three captions each (as a pack has) of 160 seeded random attribute vectors and what those captions
    claim, instead of a training pack."""
    import shutil

    from t2f.attributes import save_attribute_model
    from t2f.captions import captions
    from t2f.model import Generator
    from t2f.text import get_text_encoder
    from train.data.pack import claim_tensor
    from train.publish.attributes import build_attribute_model

    folder = tmp_path_factory.mktemp("tiny_edit_weights")
    for file in tiny_weights.iterdir():
        shutil.copy(file, folder)
    images, per_image = 160, 3
    attributes = random_attributes(images)
    described = [c for i, row in enumerate(attributes) for c in captions(row.tolist(), per_image, seed=i)]
    encoder = get_text_encoder()
    embeddings = encoder.encode([c.text for c in described]).reshape(images, per_image, -1)
    claims = claim_tensor([c.claims for c in described]).reshape(images, per_image, -1)
    with pytest.MonkeyPatch.context() as patch:
        # The tests' read-outs of these 480 captions hold from 150 steps; the library's minimum of 500 made this
        # fixture 35 s of the suite's 224 on the 2-core CPU.
        patch.setattr("train.publish.attributes.PROBE_MIN_STEPS", 200)
        model = build_attribute_model(
            Generator.from_folder(folder), encoder, embeddings, attributes, claims,
            vectors=4, off_topic=300, open_gender=200, sentences=200,
        )
    save_attribute_model(model, folder)
    return folder


def random_attributes(n: int, seed: int = 0) -> torch.Tensor:
    """(n, 40) uint8 CelebA attribute vectors: each attribute present with probability 0.2, Male, Young and
    No_Beard with 0.5 (seeded)."""
    from t2f.captions import ATTRIBUTES

    g = torch.Generator().manual_seed(seed)
    p = torch.full((40,), 0.2)
    p[[ATTRIBUTES.index(a) for a in ("Male", "Young", "No_Beard")]] = 0.5
    return (torch.rand(n, 40, generator=g) < p).to(torch.uint8)
