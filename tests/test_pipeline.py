"""TextToFace: scales, determinism, batches, interpolation, and input that must not break it.

Tiny random weights (tests/conftest.py) with the real MiniLM encoder: the machinery, not face quality.
"""

import math

import numpy as np
import pytest
import torch

from t2f import Generator, TextToFace
from conftest import tiny_config

from t2f.pipeline import CODE_SAMPLING, MAX_BATCH, MAX_SEED, MAX_STEPS, scales_strip, slerp
from t2f.text import MAX_TEXT_CHARS, TextEncoder

SCALES = [4, 8, 16, 32, 64, 128]
TEXT = "a smiling young woman with wavy blond hair"


@pytest.fixture(scope="module")
def pipe(tiny_weights) -> TextToFace:
    return TextToFace.from_pretrained(tiny_weights, device="cpu")


@pytest.fixture
def fresh(tiny_weights, pipe) -> TextToFace:
    """Another pipeline on the same weights and encoder, with an empty embedding cache."""
    return TextToFace(Generator.from_pretrained(tiny_weights), pipe.text_encoder, device="cpu")


def pixels(face) -> np.ndarray:
    """Every scale of a face as one flat uint8 array (compares all six images at once)."""
    return np.concatenate([np.asarray(face.images[r]).ravel() for r in sorted(face.images)])


def test_every_scale_as_pil_and_as_tensors(pipe):
    face = pipe(TEXT, seed=42, return_tensors=True)
    assert pipe.scales == SCALES and sorted(face.images) == SCALES
    for r in SCALES:
        assert face.images[r].size == (r, r) and face.images[r].mode == "RGB"
        assert face.tensors[r].shape == (3, r, r) and face.tensors[r].dtype == torch.float32
        assert face.tensors[r].is_contiguous() and face.tensors[r].device.type == "cpu"
        expected = ((face.tensors[r].clamp(-1, 1) + 1) * 127.5).round().byte().permute(1, 2, 0).numpy()
        assert np.array_equal(np.asarray(face.images[r]), expected)
    assert face.text == TEXT and face.seed == 42 and face.t is None
    assert pipe(TEXT, seed=42).tensors is None
    strip = scales_strip(face.images)
    assert strip.size == (6 * 128 + 5 * 4, 128)


def test_same_text_and_seed_give_the_same_pixels(pipe, fresh):
    first = pixels(pipe(TEXT, seed=7))
    assert np.array_equal(first, pixels(pipe(TEXT, seed=7)))  # embedding from the cache
    assert np.array_equal(first, pixels(fresh(TEXT, seed=7)))  # encoded afresh, another generator copy
    assert np.array_equal(first, pixels(pipe(f"  {TEXT.replace(' ', chr(10))} ", seed=7)))  # whitespace collapses


def test_the_callers_generator_is_left_as_it_was(tiny_weights, pipe):
    generator = Generator.from_pretrained(tiny_weights).train().requires_grad_(True)
    before = {k: v.clone() for k, v in generator.state_dict().items()}
    TextToFace(generator, pipe.text_encoder, device="cpu")
    assert generator.training and all(p.requires_grad for p in generator.parameters())
    assert all(torch.equal(v, before[k]) for k, v in generator.state_dict().items())


def test_making_a_pipeline_draws_nothing_from_torchs_random_generator(tiny_weights, pipe):
    generator = Generator.from_pretrained(tiny_weights)
    state = torch.get_rng_state()
    TextToFace(generator, pipe.text_encoder, device="cpu")
    assert torch.equal(torch.get_rng_state(), state)


def test_seed_and_text_change_the_face(pipe):
    base = pixels(pipe(TEXT, seed=1))
    assert not np.array_equal(base, pixels(pipe(TEXT, seed=2)))
    assert not np.array_equal(base, pixels(pipe("an old bald man with glasses", seed=1)))


def test_generator_output_matches_the_model_it_was_loaded_from(pipe):
    # The inference copy (folded scales, channels_last) computes the same function as the Generator.
    z, text = pipe.noise([3, 4]), pipe.encode([TEXT, "a bald man"])
    with torch.inference_mode():
        reference = pipe.generator(z, text)
    for ours, theirs in zip(pipe.generate(z, text), reference, strict=True):
        torch.testing.assert_close(ours, theirs, rtol=0, atol=1e-4)
    with pytest.raises(ValueError, match="got 2 noise rows for 1 text embeddings"):
        pipe.generate(z, text[:1])


