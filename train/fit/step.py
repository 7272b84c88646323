"""One training step: the networks and their optimizers, the EMA generator, and a discriminator and a
generator update on one batch.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from t2f.files import bf16_native
from t2f.model import Discriminator, Generator, downsample_pyramid
from train.fit.augment import Augment
from train.fit.config import TrainConfig
from train.fit.distributed import Dist, all_reduce_mean_
from train.fit.losses import kl_standard_normal, mode_seeking, r1_penalty, ra_hinge_d, ra_hinge_g, scale_consistency


def step_generator(seed: int, step: int, rank: int, device: torch.device) -> torch.Generator:
    """The random stream of one step of one process."""
    return torch.Generator(device).manual_seed((seed * 1_000_003 + step) * 1024 + rank)


@dataclass
class Models:
    G: Generator
    D: Discriminator
    G_ema: Generator
    augment: Augment
    opt_g: torch.optim.Adam
    opt_d: torch.optim.Adam
    G_run: nn.Module  # G or its compiled form
    D_run: nn.Module

    def state_dict(self) -> dict:
        return {
            "G": self.G.state_dict(),
            "D": self.D.state_dict(),
            "G_ema": self.G_ema.state_dict(),
            "opt_g": self.opt_g.state_dict(),
            "opt_d": self.opt_d.state_dict(),
        }

    def load_state_dict(self, state: dict) -> None:
        """Load a checkpoint's or a training state's networks and optimizers. An optimizer state without
        ``param_groups`` (the compact training state) keeps the hyper-parameters the config built.
        A D saved without the rgb skips this D has (see ``_check_resumable``) keeps them at their zero
        init, and Adam starts their moments afresh."""
        for name in ("G", "G_ema"):
            getattr(self, name).load_state_dict(state[name])
        grown = {k: v for k, v in self.D.state_dict().items() if k.startswith("rgb_skips.") and k not in state["D"]}
        self.D.load_state_dict({**grown, **state["D"]})
        for name in ("opt_g", "opt_d"):
            opt = getattr(self, name)
            opt.load_state_dict({"param_groups": opt.state_dict()["param_groups"], **state[name]})


def build_models(cfg: TrainConfig, device: torch.device) -> Models:
    """Networks, EMA copy, augmentation and Adam(beta1, beta2), seeded by cfg.seed (same on every process)."""
    torch.manual_seed(cfg.seed)
    G = Generator(cfg.model).to(device, memory_format=cfg.memory_format).train()
    D = Discriminator(cfg.model).to(device, memory_format=cfg.memory_format).train()
    G_ema = copy.deepcopy(G).eval().requires_grad_(False)
    betas = (cfg.beta1, cfg.beta2)
    opt_g = torch.optim.Adam(G.parameters(), lr=cfg.lr_g, betas=betas)
    opt_d = torch.optim.Adam(D.parameters(), lr=cfg.lr_d, betas=betas)
    if cfg.compile:
        # The same networks run at a few fixed batch shapes: one static graph each beats a dynamic one.
        torch._dynamo.config.automatic_dynamic_shapes = False
        G_run, D_run = torch.compile(G), torch.compile(D)
    else:
        G_run, D_run = G, D
    return Models(G, D, G_ema, Augment(cfg.augment, cfg.augment_p).to(device), opt_g, opt_d, G_run, D_run)


def ema_beta(cfg: TrainConfig, nimg: int) -> float:
    """Per-step EMA decay from a half-life in images, shortened early in training (StyleGAN2-ADA)."""
    half_life = cfg.ema_kimg * 1000
    if cfg.ema_rampup > 0:
        half_life = min(half_life, nimg * cfg.ema_rampup)
    return 0.5 ** (cfg.batch_size / max(half_life, 1e-8))


@torch.no_grad()
def update_ema(ema: nn.Module, model: nn.Module, beta: float) -> None:
    ema_params, params = list(ema.parameters()), list(model.parameters())
    torch._foreach_lerp_(ema_params, params, 1.0 - beta)


def _set_requires_grad(module: nn.Module, flag: bool) -> None:
    for p in module.parameters():
        p.requires_grad_(flag)


def discriminator_scores(D: nn.Module, real_pyr: list[Tensor], fake_pyr: list[Tensor], text: Tensor, wrong: Tensor, fake_text: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """(real, real-with-wrong-text, fake) scores. Real and fake go through D in separate passes, so
    minibatch-stddev groups never mix them (a mixed group carries no real/fake signal); the wrong
    text rides on the real pass through the projection term."""
    real_s, wrong_s = D(real_pyr, torch.stack([text, wrong])).float()
    return real_s, wrong_s, D(fake_pyr, fake_text).float()


def train_step(m: Models, cfg: TrainConfig, d: Dist, step: int, images: Tensor, text: Tensor) -> dict[str, Tensor]:
    """One discriminator and one generator update. Returns the loss terms (detached, on device).

    One generator pass serves both updates (DCGAN's order): D learns on the fakes detached, then G
    gets gradients through the updated D on the same fakes. G's relativistic loss compares with the
    real scores of D's pass, taken just before D's update, instead of scoring the real batch again:
    both save a network pass per step, which is a third of a step on the CPU.
    """
    device = images.device
    g = step_generator(cfg.seed, step, d.rank, device)
    mc = cfg.model
    n = images.shape[0]
    amp = torch.autocast(device.type, dtype=torch.bfloat16, enabled=_bf16(cfg, device))
    real = (images.float() / 127.5 - 1).contiguous(memory_format=cfg.memory_format)
    real_pyr = m.augment(downsample_pyramid(real, len(mc.resolutions)), g)
    wrong = text.roll(1, dims=0)  # each real image with another image's description
    # With the mode-seeking term, fakes come in pairs (i, i + n/2) that share a text and differ in noise.
    fake_text = torch.cat([text[: n // 2]] * 2) if cfg.mode_seeking_weight > 0 else text
    z = torch.randn(n, mc.z_dim, generator=g, device=device)
    eps = torch.randn(n, mc.cond_dim, generator=g, device=device)
    with amp:
        fake = m.G_run(z, fake_text, eps)
    fake_pyr = m.augment([x.float() for x in fake], g)

    # Discriminator: real vs fake (relativistic average hinge) + real/matched vs real/mismatched.
    _set_requires_grad(m.D, True)
    with amp:
        real_s, wrong_s, fake_s = discriminator_scores(m.D_run, real_pyr, [x.detach() for x in fake_pyr], text, wrong, fake_text)
    loss_adv = ra_hinge_d(real_s, fake_s)
    loss_mismatch = ra_hinge_d(real_s, wrong_s)
    loss_d = loss_adv + cfg.mismatch_weight * loss_mismatch
    m.opt_d.zero_grad(set_to_none=True)
    loss_d.backward()
    out = {"d_adv": loss_adv.detach(), "d_mismatch": loss_mismatch.detach()}
    if cfg.r1_gamma > 0 and step % cfg.r1_interval == 0:
        # Lazy R1 (scaled by the interval), on the uncompiled D: compile has no double backward.
        inputs = [x.detach().requires_grad_(True) for x in real_pyr]
        penalty = r1_penalty(m.D(inputs, text), inputs)
        (penalty * (cfg.r1_gamma / 2 * cfg.r1_interval)).backward()
        out["r1"] = penalty.detach()
    all_reduce_mean_([p.grad for p in m.D.parameters() if p.grad is not None], d)
    m.opt_d.step()

    # Generator: fool the updated D relative to the real batch; KL keeps the text code near N(0, I).
    _set_requires_grad(m.D, False)
    with amp:
        fake_s = m.D_run(fake_pyr, fake_text).float()
    loss_g = ra_hinge_g(real_s.detach(), fake_s)
    out["g_adv"] = loss_g.detach()
    if mc.cond_aug and cfg.kl_weight > 0:
        kl = kl_standard_normal(*m.G.cond.stats(text))
        loss_g = loss_g + cfg.kl_weight * kl
        out["kl"] = kl.detach()
    if cfg.mode_seeking_weight > 0:
        h = n // 2
        noise = torch.cat([z, eps], dim=1)
        top = fake[-1].float()
        ms = mode_seeking(top[:h], top[h:], noise[:h], noise[h:])
        loss_g = loss_g + cfg.mode_seeking_weight * ms
        out["mode_seeking"] = ms.detach()
    if cfg.scale_consistency_weight > 0:
        sc = scale_consistency([x.float() for x in fake])
        loss_g = loss_g + cfg.scale_consistency_weight * sc
        out["scale_consistency"] = sc.detach()
    m.opt_g.zero_grad(set_to_none=True)
    loss_g.backward()
    all_reduce_mean_([p.grad for p in m.G.parameters() if p.grad is not None], d)
    m.opt_g.step()
    return out


def _bf16(cfg: TrainConfig, device: torch.device) -> bool:
    """bf16 autocast when asked, or with "auto" where bf16 is native (``t2f.files.bf16_native``)."""
    if cfg.precision != "auto":
        return cfg.precision == "bf16"
    return bf16_native(device)
