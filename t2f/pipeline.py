"""TextToFace: description + seed -> a face at every scale.

>>> pipe = TextToFace.from_pretrained()             # bundled weights/, a folder, or a Hub repo id
>>> out = pipe("a smiling young woman with wavy blond hair", seed=42)
>>> out.images[128]                                  # PIL image; out.images holds 4, 8, ..., 128

Same text + same seed + same weights gives the same pixels on the same device, whatever else is in
the batch: each face's noise comes from its own seed through a CPU generator, and each description is
embedded and each face generated on its own (see ``TextToFace.generate``). So a face from a batch, from
a single call and at an end of an interpolation are identical.
"""

from __future__ import annotations

import copy
import math
import numbers
import threading
import warnings
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from PIL import Image
from torch import Tensor, nn

from t2f.attributes import (
    BUILD_COMMAND, FACE, NEGATION_STRENGTH, AttributeModel, Drawn, Reading, check_strengths, load_attribute_model,
    negated_edits, read_drawn,
)  # fmt: skip
from t2f.files import ATTRIBUTES_NAME, default_device
from t2f.hub import resolve_weights
from t2f.model import EqConv2d, EqLinear, Generator
from t2f.text import TextEncoder, check_text, get_text_encoder
from t2f.text.base import split_sentences

MAX_SEED = 2**63 - 1
MAX_BATCH = 256
MAX_STEPS = 256
_EMBEDDING_CACHE_SIZE = 1024
# The share of conditioning augmentation's spread that a face's text code is drawn with (TextToFace.code_noise;
# StackGAN samples the code at test time as in training, 1; 0 draws every face of a description from its mean
# code). Chosen by the evaluation at 0 and 0.5 (README, "Each face samples its text code"): diversity against
# adherence.
CODE_SAMPLING = 0.5


@dataclass
class FaceOutput:
    """One generated face: ``images[r]`` is an r x r PIL image for every scale r of the model."""

    text: str
    seed: int
    images: dict[int, Image.Image]
    tensors: dict[int, Tensor] | None = None  # (3, r, r) float32 on the CPU, about [-1, 1] (unclamped), when asked for
    t: float | None = None  # position along an interpolation path


@dataclass(frozen=True)
class FaceText:
    """What faces are drawn from for one description (:meth:`TextToFace.face_text`): ``text``, its sentences
    that describe a face, and ``left_out``, the sentences the read-out's face gate reads as describing none."""

    text: str
    left_out: tuple[str, ...] = ()


def check_seed(seed: object) -> int:
    """A seed as an int in [0, 2**63 - 1], or a ValueError naming that range."""
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise ValueError(f"seed must be an integer in [0, {MAX_SEED}], got {seed!r}")
    seed = int(seed)
    if not 0 <= seed <= MAX_SEED:
        raise ValueError(f"seed must be an integer in [0, {MAX_SEED}] (2**63 - 1), got {seed}")
    return seed


def check_steps(steps: object) -> int:
    """Number of interpolation frames, 2 to MAX_STEPS."""
    if isinstance(steps, bool) or not isinstance(steps, numbers.Integral) or not 2 <= steps <= MAX_STEPS:
        raise ValueError(f"steps must be an integer from 2 to {MAX_STEPS}, got {steps!r}")
    return int(steps)


def _share(value: object, what: str, zero: str = "") -> float:
    """``value`` as a float in [0, 1], or a ValueError naming ``what``, the range and what ``zero`` means."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0.0 <= value <= 1.0:
        raise ValueError(f"{what} must be a number in [0, 1]{f' (0: {zero})' if zero else ''}, got {value!r}")
    return float(value)


def check_truncation(truncation: object) -> float:
    """Noise scale in [0, 1]: 1 is the full distribution, 0 the mean face for the text."""
    return _share(truncation, "truncation")


def check_negation_strength(strength: object) -> float:
    """How far to steer away from what a description negates, in [0, 1] (0: off; see :meth:`TextToFace.codes`)."""
    return _share(strength, "negation strength", "off")


def check_position(t: object) -> float:
    """A frame's position t in [0, 1] from A (0) to B (1) of an interpolation (:meth:`TextToFace.interpolate_seeds`)."""
    return _share(t, "t (the position from A to B)")