def test_batch_elements_equal_single_calls_pixel_for_pixel(pipe, fresh):
    texts = [TEXT, "a bald man with a beard", "a woman wearing glasses", "a man", TEXT]
    seeds = [5, 6, 7, 8, 900]
    batch = pipe(texts, seed=seeds, return_tensors=True)
    assert [f.seed for f in batch] == seeds
    for face, text, seed in zip(batch, texts, seeds, strict=True):
        single = fresh(text, seed=seed, return_tensors=True)  # fresh: its embedding is not the batch's
        assert np.array_equal(pixels(face), pixels(single))
        assert all(torch.equal(face.tensors[r], single.tensors[r]) for r in SCALES)
    # One seed for a list: seed, seed + 1, ...
    assert [f.seed for f in pipe(texts[:3], seed=10)] == [10, 11, 12]
    assert np.array_equal(pixels(pipe(texts[:3], seed=10)[2]), pixels(fresh(texts[2], seed=12)))


@pytest.mark.parametrize("truncation", [1.0, 0.6])
def test_seed_interpolation_ends_are_the_plain_faces(pipe, fresh, truncation):
    frames = pipe.interpolate_seeds(TEXT, seed_a=3, seed_b=4, steps=5, truncation=truncation)
    assert [f.t for f in frames] == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert np.array_equal(pixels(frames[0]), pixels(fresh(TEXT, seed=3, truncation=truncation)))
    assert np.array_equal(pixels(frames[-1]), pixels(fresh(TEXT, seed=4, truncation=truncation)))
    assert not np.array_equal(pixels(frames[2]), pixels(frames[0]))
    # One frame at a time (the app's slider) gives the frames of the whole sequence.
    (middle,) = pipe.interpolate_seeds(TEXT, 3, 4, at=[0.5], truncation=truncation)
    (start,) = pipe.interpolate_seeds(TEXT, 3, 4, at=[0], truncation=truncation)
    assert np.array_equal(pixels(middle), pixels(frames[2])) and np.array_equal(pixels(start), pixels(frames[0]))
    # Also where float32 steps of torch.linspace would miss the slider's value in the last bit (0.36 of 26).
    frame9 = pipe.interpolate_seeds(TEXT, 3, 4, steps=26, truncation=truncation)[9]
    assert frame9.t == pytest.approx(0.36) and np.array_equal(pixels(frame9), pixels(pipe.interpolate_seeds(TEXT, 3, 4, at=[0.36], truncation=truncation)[0]))


def test_text_interpolation_ends_are_the_plain_faces(pipe, fresh):
    a, b = "a young man", "an old man with a gray beard"
    frames = pipe.interpolate_texts(a, b, seed=9, steps=4)
    assert [f.text for f in frames] == [a, f"{a} -> {b}", f"{a} -> {b}", b]
    assert np.array_equal(pixels(frames[0]), pixels(fresh(a, seed=9)))
    assert np.array_equal(pixels(frames[-1]), pixels(fresh(b, seed=9)))
    assert not np.array_equal(pixels(frames[1]), pixels(frames[0]))
    (end,) = pipe.interpolate_texts(a, b, seed=9, at=[1.0])
    assert np.array_equal(pixels(end), pixels(frames[-1]))


def test_slerp_is_exact_at_the_ends_and_stays_on_the_sphere():
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(128, generator=g), torch.randn(128, generator=g)
    path = slerp(a, b, torch.linspace(0, 1, 9))
    assert torch.equal(path[0], a) and torch.equal(path[-1], b)
    assert torch.allclose(path.norm(dim=1), torch.linspace(0, 1, 9) * (b.norm() - a.norm()) + a.norm(), rtol=0.05)
    zero = torch.zeros(128)
    assert torch.equal(slerp(zero, zero, torch.tensor([0.0, 0.5, 1.0])), torch.zeros(3, 128))  # no NaN
    assert torch.equal(slerp(a, a, torch.tensor([0.0, 1.0])), torch.stack([a, a]))


