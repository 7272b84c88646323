"""Conditional MSG-GAN (Karnewar & Wang, CVPR 2020) driven by a sentence embedding.

The generator emits an RGB image at every block (4, 8, ..., resolution); the discriminator
reads all of them at once, so gradients reach every scale. Text conditions the generator
through a (optionally stochastic) projection concatenated with the noise, and the
discriminator through a projection term (Miyato & Koyama, 2018).

Shape contract: images are lists ordered by resolution, ``images[i]`` is ``(N, 3, 4*2**i, 4*2**i)``
with values in about [-1, 1]; text embeddings are ``(N, text_dim)``.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F
from huggingface_hub import PyTorchModelHubMixin
from torch import Tensor, nn

from t2f.files import CONFIG_NAME, WEIGHTS_NAME, read_json_object, read_state_dict
from t2f.hub import resolve_weights


# Upper bounds, so a mistyped config fails here with its name rather than as an out-of-memory traceback
# deep in torch. The largest sensible published configs are far below: ProGAN and StyleGAN2 are at most
# 512 wide, BigGAN-deep 2048; latents are 128-512 wide, sentence embeddings a few thousand at most
# (InferSent 4096), and minibatch-stddev groups are 4 (ProGAN, StyleGAN2).
MAX_WIDTH = 4096  # a channel count of G or D at any resolution
MAX_DIM = 16384  # z_dim, cond_dim and text_dim
MAX_MBSTD_GROUP = 64


def _default_channels() -> dict[int, int]:
    return {4: 256, 8: 256, 16: 256, 32: 128, 64: 64, 128: 32}


@dataclass
class ModelConfig:
    """Architecture and text-encoder contract of a T2F-MSGGAN model, saved as ``config.json``."""

    resolution: int = 128
    channels: dict[int, int] = field(default_factory=_default_channels)  # generator width per resolution
    d_channels: dict[int, int] = field(default_factory=_default_channels)  # discriminator width per resolution
    z_dim: int = 128
    cond_dim: int = 128  # size of the projected text code fed to the generator
    cond_aug: bool = True  # conditioning augmentation: sample the code from N(mu, sigma) while training
    text_encoder: str = "all-MiniLM-L6-v2"
    text_dim: int = 384
    text_encoder_options: dict[str, str] = field(default_factory=dict)  # e.g. InferSent version and files
    mbstd_group: int = 4
    # Discriminator only: each scale below the top also enters through its own learned 1x1 conv (as in
    # MSG-GAN's lin_cat combine and StyleGAN2's input skips), added to the features so that a trained D
    # can grow it; as 3 raw channels beside hundreds of feature channels, a scale barely moves D's score.
    # The raw channels stay concatenated as well (the shipped weights were trained with both).
    d_rgb_skips: bool = False
    # Generator only: compose the outputs across scales as StyleGAN2's skip generator (Karras et al. 2020,
    # Fig. 7b): image_4 = toRGB_4(features_4), image_r = upsample(image_{r/2}) + toRGB_r(features_r), so the
    # small outputs are the coarse layout of the large one rather than separate pictures.
    g_skips: bool = False

    def __post_init__(self) -> None:
        # JSON turns int keys into strings: accept both so a config round-trips through config.json.
        self.channels = _int_keys(self.channels, "channels")
        self.d_channels = _int_keys(self.d_channels, "d_channels")
        r = self.resolution
        if not _is_positive_int(r) or r < 8 or r > 1024 or r & (r - 1):
            raise ValueError(f"resolution must be a power of two between 8 and 1024, got {r!r}")
        for name in ("channels", "d_channels"):
            widths = getattr(self, name)
            if sorted(widths) != self.resolutions:
                raise ValueError(f"{name} must give a width for each of {self.resolutions}, got keys {sorted(widths)}")
            if not all(_is_positive_int(c) for c in widths.values()):
                raise ValueError(f"{name} widths must be positive integers, got {widths}")
            if max(widths.values()) > MAX_WIDTH:
                raise ValueError(f"{name} widths must be at most {MAX_WIDTH}, got {widths}")
        for name, limit in (("z_dim", MAX_DIM), ("cond_dim", MAX_DIM), ("text_dim", MAX_DIM), ("mbstd_group", MAX_MBSTD_GROUP)):
            value = getattr(self, name)
            if not _is_positive_int(value):
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
            if value > limit:
                raise ValueError(f"{name} must be at most {limit}, got {value}")
        for name in ("cond_aug", "d_rgb_skips", "g_skips"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name} must be true or false, got {getattr(self, name)!r}")
        if not isinstance(self.text_encoder, str) or not self.text_encoder:
            raise ValueError("text_encoder must name the sentence encoder the model was trained with")
        options = self.text_encoder_options
        if not isinstance(options, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in options.items()):
            raise ValueError(f"text_encoder_options must map names to strings, got {options!r}")

    @property
    def resolutions(self) -> list[int]:
        """Every output scale, smallest first: [4, 8, ..., resolution]."""
        return [2**i for i in range(2, int(math.log2(self.resolution)) + 1)]

    def to_dict(self) -> dict:
        """A JSON-ready dict (the form stored in config.json)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> ModelConfig:
        """Build a config from a dict, rejecting keys this version does not know."""
        unknown = sorted(set(data) - set(cls.__dataclass_fields__))
        if unknown:
            raise ValueError(f"unknown model config keys: {unknown}")
        return cls(**data)

    @classmethod
    def from_folder(cls, folder: str | Path) -> ModelConfig:
        """Read and validate ``config.json`` in a weights folder; errors name the file."""
        file = Path(folder) / CONFIG_NAME
        if not file.is_file():
            raise FileNotFoundError(f"{file} is missing: a weights folder needs {CONFIG_NAME} beside {WEIGHTS_NAME}")
        data = read_json_object(file)
        try:
            return cls.from_dict(data)
        except (TypeError, ValueError) as e:
            raise ValueError(f"{file} is not a valid model config: {e}") from None


