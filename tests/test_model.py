"""The conditional MSG-GAN: output scales, configs and their round trip through config.json."""

import dataclasses
import json

import pytest
import torch
from conftest import TINY_CHANNELS, tiny_config

from t2f.hub import load_generator, read_config
from t2f.model import CONFIG_NAME, WEIGHTS_NAME, Discriminator, Generator, ModelConfig, downsample_pyramid

SCALES = [4, 8, 16, 32, 64, 128]


def test_generator_emits_every_scale_and_the_discriminator_reads_them():
    torch.manual_seed(0)
    config = tiny_config()
    assert config.resolutions == SCALES
    g, d = Generator(config), Discriminator(config)
    z, text = torch.randn(4, config.z_dim), torch.randn(4, config.text_dim)
    images = g(z, text, cond_noise=torch.randn(4, config.cond_dim))
    assert [tuple(x.shape) for x in images] == [(4, 3, r, r) for r in SCALES]
    assert all(torch.isfinite(x).all() for x in images)
    assert d(images, text).shape == (4,)
    assert d(images, torch.randn(2, 4, config.text_dim)).shape == (2, 4)  # one pass, two sets of texts
    real = downsample_pyramid(torch.rand(4, 3, 128, 128) * 2 - 1, len(SCALES))
    assert [x.shape[-1] for x in real] == SCALES


def test_rgb_skips_start_at_zero_and_make_each_scale_count():
    """A D with d_rgb_skips scores like the same D without them until the skips learn; once they are
    nonzero, a colour change at 4 px moves the score through them, and only the skip weights differ."""
    torch.manual_seed(0)
    config = tiny_config()
    plain, skips = Discriminator(config), Discriminator(dataclasses.replace(config, d_rgb_skips=True))
    missing = skips.load_state_dict(plain.state_dict(), strict=False).missing_keys
    assert missing == [f"rgb_skips.{i}.{p}" for i in range(5) for p in ("weight", "bias")]
    assert list(skips.state_dict())[: len(plain.state_dict())] == list(plain.state_dict())  # Adam's order kept
    real = downsample_pyramid(torch.rand(4, 3, 128, 128) * 2 - 1, len(SCALES))
    text = torch.randn(4, config.text_dim)
    assert torch.equal(plain(real, text), skips(real, text))

    def grad_at_4px(d: Discriminator) -> float:
        images = [x.clone().requires_grad_(True) for x in real]
        d(images, text).sum().backward()
        return images[0].grad.norm().item()

    before = grad_at_4px(skips)
    with torch.no_grad():
        skips.rgb_skips[-1].weight.normal_()  # the 4 px skip, as an ordinary initialisation would draw it
    assert not torch.equal(plain(real, text), skips(real, text))
    assert grad_at_4px(skips) > 2 * before


def test_smaller_resolutions_have_fewer_scales():
    config = tiny_config(resolution=32, channels={4: 8, 8: 8, 16: 8, 32: 8}, d_channels={4: 8, 8: 8, 16: 8, 32: 8})
    images = Generator(config)(torch.randn(2, config.z_dim), torch.randn(2, config.text_dim))
    assert [x.shape[-1] for x in images] == [4, 8, 16, 32]


def test_inference_uses_the_mean_code_and_conditioning_noise_changes_it():
    torch.manual_seed(0)
    config = tiny_config()
    g = Generator(config).eval()
    z, text = torch.randn(2, config.z_dim), torch.randn(2, config.text_dim)
    with torch.inference_mode():
        plain = g(z, text)[-1]
        assert torch.equal(plain, g(z, text)[-1])
        assert not torch.equal(plain, g(z, text, cond_noise=torch.randn(2, config.cond_dim))[-1])


def test_config_round_trips_through_json():
    config = tiny_config(text_encoder="infersent", text_dim=4096, text_encoder_options={"version": "2"})
    data = json.loads(json.dumps(config.to_dict()))  # JSON turns the width keys into strings
    assert ModelConfig.from_dict(data) == config
    assert ModelConfig() == ModelConfig.from_dict(json.loads(json.dumps(ModelConfig().to_dict())))


def test_save_and_load_round_trip(tmp_path):
    torch.manual_seed(0)
    config = tiny_config(cond_aug=False, z_dim=24)
    g = Generator(config).eval()
    g.save_pretrained(tmp_path)
    assert (tmp_path / CONFIG_NAME).is_file() and (tmp_path / WEIGHTS_NAME).is_file()
    assert read_config(tmp_path) == config
    z, text = torch.randn(3, config.z_dim), torch.randn(3, config.text_dim)
    with torch.inference_mode():
        expected = g(z, text)
        for loaded in (load_generator(tmp_path), Generator.from_pretrained(tmp_path), Generator.from_pretrained(str(tmp_path))):
            assert loaded.config == config and not loaded.training
            assert all(torch.equal(a, b) for a, b in zip(expected, loaded(z, text), strict=True))
    # Saved in half precision (as the export does), the weights load back into float32.
    g.half().save_pretrained(tmp_path / "fp16")
    assert load_generator(tmp_path / "fp16").fc.weight.dtype == torch.float32


BAD_CONFIGS = [
    ({"resolution": 100}, "resolution must be a power of two"),
    ({"resolution": 2048}, "resolution must be a power of two between 8 and 1024"),
    ({"channels": {4: 8, 8: 8}}, r"channels must give a width for each of \[4, 8, 16, 32, 64, 128\]"),
    ({"channels": {**TINY_CHANNELS, 64: 0}}, "channels widths must be positive integers"),
    ({"d_channels": {**TINY_CHANNELS, 64: True}}, "d_channels widths must be positive integers"),
    ({"channels": [4, 8]}, "channels must map resolutions to widths"),
    ({"channels": {"four": 8}}, "channels must map resolutions to widths"),
    ({"z_dim": "128"}, "z_dim must be a positive integer"),
    ({"cond_dim": 0}, "cond_dim must be a positive integer"),
    ({"text_dim": 384.0}, "text_dim must be a positive integer"),
    ({"cond_aug": "yes"}, "cond_aug must be true or false"),
    ({"d_rgb_skips": 1}, "d_rgb_skips must be true or false"),
    ({"text_encoder": ""}, "text_encoder must name the sentence encoder"),
    ({"text_encoder_options": ["version", "2"]}, "text_encoder_options must map names to strings"),
    ({"text_encoder_options": {"version": 2}}, "text_encoder_options must map names to strings"),
]


@pytest.mark.parametrize(("change", "message"), BAD_CONFIGS)
def test_bad_config_values_are_named(change, message):
    with pytest.raises(ValueError, match=message):
        dataclasses.replace(tiny_config(), **change)


def test_unknown_config_keys_are_rejected():
    with pytest.raises(ValueError, match=r"unknown model config keys: \['depth'\]"):
        ModelConfig.from_dict({**tiny_config().to_dict(), "depth": 6})