def test_truncation_zero_gives_the_mean_face_for_any_seed(pipe):
    mean = pixels(pipe(TEXT, seed=1, truncation=0.0))
    assert np.array_equal(mean, pixels(pipe(TEXT, seed=2, truncation=0.0)))
    frames = pipe.interpolate_seeds(TEXT, 1, 2, steps=3, truncation=0.0)  # zero noise: nothing to rotate
    assert all(np.array_equal(mean, pixels(f)) for f in frames)
    half = pipe.noise([5], truncation=0.5)
    assert torch.equal(half, pipe.noise([5]) * 0.5)


def test_each_face_samples_its_text_code_from_its_seed(tiny_weights, pipe):
    """A face's text code: the mean code plus code_sampling x its seed's normal draw (after the noise's) x the
    code's spread, StackGAN's conditioning augmentation sampled at test time; code_sampling 0 is the mean code."""
    assert pipe.code_sampling == CODE_SAMPLING > 0
    texts, seeds = [TEXT, "a bald man"], [3, 4]
    draws = torch.Generator().manual_seed(3)
    z3 = torch.randn(pipe.config.z_dim, generator=draws)
    assert torch.equal(pipe.noise([3])[0], z3)  # the noise is what it was before the code was sampled
    noise = pipe.code_noise(seeds)
    assert torch.equal(noise[0], torch.randn(pipe.config.cond_dim, generator=draws) * CODE_SAMPLING)
    assert torch.equal(pipe.code_noise(seeds, truncation=0.5), noise * 0.5)
    assert pipe.noise([]).shape == (0, pipe.config.z_dim) and pipe.code_noise([]).shape == (0, pipe.config.cond_dim)
    spread = pipe.code_spread(pipe.encode(texts))
    assert spread.shape == (2, pipe.config.cond_dim) and (spread > 0).all() and not torch.equal(spread[0], spread[1])
    assert torch.equal(pipe.codes(texts, noise), pipe.codes(texts) + noise * spread)
    with pytest.raises(ValueError, match=r"code noise of shape \(1, 16\) for codes of shape \(2, 16\)"):
        pipe.codes(texts, noise[:1])

    faces = pipe(texts, seed=seeds, return_tensors=True)
    drawn = pipe.synthesize(pipe.noise(seeds), pipe.codes(texts, noise))
    assert all(torch.equal(faces[1].tensors[r], x[1]) for r, x in zip(SCALES, drawn))
    mean_code = TextToFace.from_pretrained(tiny_weights, device="cpu", code_sampling=0.0)
    plain = mean_code.generate(mean_code.noise(seeds), mean_code.encode(texts))
    assert all(torch.equal(mean_code(texts, seed=seeds, return_tensors=True)[1].tensors[r], x[1]) for r, x in zip(SCALES, plain))
    assert not torch.equal(faces[1].tensors[128], plain[-1][1])
    # Truncation 0 draws the mean code too: the mean face of the description, whatever the sampling.
    assert np.array_equal(pixels(pipe(TEXT, 3, truncation=0.0)), pixels(mean_code(TEXT, 9, truncation=0.0)))
    for bad in (-0.1, 1.5, float("nan"), "0.5", True):
        with pytest.raises(ValueError, match=r"code sampling must be a number in \[0, 1\] \(0: the mean code\)"):
            TextToFace.from_pretrained(tiny_weights, device="cpu", code_sampling=bad)


def test_a_generator_without_conditioning_augmentation_draws_the_mean_code(pipe):
    generator = Generator(tiny_config(cond_aug=False))
    plain = TextToFace(generator, pipe.text_encoder, device="cpu")
    assert torch.equal(plain.code_noise([3, 4]), torch.zeros(2, plain.config.cond_dim))
    texts = [TEXT, "a bald man"]
    assert torch.equal(plain.codes(texts, plain.code_noise([3, 4])), plain.codes(texts))


@pytest.mark.parametrize(
    "text",
    ["😀🧔‍♂️ with 👓", "一个戴眼镜的男人", "رجل ملتح", "мужчина с бородой", " ".join(["face"] * 254), "a", "\u200b beard"],
    ids=["emoji", "chinese", "arabic", "cyrillic", "254-word-pieces", "one-letter", "zero-width-space"],
)
def test_any_script_and_the_longest_text_give_a_face(pipe, text):
    face = pipe(text, seed=0)
    assert face.images[128].size == (128, 128)
    assert np.asarray(face.images[128]).std() > 0


def test_different_scripts_give_different_faces(pipe):
    faces = [pixels(pipe(t, seed=0)) for t in ["一个戴眼镜的男人", "мужчина с бородой", "😀"]]
    assert not np.array_equal(faces[0], faces[1]) and not np.array_equal(faces[1], faces[2])


