"""The training maths on hand-computed cases: losses, minibatch stddev, initial scales, EMA, R1, bf16."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from conftest import REPO
from t2f.model import Discriminator, ModelConfig, downsample_pyramid, minibatch_stddev
from train.fit.config import TrainConfig
from train.fit.distributed import Dist
from train.fit.step import build_models, ema_beta, train_step
from train.fit.losses import kl_standard_normal, mode_seeking, r1_penalty, ra_hinge_d, ra_hinge_g, scale_consistency

SMALL = {4: 16, 8: 16, 16: 8, 32: 8}


def small_config(**overrides) -> TrainConfig:
    model = ModelConfig(resolution=32, channels=SMALL, d_channels=SMALL, z_dim=16, cond_dim=16)
    values = dict(model=model, batch_size=8, channels_last=False, augment=())
    values.update(overrides)
    return TrainConfig(**values)


def batch(cfg: TrainConfig, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    r = cfg.model.resolution
    images = torch.randint(0, 256, (cfg.batch_size, 3, r, r), generator=g, dtype=torch.uint8)
    return images, torch.randn(cfg.batch_size, cfg.model.text_dim, generator=g)


def test_relativistic_hinge_on_hand_picked_scores():
    real, fake = torch.tensor([2.0, 0.0]), torch.tensor([0.0, -1.0])
    # mean(real) = 1, mean(fake) = -0.5.
    # D: relu(1 - (2 + .5)) = 0, relu(1 - (0 + .5)) = .5 -> .25; relu(1 + (0 - 1)) = 0, relu(1 + (-1 - 1)) = 0.
    assert ra_hinge_d(real, fake).item() == pytest.approx(0.25)
    # G: relu(1 + 2.5) = 3.5, relu(1 + .5) = 1.5 -> 2.5; relu(1 - (0 - 1)) = 2, relu(1 - (-1 - 1)) = 3 -> 2.5.
    assert ra_hinge_g(real, fake).item() == pytest.approx(5.0)
    # A D that ranks fakes above reals pays more; a G whose fakes beat the reals pays less.
    assert ra_hinge_d(fake, real) > ra_hinge_d(real, fake)
    assert ra_hinge_g(fake, real) < ra_hinge_g(real, fake)


def test_kl_is_per_code_dimension():
    mu = torch.tensor([[1.0, 0.0], [0.0, 0.0]])
    assert kl_standard_normal(mu, torch.zeros_like(mu)).item() == pytest.approx(0.5 * 1 / 4)
    logvar = torch.full((3, 128), math.log(2.0))
    # 0.5 * (0 + 2 - 1 - ln 2) for every element, whatever the number of dimensions.
    assert kl_standard_normal(torch.zeros(3, 128), logvar).item() == pytest.approx(0.5 * (1 - math.log(2)))
    assert kl_standard_normal(torch.zeros(3, 128), torch.zeros(3, 128)).item() == 0


def test_mode_seeking_rewards_distance_between_faces_per_noise_distance():
    a = torch.zeros(2, 3, 8, 8)
    near, far = a + 0.1, a + 0.5
    za, zb = torch.zeros(2, 4), torch.ones(2, 4)
    assert mode_seeking(a, near, za, zb).item() == pytest.approx(1 / (0.1 + 1e-5), rel=1e-4)
    assert mode_seeking(a, far, za, zb) < mode_seeking(a, near, za, zb)


def test_r1_penalty_is_the_squared_input_gradient_over_all_scales():
    inputs = [torch.randn(2, 3, 4, 4, requires_grad=True), torch.randn(2, 3, 8, 8, requires_grad=True)]
    scores = 3 * inputs[0].sum(dim=(1, 2, 3)) - 2 * inputs[1].sum(dim=(1, 2, 3))
    # Per sample: 9 per element at 4x4, 4 per element at 8x8.
    assert r1_penalty(scores, inputs).item() == pytest.approx(9 * 48 + 4 * 192)


def test_ema_half_life_and_ramp_up():
    cfg = small_config(ema_kimg=0.64, ema_rampup=0.0, batch_size=32)
    assert ema_beta(cfg, 10**6) ** (640 / 32) == pytest.approx(0.5)
    ramped = small_config(ema_kimg=0.64, ema_rampup=0.05, batch_size=32)
    # After 1,000 images the half-life is 5% of them: 50 images.
    assert ema_beta(ramped, 1000) == pytest.approx(0.5 ** (32 / 50))
    assert ema_beta(ramped, 10**6) == pytest.approx(ema_beta(cfg, 10**6))


def test_minibatch_stddev_groups_samples_j_and_j_plus_n_over_g():
    x = torch.zeros(8, 1, 1, 1)
    x[[0, 2, 4, 6], 0, 0, 0] = torch.tensor([0.0, 2.0, 0.0, 2.0])  # group of sample 0: std 1
    out = minibatch_stddev(x, group_size=4)[:, 1, 0, 0]
    assert out.shape == (8,)
    assert out[[0, 2, 4, 6]].tolist() == pytest.approx([1.0] * 4, abs=1e-3)
    assert out[[1, 3, 5, 7]].tolist() == pytest.approx([0.0] * 4, abs=1e-3)
    # A batch the group size does not divide falls back to the largest group that tiles it.
    assert minibatch_stddev(torch.randn(6, 2, 3, 3), group_size=4).shape == (6, 3, 3, 3)


def test_discriminator_update_never_mixes_real_and_fake_in_a_stddev_group():
    """Identical real images and varied fakes: if a group held both, the real samples' stddev
    feature would be the fakes' spread instead of 0."""
    cfg = small_config()
    m = build_models(cfg, torch.device("cpu"))
    features = []
    m.D.final_conv.register_forward_pre_hook(lambda module, args: features.append(args[0][:, -1].detach().clone()))
    images, text = batch(cfg)
    images[:] = images[:1]
    train_step(m, cfg, Dist(), 0, images, text)
    real_pass, fake_pass = features[0], features[1]  # the D update's two passes
    assert real_pass.shape[0] == cfg.batch_size
    assert real_pass.abs().max() < 1e-3
    assert fake_pass.min() > 1e-2


