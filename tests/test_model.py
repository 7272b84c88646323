"""The conditional MSG-GAN: output scales, configs and their round trip through config.json."""

import dataclasses
import json

import pytest
import torch
from conftest import TINY_CHANNELS, tiny_config

from t2f.files import CONFIG_NAME, WEIGHTS_NAME
from t2f.model import Discriminator, Generator, ModelConfig, downsample_pyramid, upsample_rgb

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


def _images_and_features(g: Generator, z: torch.Tensor, text: torch.Tensor) -> tuple[list, list]:
    """G's images and the features each block hands to its toRGB (read with forward hooks)."""
    features = []
    hooks = [block.register_forward_hook(lambda module, args, out: features.append(out)) for block in g.blocks]
    try:
        return g(z, text), features
    finally:
        for hook in hooks:
            hook.remove()


def test_skip_generator_adds_each_blocks_rgb_to_the_upsampled_scale_below():
    """With g_skips, images[i] = bilinear_up(images[i - 1]) + to_rgb[i](block i's features); without, to_rgb alone."""
    torch.manual_seed(0)
    plain = Generator(tiny_config()).eval()
    skips = Generator(tiny_config(g_skips=True)).eval()
    skips.load_state_dict(plain.state_dict())  # strict: the same parameters, g_skips only changes the wiring
    z, text = torch.randn(3, 16), torch.randn(3, 384)
    with torch.no_grad():
        images, features = _images_and_features(skips, z, text)
        plain_images, plain_features = _images_and_features(plain, z, text)
        assert [tuple(x.shape) for x in images] == [(3, 3, r, r) for r in SCALES]
        torch.testing.assert_close(features, plain_features)
        assert torch.equal(images[0], plain_images[0])  # 4 px: the 4 px toRGB alone, in both
        for i in range(1, len(SCALES)):
            up = torch.nn.functional.interpolate(images[i - 1], scale_factor=2, mode="bilinear", align_corners=False)
            torch.testing.assert_close(images[i], up + skips.to_rgb[i](features[i - 1]))
            torch.testing.assert_close(plain_images[i], plain.to_rgb[i](features[i - 1]))
            assert (images[i] - up).abs().mean() < (images[i] - images[i].mean()).abs().mean()  # residual < image


def test_bilinear_upsampling_pools_back_to_about_the_image():
    """Reals are 2x2 average pools of the scale above, so avg_pool2d(upsample_rgb(x)) should be close to x. It
    is a [1, 6, 1] / 8 blur: exact for a constant, and for a picture whose detail is coarse next to the pixel
    grid the gap shrinks ~4x per octave (here 32%, 12%, 3.5%, 0.9%, 0.2% of its contrast at 4..64 px)."""
    torch.manual_seed(0)
    constant = torch.full((1, 3, 8, 8), 0.3)
    assert torch.allclose(torch.nn.functional.avg_pool2d(upsample_rgb(constant), 2), constant)
    smooth = torch.nn.functional.interpolate(torch.rand(4, 3, 4, 4) * 2 - 1, size=128, mode="bicubic", align_corners=False)
    gaps = []
    for x in downsample_pyramid(smooth, len(SCALES)):
        gap = (torch.nn.functional.avg_pool2d(upsample_rgb(x), 2) - x).abs().mean() / (x - x.mean()).abs().mean()
        gaps.append(gap.item())
    assert all(a > 2.5 * b for a, b in zip(gaps, gaps[1:])), gaps
    assert gaps[2] < 0.05 and gaps[4] < 0.005, gaps  # 16 px and 64 px


def test_skip_generator_starts_with_the_plain_generators_output_scale():
    """Six summed toRGBs at gain 1 would make the 128 px image ~2x too strong at initialisation; the higher
    toRGBs' smaller gain keeps it near the plain generator's (tiny widths, 8 seeds: about 0.77 against 0.88;
    default widths, 20 seeds: 0.89 against 0.87, shipped widths 0.80 against 0.85)."""

    def mean_std(g_skips: bool, unit_gain: bool = False) -> float:
        stds = []
        for seed in range(8):
            torch.manual_seed(seed)
            g = Generator(tiny_config(g_skips=g_skips))
            if unit_gain:
                for to_rgb in g.to_rgb:
                    to_rgb.scale = 1 / to_rgb.weight.shape[1] ** 0.5
            with torch.no_grad():
                stds.append(g(torch.randn(16, 16), torch.randn(16, 384))[-1].std().item())
        return sum(stds) / len(stds)

    plain, skips, unscaled = mean_std(False), mean_std(True), mean_std(True, unit_gain=True)
    assert 0.75 < skips / plain < 1.33, (skips, plain)
    assert unscaled / plain > 1.5, (unscaled, plain)