BAD_CALLS = {
    "empty text": ({"prompt": ""}, "the description is empty"),
    "whitespace text": ({"prompt": " \n\t "}, "the description is empty"),
    "empty text in a list": ({"prompt": ["a man", "  "]}, "the description is empty"),
    "text too long": ({"prompt": "x" * (MAX_TEXT_CHARS + 1)}, f"at most {MAX_TEXT_CHARS} characters, got 10001"),
    # Longer than the encoder reads: an error that says so, never a silent cut (the CLI and app: their tests).
    "text past the encoder": ({"prompt": " ".join(["face"] * 255)}, "255 word pieces long, but the text encoder .* reads only the first 254"),
    "long text in a list": ({"prompt": [TEXT, "beard " * 300]}, "300 word pieces long"),
    "text not a string": ({"prompt": [TEXT, 5]}, "a description must be a string, got int"),
    "prompt None": ({"prompt": None}, r"prompt must be a description \(a string\) or a list of them, got NoneType"),
    "prompt int": ({"prompt": 5}, r"prompt must be a description \(a string\) or a list of them, got int"),
    "negative seed": ({"seed": -1}, rf"seed must be an integer in \[0, {MAX_SEED}\]"),
    "seed 2**63": ({"seed": 2**63}, r"\(2\*\*63 - 1\), got 9223372036854775808"),
    "seed 2**80": ({"seed": 2**80}, r"seed must be an integer in \[0"),
    "float seed": ({"seed": 1.5}, r"seed must be an integer in \[0, .*got 1.5"),
    "integral float seed": ({"seed": 7.0}, r"seed must be an integer"),
    "string seed": ({"seed": "7"}, r"seed must be an integer"),
    "bool seed": ({"seed": True}, r"seed must be an integer"),
    "None seed": ({"seed": None}, r"seed must be an integer"),
    "NaN seed": ({"seed": float("nan")}, r"seed must be an integer"),
    "seeds overflow": ({"prompt": [TEXT, TEXT], "seed": MAX_SEED}, r"got 9223372036854775808"),
    "seed count": ({"prompt": [TEXT, TEXT], "seed": [1, 2, 3]}, "got 3 seeds for 2 descriptions"),
    "batch 0": ({"prompt": []}, "give at least one description"),
    "batch 10000": ({"prompt": [TEXT] * 10_000}, f"at most {MAX_BATCH} descriptions per call, got 10000"),
    "batch over the limit": ({"prompt": [TEXT] * (MAX_BATCH + 1)}, f"at most {MAX_BATCH} descriptions per call, got {MAX_BATCH + 1}"),
    "truncation -0.1": ({"truncation": -0.1}, r"truncation must be a number in \[0, 1\], got -0.1"),
    "truncation 1.5": ({"truncation": 1.5}, r"truncation must be a number in \[0, 1\]"),
    "truncation NaN": ({"truncation": float("nan")}, r"truncation must be a number in \[0, 1\]"),
    "truncation string": ({"truncation": "0.5"}, r"truncation must be a number in \[0, 1\]"),
}


@pytest.mark.parametrize("name", BAD_CALLS.keys())
def test_bad_input_gets_a_value_error_naming_the_limit(pipe, name):
    kwargs, message = BAD_CALLS[name]
    with pytest.raises(ValueError, match=message):
        pipe(**{"prompt": TEXT, "seed": 0, **kwargs})


def test_seed_limits_and_integer_types_are_accepted(pipe):
    assert pipe(TEXT, seed=MAX_SEED).seed == MAX_SEED
    assert pipe(TEXT, seed=np.int64(3)).seed == 3
    assert np.array_equal(pixels(pipe(TEXT, seed=np.int64(3))), pixels(pipe(TEXT, seed=3)))


@pytest.mark.parametrize("steps", [0, 1, -4, MAX_STEPS + 1, 10_000, 2.5, "8", True])
def test_bad_steps_name_the_limit(pipe, steps):
    with pytest.raises(ValueError, match=f"steps must be an integer from 2 to {MAX_STEPS}"):
        pipe.interpolate_seeds(TEXT, 1, 2, steps=steps)
    with pytest.raises(ValueError, match=f"steps must be an integer from 2 to {MAX_STEPS}"):
        pipe.interpolate_texts(TEXT, "a man", steps=steps)