def _is_positive_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1  # JSON true is no width


def _int_keys(widths: dict, name: str) -> dict[int, int]:
    try:
        return {int(k): v for k, v in widths.items()}
    except (AttributeError, TypeError, ValueError):
        raise ValueError(f"{name} must map resolutions to widths, got {widths!r}") from None


# --- layers ---------------------------------------------------------------------------------------
# Equalized learning rate (ProGAN, used by MSG-GAN): weights are N(0, 1) and scaled at run time, so
# Adam's per-parameter step sizes act the same on every layer. Layers followed by a LeakyReLU use
# He's gain sqrt(2) (ProGAN's and MSG-GAN's), so the activations keep unit scale from block to
# block; without it the discriminator's features shrink about 3x per block.
LRELU_GAIN = math.sqrt(2)


class EqLinear(nn.Module):
    def __init__(self, in_features: int, out_features: int, gain: float = 1.0):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_features, in_features))
        self.bias = nn.Parameter(torch.zeros(out_features))
        self.scale = gain / math.sqrt(in_features)

    def forward(self, x: Tensor) -> Tensor:
        return F.linear(x, self.weight * self.scale, self.bias)


class EqConv2d(nn.Module):
    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, padding: int = 0, gain: float = 1.0):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, kernel_size, kernel_size))
        self.bias = nn.Parameter(torch.zeros(out_channels))
        self.scale = gain / math.sqrt(in_channels * kernel_size * kernel_size)
        self.padding = padding

    def forward(self, x: Tensor) -> Tensor:
        return F.conv2d(x, self.weight * self.scale, self.bias, padding=self.padding)


def pixel_norm(x: Tensor, eps: float = 1e-8) -> Tensor:
    """Normalise each pixel's feature vector to unit RMS (ProGAN)."""
    return x * torch.rsqrt(x.pow(2).mean(dim=1, keepdim=True) + eps)


def lrelu(x: Tensor) -> Tensor:
    return F.leaky_relu(x, 0.2)


def normalize_text(text: Tensor) -> Tensor:
    """Unit-norm embeddings rescaled to unit variance per dimension, whatever the encoder's scale."""
    return F.normalize(text.float(), dim=-1) * math.sqrt(text.shape[-1])