def test_only_the_skip_generator_trains_its_4px_rgb_from_the_128px_image():
    torch.manual_seed(0)
    z, text = torch.randn(2, 16), torch.randn(2, 384)
    for g_skips in (False, True):
        g = Generator(tiny_config(g_skips=g_skips))
        loss = g(z, text)[-1].square().mean()  # a loss on the 128 px output only
        (grad,) = torch.autograd.grad(loss, [g.to_rgb[0].weight], allow_unused=True)
        if g_skips:
            assert grad is not None and grad.abs().sum() > 0
        else:
            assert grad is None  # the 4 px toRGB is not on the 128 px image's path at all


def test_config_round_trips_through_json():
    config = tiny_config(text_encoder="infersent", text_dim=4096, text_encoder_options={"version": "2"})
    data = json.loads(json.dumps(config.to_dict()))  # JSON turns the width keys into strings
    assert ModelConfig.from_dict(data) == config
    assert ModelConfig() == ModelConfig.from_dict(json.loads(json.dumps(ModelConfig().to_dict())))
    skips = tiny_config(g_skips=True, d_rgb_skips=True)
    data = json.loads(json.dumps(skips.to_dict()))
    assert data["g_skips"] is True and ModelConfig.from_dict(data) == skips
    del data["g_skips"]  # a config.json written before g_skips existed means the plain generator
    assert ModelConfig.from_dict(data).g_skips is False


def test_save_and_load_round_trip(tmp_path):
    torch.manual_seed(0)
    config = tiny_config(cond_aug=False, z_dim=24)
    g = Generator(config).eval()
    g.save_pretrained(tmp_path)
    assert (tmp_path / CONFIG_NAME).is_file() and (tmp_path / WEIGHTS_NAME).is_file()
    assert ModelConfig.from_folder(tmp_path) == config
    z, text = torch.randn(3, config.z_dim), torch.randn(3, config.text_dim)
    with torch.inference_mode():
        expected = g(z, text)
        for loaded in (Generator.from_folder(tmp_path), Generator.from_pretrained(tmp_path), Generator.from_pretrained(str(tmp_path))):
            assert loaded.config == config and not loaded.training
            assert all(torch.equal(a, b) for a, b in zip(expected, loaded(z, text), strict=True))
    # Saved in half precision (as the export does), the weights load back into float32.
    g.half().save_pretrained(tmp_path / "fp16")
    assert Generator.from_folder(tmp_path / "fp16").fc.weight.dtype == torch.float32


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
    ({"g_skips": "yes"}, "g_skips must be true or false"),
    ({"text_encoder": ""}, "text_encoder must name the sentence encoder"),
    ({"text_encoder_options": ["version", "2"]}, "text_encoder_options must map names to strings"),
    ({"text_encoder_options": {"version": 2}}, "text_encoder_options must map names to strings"),
    # Absurd sizes fail with their name instead of an out-of-memory traceback from torch.
    ({"channels": {**TINY_CHANNELS, 8: 200_000}}, "channels widths must be at most 4096"),
    ({"d_channels": {**TINY_CHANNELS, 128: 4097}}, "d_channels widths must be at most 4096"),
    ({"z_dim": 10**7}, "z_dim must be at most 16384, got 10000000"),
    ({"cond_dim": 16385}, "cond_dim must be at most 16384"),
    ({"text_dim": 10**6}, "text_dim must be at most 16384"),
    ({"mbstd_group": 65}, "mbstd_group must be at most 64"),
]


@pytest.mark.parametrize(("change", "message"), BAD_CONFIGS)
def test_bad_config_values_are_named(change, message):
    with pytest.raises(ValueError, match=message):
        dataclasses.replace(tiny_config(), **change)


def test_the_size_bounds_are_inclusive():
    wide = {r: 4096 for r in SCALES}
    config = tiny_config(channels=wide, d_channels=wide, z_dim=16384, cond_dim=16384, text_dim=16384, mbstd_group=64)
    assert ModelConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config  # checked, not built


def test_unknown_config_keys_are_rejected():
    with pytest.raises(ValueError, match=r"unknown model config keys: \['depth'\]"):
        ModelConfig.from_dict({**tiny_config().to_dict(), "depth": 6})