@pytest.mark.parametrize("at", [[], [1.5], [-0.1], [math.nan], ["0.5"], [0.5] * (MAX_STEPS + 1)])
def test_bad_positions_name_the_limit(pipe, at):
    with pytest.raises(ValueError, match=rf"at must hold 1 to {MAX_STEPS} positions in \[0, 1\]"):
        pipe.interpolate_seeds(TEXT, 1, 2, at=at)


def test_interpolation_checks_its_texts_and_seeds(pipe):
    with pytest.raises(ValueError, match="seed must be an integer"):
        pipe.interpolate_seeds(TEXT, -1, 2)
    with pytest.raises(ValueError, match="seed must be an integer"):
        pipe.interpolate_texts(TEXT, "a man", seed=2**64)
    with pytest.raises(ValueError, match="the description is empty"):
        pipe.interpolate_texts(TEXT, "   ")


class OtherEncoder(TextEncoder):
    """A stand-in encoder with another name or size than the weights were trained with."""

    def __init__(self, name: str, dim: int):
        self.name, self.dim = name, dim

    def _encode(self, texts):
        return torch.zeros(len(texts), self.dim)


@pytest.mark.parametrize(("name", "dim"), [("infersent", 384), ("all-MiniLM-L6-v2", 4096), ("infersent", 4096)])
def test_an_encoder_other_than_the_trained_one_is_refused(tiny_weights, name, dim):
    message = r"trained with the text encoder 'all-MiniLM-L6-v2' \(384-d\), but the encoder given is"
    with pytest.raises(ValueError, match=message):
        TextToFace(Generator.from_pretrained(tiny_weights), OtherEncoder(name, dim))
    with pytest.raises(ValueError, match=message):
        TextToFace.from_pretrained(tiny_weights, text_encoder=OtherEncoder(name, dim))


@pytest.mark.parametrize(
    ("device", "message"),
    [
        ("gpu", "unknown device 'gpu'"),
        ("cuda:99", r"there is no cuda:99|CUDA is not available"),
        (3.5, "unknown device"),
        ("meta", "unsupported device 'meta'"),
    ],
)
def test_an_unusable_device_is_refused_clearly(tiny_weights, device, message):
    with pytest.raises(ValueError, match=message):
        TextToFace.from_pretrained(tiny_weights, device=device)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message on a machine without CUDA")
def test_cuda_without_cuda_is_refused_clearly(tiny_weights):
    with pytest.raises(ValueError, match="CUDA is not available here: use 'cpu'"):
        TextToFace.from_pretrained(tiny_weights, device="cuda")


def test_encode_caches_and_refuses_a_bare_string(pipe):
    first = pipe.encode([TEXT, "a man"])
    assert first.shape == (2, 384) and torch.equal(pipe.encode([TEXT]), first[:1])
    assert pipe.encode([]).shape == (0, 384)
    with pytest.raises(TypeError, match="list of descriptions"):
        pipe.encode(TEXT)


def test_the_shipped_generator_draws_the_pinned_pixels():
    """A slice of the shipped weights' output for one description and seed (diffusers' habit): a change
    anywhere between the text and the pixels (encoder, conditioning, network, loading) shows here."""
    face = TextToFace.from_pretrained()("a smiling woman with wavy blond hair", seed=42, return_tensors=True)
    top = face.tensors[128][:, 60:63, 60:63].flatten()
    expected = [
        0.65034, 0.70722, 0.72431, 0.62898, 0.68545, 0.73436, 0.59842, 0.64710, 0.70237,
        0.20973, 0.27512, 0.30612, 0.19376, 0.25955, 0.31864, 0.17466, 0.22897, 0.28976,
        0.07414, 0.14788, 0.19090, 0.06080, 0.13461, 0.20205, 0.04538, 0.10621, 0.17288,
    ]  # fmt: skip
    assert torch.allclose(top, torch.tensor(expected), atol=1e-4), top.tolist()
    corner = face.tensors[4][:, :2, :2].flatten()
    expected4 = [0.53665, 0.11062, 0.02606, 0.39076, 0.37283, -0.15070, -0.11271, 0.11083, 0.12775, -0.30514, -0.36775, -0.08098]
    assert torch.allclose(corner, torch.tensor(expected4), atol=1e-4), corner.tolist()