@pytest.mark.parametrize("config", ["celeba128.json", "celeba128-cpu.json"])
def test_fresh_discriminator_keeps_feature_scale(config):
    """With the sqrt(2) gain, each block's output std stays within 4x of 1 on face-like inputs
    (smooth, std 0.58 like CelebA crops); without it, it fell to ~0.01 by the last block."""
    model = TrainConfig.from_file(REPO / "train" / "configs" / config).model
    torch.manual_seed(0)
    D = Discriminator(model)
    stds = []
    for block in D.blocks:
        block.register_forward_hook(lambda module, args, out: stds.append(out.std().item()))
    D.final_dense.register_forward_hook(lambda module, args, out: stds.append(F.leaky_relu(out, 0.2).std().item()))
    g = torch.Generator().manual_seed(0)
    images = F.interpolate(torch.randn(8, 3, 16, 16, generator=g), size=model.resolution, mode="bilinear")
    images = images / images.std() * 0.58
    with torch.no_grad():
        D(downsample_pyramid(images, len(model.resolutions)), torch.randn(8, model.text_dim, generator=g))
    assert len(stds) == len(model.resolutions)
    assert all(0.25 <= s <= 4 for s in stds), stds


def d_grads(cfg: TrainConfig, step: int) -> list[torch.Tensor]:
    """D's gradients of one train_step from the seeded initial models (Adam leaves them in .grad)."""
    m = build_models(cfg, torch.device("cpu"))
    train_step(m, cfg, Dist(), step, *batch(cfg))
    return [p.grad.clone() for p in m.D.parameters()]