def check_code_sampling(share: object) -> float:
    """The share of the text code's spread that faces are sampled with, in [0, 1] (0: the mean code; see
    :meth:`TextToFace.code_noise`)."""
    return _share(share, "code sampling", "the mean code")


def check_device(device: str | torch.device | None) -> torch.device:
    """The device to run on (None: CUDA when present, else the CPU), or a ValueError when it is unusable here."""
    if device is None:
        return default_device()
    try:
        device = torch.device(device)
    except (RuntimeError, TypeError):
        raise ValueError(f"unknown device {device!r}: use 'cpu' or 'cuda'") from None
    available = {"cpu": True, "cuda": torch.cuda.is_available(), "mps": torch.backends.mps.is_available()}
    if device.type not in available:
        raise ValueError(f"unsupported device {str(device)!r}: use 'cpu' or 'cuda'")
    if not available[device.type]:
        raise ValueError(f"device {device.type!r} was asked for, but {device.type.upper()} is not available here: use 'cpu'")
    if device.type == "cuda" and device.index is not None and device.index >= torch.cuda.device_count():
        raise ValueError(f"there is no {device}: this machine has {torch.cuda.device_count()} CUDA device(s)")
    return device


def slerp(a: Tensor, b: Tensor, t: Tensor) -> Tensor:
    """Spherical interpolation between rows a (D,) and b (D,) at each t (T,) -> (T, D); exact at 0 and 1."""
    if a.norm() == 0 or b.norm() == 0:  # no direction to rotate (truncation 0): the straight line
        return torch.lerp(a[None], b[None], t[:, None])
    cos = torch.dot(a / a.norm(), b / b.norm()).clamp(-1.0, 1.0)
    omega = torch.acos(cos)
    if omega.abs() < 1e-6:  # (anti)parallel vectors: the straight line is the same path
        return torch.lerp(a[None], b[None], t[:, None])
    sin = torch.sin(omega)
    return (torch.sin((1 - t) * omega) / sin)[:, None] * a + (torch.sin(t * omega) / sin)[:, None] * b


