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