def test_lazy_r1_adds_interval_scaled_gradient_on_its_steps():
    gamma, interval = 2.0, 4
    with_r1, without = small_config(r1_gamma=gamma, r1_interval=interval), small_config()
    m = build_models(with_r1, torch.device("cpu"))
    images, text = batch(with_r1)
    real = downsample_pyramid(images.float() / 127.5 - 1, len(with_r1.model.resolutions))
    inputs = [x.requires_grad_(True) for x in real]
    penalty = r1_penalty(m.D(inputs, text), inputs)
    expected = torch.autograd.grad(penalty * (gamma / 2 * interval), list(m.D.parameters()), allow_unused=True)
    for got, plain, want in zip(d_grads(with_r1, 0), d_grads(without, 0), expected):
        torch.testing.assert_close(got - plain, torch.zeros_like(got) if want is None else want, rtol=1e-3, atol=1e-4)
    # Off its steps, R1 adds nothing.
    for got, plain in zip(d_grads(with_r1, 1), d_grads(without, 1)):
        torch.testing.assert_close(got, plain)


def test_bf16_autocast_step_on_the_cpu():
    cfg = small_config(precision="bf16", augment=("flip", "color", "translation", "cutout"), mode_seeking_weight=1.0)
    m = build_models(cfg, torch.device("cpu"))
    before = [p.clone() for p in m.G.parameters()]
    out = train_step(m, cfg, Dist(), 0, *batch(cfg))
    assert set(out) == {"d_adv", "d_mismatch", "g_adv", "kl", "mode_seeking"}
    assert all(torch.isfinite(v) for v in out.values())
    assert all(p.dtype == torch.float32 for p in m.G.parameters())
    assert any(not torch.equal(a, b) for a, b in zip(before, m.G.parameters()))


def test_mode_seeking_needs_an_even_batch():
    with pytest.raises(ValueError, match="batch_size must be even"):
        small_config(batch_size=7, mode_seeking_weight=1.0)


def test_scale_consistency_is_the_scale_gap_and_pulls_only_the_smaller_outputs():
    """Zero for a pyramid made by pooling; otherwise the mean over smaller outputs of their mean absolute
    difference from the pooled largest, whose gradient reaches the smaller outputs only."""
    g = torch.Generator().manual_seed(0)
    top = torch.randn(2, 3, 16, 16, generator=g)
    pyramid = [F.avg_pool2d(top, 4), F.avg_pool2d(top, 2), top]
    assert scale_consistency(pyramid).item() == pytest.approx(0.0, abs=1e-7)
    small = [(x + 0.5 * torch.randn(x.shape, generator=g)).requires_grad_(True) for x in pyramid[:2]]
    big = top.clone().requires_grad_(True)
    loss = scale_consistency([*small, big])
    gaps = [(small[0] - pyramid[0]).abs().mean(), (small[1] - pyramid[1]).abs().mean()]
    assert loss.item() == pytest.approx(((gaps[0] + gaps[1]) / 2).item(), rel=1e-6)
    loss.backward()
    assert big.grad is None and all(x.grad.abs().sum() > 0 for x in small)


def test_train_step_adds_the_scale_consistency_term_to_g_only():
    cfg, off = small_config(scale_consistency_weight=10.0), small_config()
    runs = {}
    for name, c in (("on", cfg), ("off", off)):
        m = build_models(c, torch.device("cpu"))
        out = train_step(m, c, Dist(), 0, *batch(c))
        runs[name] = (out, [p.clone() for p in m.G.parameters()], [p.clone() for p in m.D.parameters()])
    assert "scale_consistency" in runs["on"][0] and "scale_consistency" not in runs["off"][0]
    assert runs["on"][0]["scale_consistency"] > 0
    assert all(torch.equal(a, b) for a, b in zip(runs["on"][2], runs["off"][2]))  # D's update is the same
    assert any(not torch.equal(a, b) for a, b in zip(runs["on"][1], runs["off"][1]))
    with pytest.raises(ValueError, match="scale_consistency_weight must be a number >= 0"):
        small_config(scale_consistency_weight=-1.0)