def to_pil(images: Tensor) -> list[Image.Image]:
    """(N, 3, H, W) in [-1, 1] -> N RGB PIL images."""
    array = ((images.detach().float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
    return [Image.fromarray(a) for a in array.permute(0, 2, 3, 1).cpu().numpy()]


def scales_strip(images: dict[int, Image.Image], size: int | None = None, gap: int = 4) -> Image.Image:
    """Every scale side by side, each upscaled to ``size`` (default: the largest) with nearest neighbours."""
    size = size or max(images)
    strip = Image.new("RGB", (len(images) * (size + gap) - gap, size), "white")
    for i, r in enumerate(sorted(images)):
        strip.paste(images[r].resize((size, size), Image.NEAREST), (i * (size + gap), 0))
    return strip


def _folded(layer: EqLinear | EqConv2d) -> nn.Linear | nn.Conv2d:
    """The plain layer computing what ``layer`` computes, with its equalized-lr scale folded into the
    weight: the same float32 product that ``layer`` forms on every call, formed once (identical results)."""
    # Made on the meta device (no initialisation, no use of the random generator), then given the folded
    # tensors. nn.utils.skip_init would do the same, but its to_empty imports torch's symbolic shapes (sympy):
    # loading a pipeline took 0.5 s against 0.1 on the 2-core CPU.
    if isinstance(layer, EqLinear):
        plain = nn.Linear(layer.weight.shape[1], layer.weight.shape[0], device="meta")
    else:
        out_channels, in_channels, kernel, _ = layer.weight.shape
        plain = nn.Conv2d(in_channels, out_channels, kernel, padding=layer.padding, device="meta")
    with torch.no_grad():
        plain.weight = nn.Parameter(layer.weight * layer.scale)
        plain.bias = nn.Parameter(layer.bias.clone())
    return plain


def _inference_copy(generator: Generator) -> Generator:
    """A frozen copy of ``generator`` for inference: scales folded into the weights, and channels_last
    memory format, which oneDNN convolves faster (cuDNN too). Measured on the 2-core dev machine, both
    together: 12.6 -> 10.0 ms per face, one face at a time."""
    net = copy.deepcopy(generator)
    for module in list(net.modules()):
        for name, child in list(module.named_children()):
            if isinstance(child, (EqLinear, EqConv2d)):
                setattr(module, name, _folded(child))
    return net.eval().requires_grad_(False).to(memory_format=torch.channels_last)


class TextToFace:
    """Text-to-face pipeline: a sentence encoder and an MSG-GAN generator on one device.

    ``self.generator`` is a frozen copy of the ``generator`` given, on the pipeline's device (the
    caller's module is left as it was: its mode, gradients and device); faces come from a faster copy
    of it (see ``_inference_copy``), so changes to ``generator`` after construction do not reach them.

    With the weights' attribute model, each description's text code is steered away from what the description
    negates ("no beard", "without glasses") by ``negation_strength``; 0 turns it off: see :meth:`codes`. And
    sentences that describe no face ("He works as an accountant in Leeds.") are left out of what faces are drawn
    from, unless ``leave_out_off_topic`` is False: see :meth:`face_text`. Each face's text code is its
    description's mean code plus ``code_sampling`` of conditioning augmentation's spread, drawn from its seed, so
    the faces of one description differ in more than the noise alone makes them: see :meth:`code_noise`.
    """

    def __init__(
        self,
        generator: Generator,
        text_encoder: TextEncoder,
        device: str | torch.device | None = None,
        *,
        attributes: AttributeModel | None = None,
        drawn: dict[str, Drawn] | None = None,
        negation_strength: float = NEGATION_STRENGTH,
        leave_out_off_topic: bool = True,
        code_sampling: float = CODE_SAMPLING,
    ):
        config = generator.config
        if text_encoder.name != config.text_encoder or text_encoder.dim != config.text_dim:
            raise ValueError(
                f"these weights were trained with the text encoder {config.text_encoder!r} ({config.text_dim}-d), "
                f"but the encoder given is {text_encoder.name!r} ({text_encoder.dim}-d): embeddings of another "
                "encoder mean nothing to this generator"
            )
        self.device = check_device(device)
        self.generator = copy.deepcopy(generator).eval().requires_grad_(False).to(self.device)
        self._net = _inference_copy(self.generator)
        self.text_encoder = text_encoder
        self.config = config
        self.attributes = attributes  # the read-out and edit directions (t2f.attributes), when built
        self.drawn = drawn or {}  # how often faces show each claim people make, when evaluated (t2f.attributes)
        self.negation_strength = check_negation_strength(negation_strength)
        self.leave_out_off_topic = bool(leave_out_off_topic)
        self.code_sampling = check_code_sampling(code_sampling)
        # Checked once: the generator is this pipeline's frozen copy, so the answer cannot change later.
        self.edit_problem = self._edit_problem()
        self._cache: OrderedDict[str, Tensor] = OrderedDict()
        self._lock = threading.Lock()

    @classmethod
    def from_pretrained(
        cls,
        name_or_path: str | Path | None = None,
        *,
        revision: str | None = None,
        device: str | torch.device | None = None,
        text_encoder: TextEncoder | None = None,
        cache_dir: str | Path | None = None,
        local_files_only: bool = False,
        token: str | bool | None = None,
        negation_strength: float = NEGATION_STRENGTH,
        leave_out_off_topic: bool = True,
        code_sampling: float = CODE_SAMPLING,
    ) -> TextToFace:
        """Load weights from the bundled ``weights/`` (default), a local folder or a Hub repo id.

        The text encoder named in config.json is built unless one is given (on the pipeline's device when that
        is a GPU); a given one must match it.
        Errors in the generator's files raise; a broken optional file (the attribute read-out, the
        evaluation report) only turns its part off: a warning, ``edit_problem`` says why, ``drawn`` is empty.
        """
        negation_strength = check_negation_strength(negation_strength)
        code_sampling = check_code_sampling(code_sampling)
        folder = resolve_weights(
            name_or_path, revision=revision, cache_dir=cache_dir, local_files_only=local_files_only, token=token
        )
        generator = Generator.from_folder(folder)
        config = generator.config
        device = check_device(device)
        # The encoder runs beside the generator on a GPU (one device per request, as ZeroGPU lends them).
        on = str(device) if device.type == "cuda" else None
        encoder = text_encoder or get_text_encoder(config.text_encoder, config.text_encoder_options, device=on)
        attributes, broken, drawn = None, None, {}
        try:
            attributes = load_attribute_model(folder, config)
        except (OSError, ValueError) as e:
            broken = f"the attribute read-out and edit directions could not be loaded: {e}"
            warnings.warn(broken, stacklevel=2)
        try:
            drawn = read_drawn(folder)
        except (OSError, ValueError) as e:
            warnings.warn(f"how often faces show what is asked is unknown: {e}", stacklevel=2)
        pipe = cls(
            generator, encoder, device=device, attributes=attributes, drawn=drawn, negation_strength=negation_strength,
            leave_out_off_topic=leave_out_off_topic, code_sampling=code_sampling,
        )  # fmt: skip
        pipe.edit_problem = broken or pipe.edit_problem
        return pipe

    @property
    def scales(self) -> list[int]:
        """The output resolutions, smallest first."""
        return self.config.resolutions

    # --- building blocks ------------------------------------------------------------------------

    def encode(self, texts: Sequence[str]) -> Tensor:
        """Embeddings (N, text_dim) on the pipeline's device; recently seen texts come from a cache.

        Each description is encoded on its own: batched, the encoder pads the texts to a common length
        and its embeddings change in the last bits with the batch, and with them the pixels.
        """
        if isinstance(texts, str):
            raise TypeError("encode takes a list of descriptions, not a single string")
        texts = [check_text(t) for t in texts]
        rows = []
        for text in texts:
            with self._lock:
                row = self._cache.get(text)
                if row is not None:
                    self._cache.move_to_end(text)
            if row is None:
                self.text_encoder.check_length(text)
                row = self.text_encoder.encode([text])[0].to(self.device)
                with self._lock:
                    self._cache[text] = row
                    while len(self._cache) > _EMBEDDING_CACHE_SIZE:
                        self._cache.popitem(last=False)
            rows.append(row)
        return torch.stack(rows) if rows else torch.zeros(0, self.config.text_dim, device=self.device)

    def noise(self, seeds: Sequence[int], truncation: float = 1.0) -> Tensor:
        """Noise (N, z_dim) on the device, each row drawn on the CPU from its own seed, scaled by truncation."""
        return self._noises(seeds, truncation)[0]

    def code_noise(self, seeds: Sequence[int], truncation: float = 1.0) -> Tensor:
        """The text code's sample noise (N, cond_dim) on the device: each seed's standard normal draw, scaled by
        ``code_sampling`` and truncation; :meth:`codes` multiplies it by the code's spread.

        Conditioning augmentation (StackGAN, Zhang et al. 2017) trains the generator on codes drawn from
        N(mu(text), sigma(text)^2), and StackGAN draws them so at test time too. Drawing every face from mu alone
        made one description's faces vary about two thirds as much as real faces that fit it (diversity 0.64;
        0.75 at ``code_sampling`` 0.5: README, "Each face samples its text code"). Zero when the generator has
        no conditioning augmentation. The seed's generator draws the z_dim noise numbers first, so :meth:`noise`
        is unchanged.
        """
        return self._noises(seeds, truncation)[1]

    def _noises(self, seeds: Sequence[int], truncation: float) -> tuple[Tensor, Tensor]:
        """(:meth:`noise`, :meth:`code_noise`) of ``seeds``, from one pass over their generators: per seed, its own
        CPU generator draws z_dim normal numbers, then cond_dim more."""
        truncation = check_truncation(truncation)
        z, code = torch.zeros(len(seeds), self.config.z_dim), torch.zeros(len(seeds), self.config.cond_dim)
        for row, seed in enumerate(seeds):
            generator = torch.Generator().manual_seed(check_seed(seed))
            z[row] = torch.randn(self.config.z_dim, generator=generator)
            code[row] = torch.randn(self.config.cond_dim, generator=generator)
        code = code * (truncation * self.code_sampling) if self.config.cond_aug else torch.zeros_like(code)
        return (z * truncation).to(self.device), code.to(self.device)

    @torch.inference_mode()
    def generate(self, z: Tensor, text: Tensor) -> list[Tensor]:
        """Run the generator: (N, z_dim), (N, text_dim) -> images smallest first, (N, 3, r, r) float32 on the CPU.

        One sample at a time, so that a face never depends on the rest of its batch: BLAS and oneDNN
        pick kernels by problem size, a kernel fixes the order of its sums, and a batch of 16 gives
        results that differ from single samples in the last bits (measured here: up to 3e-5), enough to
        flip pixels. On the CPU it is also faster than batching (measured on the 2-core dev machine:
        10.5 against 13.5 ms per face at batch 16): one face's activations stay in cache, a batch's do not.
        Results also depend on the number of CPU threads (torch.get_num_threads()), like any float sum.
        """
        return self._per_face(self._net, z, text, "text embeddings")

    @torch.inference_mode()
    def synthesize(self, z: Tensor, codes: Tensor) -> list[Tensor]:
        """Like :meth:`generate`, from text codes (N, cond_dim) (``self.text_codes``, edited or not)."""
        return self._per_face(self._net.synthesize, z, codes, "text codes")

    def _per_face(self, net: Callable, z: Tensor, condition: Tensor, what: str) -> list[Tensor]:
        if z.shape[0] != condition.shape[0]:
            raise ValueError(f"got {z.shape[0]} noise rows for {condition.shape[0]} {what}")
        z, condition = z.to(self.device, torch.float32), condition.to(self.device, torch.float32)
        faces = [net(z_row, row) for z_row, row in zip(z.split(1), condition.split(1))]
        if not faces:
            return [torch.zeros(0, 3, r, r) for r in self.scales]
        return [torch.cat(scale).float().cpu().contiguous() for scale in zip(*faces)]

    def _outputs(self, images: list[Tensor], texts, seeds, return_tensors: bool, ts=None) -> list[FaceOutput]:
        pil = {r: to_pil(x) for r, x in zip(self.scales, images)}
        return [
            FaceOutput(
                text=text,
                seed=seed,
                images={r: pil[r][i] for r in self.scales},
                tensors={r: x[i] for r, x in zip(self.scales, images)} if return_tensors else None,
                t=None if ts is None else float(ts[i]),
            )
            for i, (text, seed) in enumerate(zip(texts, seeds))
        ]

    # --- public API -----------------------------------------------------------------------------

    def __call__(
        self,
        prompt: str | Sequence[str],
        seed: int | Sequence[int] = 0,
        *,
        truncation: float = 1.0,
        return_tensors: bool = False,
    ) -> FaceOutput | list[FaceOutput]:
        """Faces for one description (-> FaceOutput) or a list (-> list). A single seed for a list
        gives the descriptions seeds seed, seed + 1, ...; a list of seeds must match the descriptions."""
        single = isinstance(prompt, str)
        if not single and not isinstance(prompt, Sequence):
            raise ValueError(f"prompt must be a description (a string) or a list of them, got {type(prompt).__name__}")
        texts = [prompt] if single else list(prompt)
        if not texts:
            raise ValueError("give at least one description")
        if len(texts) > MAX_BATCH:
            raise ValueError(f"at most {MAX_BATCH} descriptions per call, got {len(texts)}")
        if isinstance(seed, Sequence) and not isinstance(seed, str):
            seeds = [check_seed(s) for s in seed]
            if len(seeds) != len(texts):
                raise ValueError(f"got {len(seeds)} seeds for {len(texts)} descriptions")
        else:
            first = check_seed(seed)
            seeds = [check_seed(first + i) for i in range(len(texts))]
        texts = [check_text(t) for t in texts]
        outputs = self._outputs(self.draw(texts, seeds, truncation), texts, seeds, return_tensors)
        return outputs[0] if single else outputs

    def draw(self, texts: Sequence[str], seeds: Sequence[int], truncation: float = 1.0) -> list[Tensor]:
        """The faces that ``pipe(texts, seeds, truncation=truncation)`` makes, as tensors: images smallest first,
        (N, 3, r, r) float32 on the CPU, from :meth:`noise` and :meth:`codes` with each seed's :meth:`code_noise`."""
        z, code_noise = self._noises(seeds, truncation)
        return self.synthesize(z, self.codes(texts, code_noise))

    def interpolate_seeds(
        self,
        prompt: str,
        seed_a: int,
        seed_b: int,
        steps: int = 8,
        *,
        at: Sequence[float] | None = None,
        truncation: float = 1.0,
        return_tensors: bool = False,
    ) -> list[FaceOutput]:
        """Frames along the great circle from seed_a's noise (and code noise) to seed_b's (slerp), same description.

        ``steps`` frames evenly spaced in [0, 1], or the positions given in ``at``; the ends equal
        the plain outputs for seed_a and seed_b.
        """
        ts = _positions(steps, at)
        text = check_text(prompt)
        (za, zb), (na, nb) = (noise.cpu() for noise in self._noises([seed_a, seed_b], truncation))
        images = self.synthesize(slerp(za, zb, ts), self.codes([text] * len(ts), slerp(na, nb, ts)))
        return self._outputs(images, [text] * len(ts), [check_seed(seed_a)] * len(ts), return_tensors, ts)

    def interpolate_texts(
        self,
        prompt_a: str,
        prompt_b: str,
        seed: int = 0,
        steps: int = 8,
        *,
        at: Sequence[float] | None = None,
        truncation: float = 1.0,
        return_tensors: bool = False,
    ) -> list[FaceOutput]:
        """Frames along the straight line between the two descriptions' text codes (:meth:`codes`, each with the
        seed's code noise), same noise."""
        ts = _positions(steps, at)
        a, b = check_text(prompt_a), check_text(prompt_b)
        z, code_noise = self._noises([seed], truncation)
        ca, cb = self.codes([a, b], code_noise.expand(2, -1))
        codes = torch.lerp(ca[None], cb[None], ts.to(ca.device)[:, None])
        z = z.expand(len(ts), -1)
        images = self.synthesize(z, codes)
        labels = [a if t == 0 else b if t == 1 else f"{a} -> {b}" for t in ts.tolist()]
        return self._outputs(images, labels, [check_seed(seed)] * len(ts), return_tensors, ts)

    # --- attributes: read and edit (t2f.attributes) ---------------------------------------------

    def _edit_problem(self) -> str | None:
        """Why :meth:`edit` cannot work with these weights (no attribute file, or one built for another
        generator), or None when it can."""
        if self.attributes is None:
            return (
                f"these weights have no {ATTRIBUTES_NAME} (the attribute read-out and edit directions): "
                f"build it with `{BUILD_COMMAND}`"
            )
        try:
            self.attributes.check_generator(self.generator)
        except ValueError as e:
            return str(e)
        return None

    def read(self, prompt: str) -> list[Reading]:
        """What the model reads in a description, as faces are drawn from it (:meth:`face_text`): one
        :class:`~t2f.attributes.Reading` per attribute (two for man/woman and young/older), present first. Needs
        the weights' attributes file."""
        if self.attributes is None:
            raise FileNotFoundError(self.edit_problem)
        text = self.face_text(prompt).text
        return self.attributes.read(self.encode([text])[0].cpu(), text)

    @torch.inference_mode()
    def text_codes(self, text: Tensor) -> Tensor:
        """The generator's mean text codes (N, cond_dim) of embeddings (N, text_dim), as :meth:`generate` makes them."""
        return torch.cat([self._net.cond(row) for row in text.to(self.device, torch.float32).split(1)])

    @torch.inference_mode()
    def code_spread(self, text: Tensor) -> Tensor:
        """The standard deviation (N, cond_dim) of conditioning augmentation's code for embeddings (N, text_dim):
        exp(logvar / 2), which :meth:`codes` scales :meth:`code_noise` by (ones without conditioning augmentation,
        where :meth:`code_noise` is zero)."""
        rows = text.to(self.device, torch.float32).split(1)
        return torch.cat([torch.exp(0.5 * self._net.cond.stats(row)[1]) for row in rows])

    @property
    def leaves_out(self) -> bool:
        """Whether sentences that describe no face are left out (:meth:`face_text`): ``leave_out_off_topic`` and
        an attribute file, whose face gate decides."""
        return self.leave_out_off_topic and self.attributes is not None

    def face_text(self, prompt: str) -> FaceText:
        """The part of a description that faces are drawn from: its sentences (``split_sentences``) that the
        read-out's face gate, asked about each sentence alone, reads as describing a face, joined by spaces.
        The whole description when it is one sentence, when the gate passes every sentence or none, when the
        rest would lose the man or woman the whole description reads ("Glasses and a hat. It's my dad."), or
        when not :attr:`leaves_out`.

        Why: the sentence encoder averages over every word, so sentences about a job, a city or the day a photo
        was taken dilute what the others say about the face (gray hair, glasses: drawn a third as often with
        three such sentences around, ``bench/reading_settings.py``). The whole description is held to the
        encoder's length limit all the same: what a user writes is refused or accepted as a whole.
        """
        text = check_text(prompt)
        if not self.leaves_out:
            return FaceText(text)
        sentences = split_sentences(text)
        if len(sentences) < 2:
            return FaceText(text)  # encoded whole, so :meth:`encode` checks its length
        self.text_encoder.check_length(text)
        _, _, face = self.attributes.probabilities(self.encode(sentences))
        passes = [p >= FACE for p in face.tolist()]
        if all(passes) or not any(passes):
            return FaceText(text)
        rest = " ".join(s for s, ok in zip(sentences, passes) if ok)
        if self._gender(rest) != self._gender(text):
            return FaceText(text)
        return FaceText(rest, tuple(s for s, ok in zip(sentences, passes) if not ok))

    def _gender(self, text: str) -> str | None:
        """"man" or "woman" as the read-out reads ``text``, None when it reads neither."""
        readings = self.attributes.read(self.encode([text])[0].cpu())
        return next((r.said for r in readings if r.attribute == "Male" and r.status == "present"), None)

    @property
    def steers(self) -> bool:
        """Whether faces are steered away from what descriptions negate: a ``negation_strength`` above 0 and an
        attribute model built for these weights."""
        return self.negation_strength > 0 and self.edit_problem is None

    def codes(self, texts: Sequence[str], code_noise: Tensor | None = None) -> Tensor:
        """The text codes (N, cond_dim) that faces are drawn from (:meth:`synthesize`): the generator's mean
        code of each description's :meth:`face_text`, moved ``negation_strength`` of the way to the absent end
        of the training range along each attribute that its words negate (``t2f.negation``: "big beard, no
        glasses" moves glasses only; a text the read-out's face gate reads as no face moves nothing), when
        :attr:`steers` (``t2f.attributes.negated_edits``, ``AttributeModel.steer_codes``); then, given ``code_noise`` (N, cond_dim)
        from :meth:`code_noise`, plus ``code_noise`` times the code's spread (:meth:`code_spread`). Without
        ``code_noise`` a description of one sentence that negates nothing keeps its mean code, so
        ``synthesize(z, codes(texts))`` is then ``generate(z, encode(texts))``.
        """
        if isinstance(texts, str):
            raise TypeError("codes takes a list of descriptions, not a single string")
        face_texts = [self.face_text(t).text for t in texts]
        embeddings = self.encode(face_texts)
        codes = self.text_codes(embeddings)
        if self.steers:
            rows = []
            for text, embedding, code in zip(face_texts, embeddings, codes):
                sides = negated_edits(self.attributes.read(embedding.cpu(), text))  # {} moves nothing
                rows.append(self.attributes.steer_codes(code[None], sides, self.negation_strength))
            codes = torch.cat(rows)
        if code_noise is None:
            return codes
        if code_noise.shape != codes.shape:
            shapes = f"{tuple(code_noise.shape)} for codes of shape {tuple(codes.shape)}"
            raise ValueError(f"got code noise of shape {shapes}")
        return codes + code_noise.to(codes) * self.code_spread(embeddings)

    def edit(
        self,
        prompt: str,
        seed: int,
        strengths: dict[str, float],
        *,
        truncation: float = 1.0,
        return_tensors: bool = False,
    ) -> FaceOutput:
        """The face of ``prompt`` and ``seed`` with attributes moved: ``{"smiling": 0.8, "age": -0.5}``.

        Names are ``t2f.attributes.EDIT_NAMES``; strengths in [-1, 1], where 1 moves the text code as far as
        adding the attribute to the description does on average, never beyond the training captions' range
        (see ``t2f.attributes``). The noise is the seed's, so the face stays the same face; all strengths 0
        give exactly ``pipe(prompt, seed)``.
        """
        strengths = check_strengths(strengths)
        text, seed = check_text(prompt), check_seed(seed)
        if self.edit_problem:
            raise (FileNotFoundError if self.attributes is None else ValueError)(self.edit_problem)
        if not any(strengths.values()):
            return self(text, seed, truncation=truncation, return_tensors=return_tensors)
        z, code_noise = self._noises([seed], truncation)
        images = self.synthesize(z, self.attributes.edit_codes(self.codes([text], code_noise), strengths))
        return self._outputs(images, [text], [seed], return_tensors)[0]


def _positions(steps: int, at: Sequence[float] | None) -> Tensor:
    """Frame positions (T,) float32: ``steps`` even ones, or those in ``at``. Even ones are i / (steps - 1) rounded
    once to float32, as a position given in ``at`` is, so the app's slider at 0.36 draws frame 9 of 26 exactly
    (torch.linspace's float32 steps differ from it in the last bit)."""
    if at is None:
        steps = check_steps(steps)
        return torch.tensor([i / (steps - 1) for i in range(steps)], dtype=torch.float32)
    values = list(at)
    if not 1 <= len(values) <= MAX_STEPS or not all(
        isinstance(t, numbers.Real) and not isinstance(t, bool) and math.isfinite(t) and 0 <= t <= 1 for t in values
    ):
        raise ValueError(f"at must hold 1 to {MAX_STEPS} positions in [0, 1], got {values!r}")
    return torch.tensor(values, dtype=torch.float32)