def minibatch_stddev(x: Tensor, group_size: int) -> Tensor:
    """Append the mean standard deviation over groups of samples as one feature map (ProGAN)."""
    n, c, h, w = x.shape
    g = math.gcd(group_size, n)  # groups must tile the batch; fall back to smaller groups
    y = x.float().reshape(g, n // g, c, h, w)
    y = (y.var(dim=0, unbiased=False) + 1e-8).sqrt().mean(dim=(1, 2, 3))  # (n // g,)
    y = y.reshape(1, n // g, 1, 1, 1).expand(g, -1, 1, h, w).reshape(n, 1, h, w)
    return torch.cat([x, y.to(x.dtype)], dim=1)


# --- generator ------------------------------------------------------------------------------------


class TextConditioning(nn.Module):
    """Text embedding -> code of ``cond_dim``; with ``cond_aug`` a Gaussian (mu, log-variance) as in StackGAN."""

    def __init__(self, text_dim: int, cond_dim: int, cond_aug: bool):
        super().__init__()
        self.cond_aug = cond_aug
        self.proj = EqLinear(text_dim, cond_dim * (2 if cond_aug else 1))

    def stats(self, text: Tensor) -> tuple[Tensor, Tensor]:
        """(mu, logvar) of the code; logvar is zeros without conditioning augmentation."""
        h = self.proj(normalize_text(text))
        if not self.cond_aug:
            return h, torch.zeros_like(h)
        mu, logvar = h.chunk(2, dim=1)
        return mu, logvar

    def forward(self, text: Tensor, noise: Tensor | None = None) -> Tensor:
        mu, logvar = self.stats(text)
        if noise is None or not self.cond_aug:
            return mu  # inference uses the mean code: same text, same face for a seed
        return mu + noise * torch.exp(0.5 * logvar)


class GBlock(nn.Module):
    """x2 nearest upsampling, then two 3x3 convs, each followed by LeakyReLU and pixel norm."""

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__()
        self.conv1 = EqConv2d(in_channels, out_channels, 3, padding=1, gain=LRELU_GAIN)
        self.conv2 = EqConv2d(out_channels, out_channels, 3, padding=1, gain=LRELU_GAIN)

    def forward(self, x: Tensor) -> Tensor:
        x = F.interpolate(x, scale_factor=2.0, mode="nearest")
        x = pixel_norm(lrelu(self.conv1(x)))
        return pixel_norm(lrelu(self.conv2(x)))


def upsample_rgb(image: Tensor) -> Tensor:
    """(N, 3, r, r) -> (N, 3, 2r, 2r): the skip generator's upsampling of one scale's image to the next.

    Bilinear with half-pixel centres (align_corners=False) is the [1, 3, 3, 1] filter StyleGAN2 upsamples
    its skips with. The real pyramid is 2x2 average pooling (:func:`downsample_pyramid`); nearest
    upsampling would invert it exactly, but then the residual a block must add is the face minus a blocky
    copy of the scale below, block edges included. Pooled back, bilinear gives a [1, 6, 1] / 8 blur of its
    input, close to it for faces (mean |avg_pool2d(upsample_rgb(x)) - x| on CelebA crops: 0.07 at 4 px,
    0.02 at 64 px, against a pixel std of 0.43-0.56), and its residual targets are smaller (std 0.067
    at 128 px against nearest's 0.077).
    """
    return F.interpolate(image, scale_factor=2.0, mode="bilinear", align_corners=False)


class Generator(
    nn.Module,
    PyTorchModelHubMixin,
    library_name="t2f-msggan",
    tags=["text-to-image", "gan", "face-generation", "msg-gan"],
    pipeline_tag="text-to-image",
    license="other",
):
    """(z, text embedding) -> list of RGB images at 4, 8, ..., resolution.

    Each block ends in a 1x1 toRGB. By default each scale's image is its block's toRGB alone (MSG-GAN);
    with ``config.g_skips`` they are summed across scales (StyleGAN2's skip generator):
    ``images[0] = to_rgb[0](x_4)`` and ``images[i] = upsample_rgb(images[i - 1]) + to_rgb[i](x_r)``.
    """

    def __init__(self, config: ModelConfig):
        super().__init__()
        self.config = config
        c = config.channels
        self.cond = TextConditioning(config.text_dim, config.cond_dim, config.cond_aug)
        self.fc = EqLinear(config.z_dim + config.cond_dim, c[4] * 16, gain=LRELU_GAIN)
        self.conv4 = EqConv2d(c[4], c[4], 3, padding=1, gain=LRELU_GAIN)
        res = config.resolutions
        self.blocks = nn.ModuleList(GBlock(c[r // 2], c[r]) for r in res[1:])
        # With skips the top image sums len(res) toRGB outputs of about unit std each; at gain 1 its std at
        # initialisation is ~2.6x that of the plain generator's (default widths, mean of 20 seeds: 2.24
        # against 0.87). The toRGBs above 4 px get gain 1 / (2 sqrt(len(res) - 1)), so together they add
        # about a quarter of the 4 px image's variance (0.89 against 0.87; 0.80 against 0.85 at the shipped
        # widths). Faces are like that too: the 4 px image carries most of the variance, each finer
        # residual less (std 0.43 at 4 px; residuals 0.24 at 8 px down to 0.07 at 128 px).
        residual_gain = 0.5 / math.sqrt(len(res) - 1) if config.g_skips else 1.0
        self.to_rgb = nn.ModuleList(EqConv2d(c[r], 3, 1, gain=1.0 if r == 4 else residual_gain) for r in res)

    def forward(self, z: Tensor, text: Tensor, cond_noise: Tensor | None = None) -> list[Tensor]:
        """z: (N, z_dim), text: (N, text_dim), cond_noise: (N, cond_dim) or None for the mean code."""
        assert z.shape[1] == self.config.z_dim and text.shape[1] == self.config.text_dim, (z.shape, text.shape)
        return self.synthesize(z, self.cond(text, cond_noise))

    def synthesize(self, z: Tensor, code: Tensor) -> list[Tensor]:
        """z: (N, z_dim), code: (N, cond_dim), the text code made by ``self.cond`` (edited or not) -> images."""
        x = self.fc(torch.cat([z, code.to(z.dtype)], dim=1)).view(z.shape[0], -1, 4, 4)
        x = pixel_norm(lrelu(x))
        x = pixel_norm(lrelu(self.conv4(x)))
        images = [self.to_rgb[0](x)]
        for block, to_rgb in zip(self.blocks, self.to_rgb[1:]):
            x = block(x)
            rgb = to_rgb(x)
            images.append(upsample_rgb(images[-1]) + rgb if self.config.g_skips else rgb)
        return images

    @classmethod
    def from_pretrained(
        cls,
        pretrained_model_name_or_path: str | Path,
        *,
        force_download: bool = False,
        token: str | bool | None = None,
        cache_dir: str | Path | None = None,
        local_files_only: bool = False,
        revision: str | None = None,
    ) -> Generator:
        """Load a generator from a weights folder or a Hub repo id (config.json + model.safetensors).

        Replaces the mixin's loader, which parses config.json unchecked, accepts missing weights and
        falls back to pickles: this one resolves the files through :mod:`t2f.hub` and loads them with
        :meth:`from_folder`, strict, safetensors only, with errors that name the file and what is wrong.
        """
        folder = resolve_weights(
            pretrained_model_name_or_path,
            revision=revision,
            cache_dir=cache_dir,
            force_download=force_download,
            local_files_only=local_files_only,
            token=token,
        )
        return cls.from_folder(folder)

    @classmethod
    def from_folder(cls, folder: str | Path) -> Generator:
        """Build the generator ``folder/config.json`` describes and load ``folder/model.safetensors``
        strictly, in eval mode without gradients. Raises FileNotFoundError for a missing file and
        ValueError for one that does not match the config or holds non-finite values."""
        folder = Path(folder)
        config = ModelConfig.from_folder(folder)
        file = folder / WEIGHTS_NAME
        state = read_state_dict(file)
        generator = cls(config)
        expected = generator.state_dict()
        missing = sorted(set(expected) - set(state))
        unexpected = sorted(set(state) - set(expected))
        wrong_shape = [f"{k}: {tuple(state[k].shape)} != {tuple(v.shape)}" for k, v in expected.items() if k in state and state[k].shape != v.shape]
        if missing or unexpected or wrong_shape:
            raise ValueError(
                f"{file} does not match {folder / CONFIG_NAME}: missing {missing[:5]}, unexpected {unexpected[:5]}, "
                f"wrong shapes {wrong_shape[:5]}"
            )
        bad = [k for k, v in state.items() if not v.is_floating_point() or not torch.isfinite(v).all()]
        if bad:
            raise ValueError(f"{file} holds non-finite or non-float values in {bad[:5]}")
        generator.load_state_dict(state)
        return generator.eval().requires_grad_(False)


# --- discriminator --------------------------------------------------------------------------------


class DBlock(nn.Module):
    """Two 3x3 convs (the second changes width) with LeakyReLU, then 2x2 average pooling."""

    def __init__(self, in_channels: int, mid_channels: int, out_channels: int):
        super().__init__()
        self.conv1 = EqConv2d(in_channels, mid_channels, 3, padding=1, gain=LRELU_GAIN)
        self.conv2 = EqConv2d(mid_channels, out_channels, 3, padding=1, gain=LRELU_GAIN)

    def forward(self, x: Tensor) -> Tensor:
        x = lrelu(self.conv2(lrelu(self.conv1(x))))
        return F.avg_pool2d(x, 2)


class Discriminator(nn.Module):
    """MSG-GAN discriminator: reads every scale, highest first, concatenating each image with the
    features of its resolution ("simple" combine; with ``d_rgb_skips`` a 1x1 conv of the image is
    also added to them); minibatch stddev and a projection term at the end.

    The text enters as a projection (score = psi(h) + <W t, h>) rather than by concatenation: it is
    the stronger conditioning for class/attribute GANs (Miyato & Koyama 2018), and it lets the
    matching-aware term score a real image against a second, mismatched text without another pass.
    """

    def __init__(self, config: ModelConfig):
        super().__init__()
        self.config = config
        c = config.d_channels
        res = config.resolutions[::-1]  # highest first
        self.from_rgb = EqConv2d(3, c[res[0]], 1, gain=LRELU_GAIN)
        # Block at resolution r reads its features (plus the image of that scale below the top) and
        # writes features at r / 2.
        self.blocks = nn.ModuleList(
            DBlock(c[r] + (3 if i > 0 else 0), c[r], c[r // 2]) for i, r in enumerate(res[:-1])
        )
        self.final_conv = EqConv2d(c[4] + 3 + 1, c[4], 3, padding=1, gain=LRELU_GAIN)
        self.final_dense = EqConv2d(c[4], c[4], 4, gain=LRELU_GAIN)  # 4x4 -> 1x1
        self.out = EqLinear(c[4], 1)
        self.text_proj = EqLinear(config.text_dim, c[4])
        if config.d_rgb_skips:
            # Zero-initialised, so switching them on in a trained D leaves its scores unchanged at first;
            # registered last, so the other parameters keep their order (Adam's state is indexed by it).
            self.rgb_skips = nn.ModuleList(EqConv2d(3, c[r], 1, gain=LRELU_GAIN) for r in res[1:])
            for skip in self.rgb_skips:
                nn.init.zeros_(skip.weight)

    def forward(self, images: list[Tensor], text: Tensor) -> Tensor:
        """images: list ordered smallest first; text: (N, text_dim) or (K, N, text_dim).

        Returns scores of shape (N,) or (K, N): one row per text set, from one pass over the images.
        """
        assert len(images) == len(self.config.resolutions), f"expected {len(self.config.resolutions)} scales"
        images = images[::-1]
        x = lrelu(self.from_rgb(images[0]))
        for i, block in enumerate(self.blocks):
            if i > 0:
                x = self._combine(x, images[i], i)
            x = block(x)
        x = self._combine(x, images[-1], len(self.blocks))
        x = minibatch_stddev(x, self.config.mbstd_group)
        x = lrelu(self.final_conv(x))
        h = lrelu(self.final_dense(x)).flatten(1).float()  # (N, C)
        projection = (self.text_proj(normalize_text(text)) * h).sum(dim=-1)
        return self.out(h).squeeze(1) + projection

    def _combine(self, x: Tensor, image: Tensor, i: int) -> Tensor:
        """Features (N, C, r, r) and the image of scale r (N, 3, r, r), i-th from the top -> (N, C + 3, r, r)."""
        image = image.to(x.dtype)
        if self.config.d_rgb_skips:
            x = x + lrelu(self.rgb_skips[i - 1](image))
        return torch.cat([x, image], dim=1)


def downsample_pyramid(image: Tensor, num_scales: int) -> list[Tensor]:
    """Average-pool a (N, 3, R, R) batch into every scale, smallest first (MSG-GAN's real inputs)."""
    pyramid = [image]
    for _ in range(num_scales - 1):
        pyramid.append(F.avg_pool2d(pyramid[-1], 2))
    return pyramid[::-1]
