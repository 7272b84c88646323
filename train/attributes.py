"""``python -m train attributes``: the read-out probe and the edit directions of a weights folder.

    python -m train attributes --weights weights --pack cache/celeba-train-128px-....pack

Writes ``attributes.safetensors`` + ``attributes.json`` into the weights folder (see ``t2f.attributes``);
rerun it after every retraining: the directions belong to one generator. Deterministic: the same weights,
pack and options give the same files, byte for byte.

- **Probe**: logistic regression per caption attribute on the pack's caption embeddings (three per image),
  labels from the image's attributes (the captions mention exactly those). Every tenth image's captions are
  held out to measure it; the hand-written :data:`FREE_DESCRIPTIONS` measure it on text no caption template
  wrote. Both go into attributes.json.
- **Directions**: for each edit, ``vectors`` attribute vectors of the pack (a seeded sample, so real
  co-occurrences) are captioned twice by the project's caption writer with the same seed, once with the
  attribute and once without (plus the edit's context: e.g. the other hair colours cleared); the direction is
  the mean difference of the generator's mean text codes of the pairs. Its length is the strength-1 step;
  the 0.5th and 99.5th percentiles of the pack's caption codes along it bound the edits.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor

from t2f.attributes import (
    EDIT_NAMES,
    EDITS,
    READ_ATTRIBUTES,
    AttributeModel,
    EditDirection,
    code_fingerprint,
    save_attribute_model,
)
from t2f.captions import ATTRIBUTES, caption
from t2f.hub import load_generator
from t2f.model import Generator, normalize_text
from t2f.text import TextEncoder, get_text_encoder
from train.classifier import binary_accuracy

HELD_OUT_EVERY = 10  # every tenth image's captions measure the probe
# Ridge on the probe weights. On the CelebA-10k pack, held-out caption accuracy 0.995 at 1e-4, 0.981 at 1e-3,
# 0.936 at 1e-2; the free descriptions 47/47 at 1e-4 and 1e-3, 40/47 at 1e-2.
PROBE_L2 = 1e-4
PROBE_ITERATIONS = 100  # L-BFGS iterations (at l2 1e-3, 100 and 300 gave the same held-out accuracy)
DEFAULT_VECTORS = 128
QUANTILES = (0.005, 0.995)

# Hand-written descriptions, as a new user types them, with what they say: (said, "present") for what is
# there, (said, "not said") for some of what is not. The probe never saw these.
FREE_DESCRIPTIONS: tuple[tuple[str, dict[str, str]], ...] = (
    ("an old man with a beard", {"older": "present", "man": "present", "beard": "present", "glasses": "not said"}),
    (
        "an old man with gray hair, glasses and a mustache",
        {"older": "present", "man": "present", "gray hair": "present", "glasses": "present", "mustache": "present"},
    ),
    (
        "a smiling young woman with wavy blond hair",
        {"young": "present", "woman": "present", "smiling": "present", "blond hair": "present", "beard": "not said"},
    ),
    ("a bald man with a goatee", {"man": "present", "bald": "present", "goatee": "present", "hat": "not said"}),
    ("a woman wearing red lipstick and earrings", {"woman": "present", "lipstick": "present", "earrings": "present"}),
    ("a young guy with black hair and a cap", {"young": "present", "man": "present", "black hair": "present", "hat": "present"}),
    ("a lady with bangs and brown hair", {"woman": "present", "bangs": "present", "brown hair": "present", "smiling": "not said"}),
    ("a grinning man in spectacles", {"man": "present", "smiling": "present", "glasses": "present"}),
    ("an elderly woman with silver hair", {"older": "present", "woman": "present", "gray hair": "present"}),
    ("a teenage boy with a big nose", {"young": "present", "man": "present", "big nose": "present", "beard": "not said"}),
    ("a middle-aged man with a double chin and a tie", {"older": "present", "man": "present", "double chin": "present", "necktie": "present"}),
    ("a girl with heavy makeup and a necklace", {"woman": "present", "makeup": "present", "necklace": "present", "glasses": "not said"}),
)  # fmt: skip


# --- the probe ------------------------------------------------------------------------------------


def _split(n: int) -> tuple[Tensor, Tensor]:
    held = torch.arange(n) % HELD_OUT_EVERY == 0
    return ~held, held


def _labels(attributes: Tensor) -> Tensor:
    """(N, 40) CelebA 0/1 (or -1/1) -> (N, A) float 0/1 for READ_ATTRIBUTES."""
    columns = [ATTRIBUTES.index(a) for a in READ_ATTRIBUTES]
    return (attributes[:, columns] == 1).float()


def fit_probe(embeddings: Tensor, attributes: Tensor, *, l2: float = PROBE_L2) -> tuple[Tensor, Tensor, dict]:
    """Logistic regression per attribute from caption embeddings (N, K, D) to the images' attributes (N, 40).

    Trained on all but every tenth image (full-batch L-BFGS, deterministic); returns (weight (A, D),
    bias (A,), held-out metrics: accuracy, balanced accuracy and majority baseline per attribute and their means).
    """
    n, k, d = embeddings.shape
    x = normalize_text(embeddings.reshape(n * k, d)).reshape(n, k, d)
    y = _labels(attributes)[:, None, :].expand(n, k, -1)
    train, held = _split(n)
    x_train, y_train = x[train].reshape(-1, d), y[train].reshape(-1, y.shape[-1])
    weight = torch.zeros(y.shape[-1], d, requires_grad=True)
    bias = torch.zeros(y.shape[-1], requires_grad=True)
    opt = torch.optim.LBFGS(
        [weight, bias], lr=1.0, max_iter=PROBE_ITERATIONS, history_size=20, line_search_fn="strong_wolfe"
    )

    def closure() -> Tensor:
        opt.zero_grad()
        loss = F.binary_cross_entropy_with_logits(x_train @ weight.T + bias, y_train) + l2 * weight.pow(2).sum() / 2
        loss.backward()
        return loss

    opt.step(closure)
    weight, bias = weight.detach(), bias.detach()
    with torch.no_grad():
        predicted = (x[held].reshape(-1, d) @ weight.T + bias) > 0
    keys = ("accuracy", "balanced_accuracy", "majority_baseline")
    scores = binary_accuracy(predicted, y[held].reshape(-1, y.shape[-1]).bool(), READ_ATTRIBUTES)
    per = {name: {key: round(v[key], 4) for key in keys} for name, v in scores.items()}
    means = {key: round(sum(v[key] for v in per.values()) / len(per), 4) for key in keys}
    metrics = {"held_out_captions": int(held.sum()) * k, "held_out_mean": means, "held_out": per}
    return weight, bias, metrics


def free_description_accuracy(model: AttributeModel, encoder: TextEncoder) -> dict:
    """Share of FREE_DESCRIPTIONS' expectations the read-out meets, and the misses."""
    embeddings = encoder.encode([text for text, _ in FREE_DESCRIPTIONS])
    checked, misses = 0, []
    for (text, expected), embedding in zip(FREE_DESCRIPTIONS, embeddings):
        status = {r.said: r.status for r in model.read(embedding)}
        for said, want in expected.items():
            checked += 1
            if status[said] != want:
                misses.append(f"{text!r}: {said} read {status[said]}, expected {want}")
    return {"accuracy": round(1 - len(misses) / checked, 4), "checked": checked, "misses": misses}


# --- the directions -------------------------------------------------------------------------------


def matched_captions(edit: EditDirection, attributes: Tensor, seed: int = 0) -> tuple[list[str], list[str]]:
    """Captions of each attribute vector (M, 40) with the edit's attribute on its +1 side and on its -1 side,
    the same caption seed for both, the edit's context applied to both."""
    toward, away = [], []
    for i, row in enumerate(attributes.tolist()):
        a = {name: value == 1 for name, value in zip(ATTRIBUTES, row)}
        a.update(dict(edit.context))
        a.update({name: False for name in edit.clear})
        for side, texts in ((edit.toward, toward), (not edit.toward, away)):
            texts.append(caption({**a, edit.attribute: side}, seed=seed * 1_000_003 + i))
    return toward, away


@torch.no_grad()
def text_codes(generator: Generator, embeddings: Tensor, batch: int = 4096) -> Tensor:
    """Mean text codes (N, cond_dim) of embeddings (N, text_dim), float32 on the CPU."""
    return torch.cat([generator.cond(e.float()) for e in embeddings.split(batch)])


def build_directions(
    generator: Generator, encoder: TextEncoder, base: Tensor, train_codes: Tensor, *, seed: int = 0
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """(unit directions (E, C), steps (E,), low (E,), high (E,)) for EDITS from matched captions of ``base``."""
    pairs = [matched_captions(edit, base, seed) for edit in EDITS]
    texts = [t for toward, away in pairs for t in toward + away]
    codes = text_codes(generator, encoder.encode(texts)).reshape(len(EDITS), 2, len(base), -1)
    differences = (codes[:, 0] - codes[:, 1]).mean(dim=1)
    steps = differences.norm(dim=1)
    directions = differences / steps[:, None]
    along = train_codes @ directions.T  # (N, E)
    low, high = torch.quantile(along, torch.tensor(QUANTILES), dim=0)
    return directions, steps, low, high


# --- the whole build ------------------------------------------------------------------------------


def build_attribute_model(
    generator: Generator,
    encoder: TextEncoder,
    embeddings: Tensor,
    attributes: Tensor,
    *,
    vectors: int = DEFAULT_VECTORS,
    seed: int = 0,
    source: str = "",
) -> AttributeModel:
    """The probe and directions from a training set's caption embeddings (N, K, D) and attributes (N, 40)."""
    if embeddings.shape[0] != attributes.shape[0] or embeddings.shape[0] < HELD_OUT_EVERY:
        raise ValueError(
            f"need at least {HELD_OUT_EVERY} images with caption embeddings and attributes each, "
            f"got {embeddings.shape[0]} and {attributes.shape[0]}"
        )
    if embeddings.shape[-1] != generator.config.text_dim:
        raise ValueError(
            f"the embeddings are {embeddings.shape[-1]}-d, the generator reads {generator.config.text_dim}-d"
        )
    if not 1 <= vectors <= len(attributes):
        raise ValueError(f"vectors must be from 1 to {len(attributes)} (the images available), got {vectors}")
    weight, bias, probe = fit_probe(embeddings.float(), attributes)
    order = torch.randperm(len(attributes), generator=torch.Generator().manual_seed(seed))
    train_codes = text_codes(generator, embeddings.reshape(-1, embeddings.shape[-1]))
    base = attributes[order[:vectors]]
    directions, steps, low, high = build_directions(generator, encoder, base, train_codes, seed=seed)
    info = {
        "text_encoder": generator.config.text_encoder,
        "generator_fingerprint": code_fingerprint(generator),
        "source": source,
        "attributes": list(READ_ATTRIBUTES),
        "edits": list(EDIT_NAMES),
        "plus_one_means": {e.name: e.attribute if e.toward else f"not {e.attribute}" for e in EDITS},
        "vectors": vectors,
        "seed": seed,
        "probe": probe,
        "strength_scale": {
            "rule": "strength 1 = one step (mean code difference of matched captions), bounded by the training codes' "
            f"{QUANTILES[0] * 100:g}th-{QUANTILES[1] * 100:g}th percentiles along the direction",
            **{
                e.name: {"step": round(float(s), 4), "low": round(float(lo), 4), "high": round(float(hi), 4)}
                for e, s, lo, hi in zip(EDITS, steps, low, high)
            },
        },
    }  # fmt: skip
    model = AttributeModel(weight, bias, directions, steps, low, high, info)
    model.info["probe"]["free_descriptions"] = free_description_accuracy(model, encoder)
    return model


def run_attributes(args: argparse.Namespace) -> int:
    from train.data import load_pack

    start = time.perf_counter()
    generator = load_generator(args.weights)
    pack = load_pack(args.pack)
    config = generator.config
    if pack.meta.get("text_encoder") != config.text_encoder:
        raise ValueError(
            f"{args.pack} holds {pack.meta.get('text_encoder')} embeddings; the weights read {config.text_encoder}"
        )
    encoder = get_text_encoder(config.text_encoder, config.text_encoder_options)
    model = build_attribute_model(
        generator, encoder, pack.embeddings, pack.attributes, vectors=args.vectors, seed=args.seed,
        source=f"{Path(args.pack).name} ({len(pack)} images x {pack.embeddings.shape[1]} captions)",
    )  # fmt: skip
    file = save_attribute_model(model, args.weights)
    probe = model.info["probe"]
    held, free = probe["held_out_mean"], probe["free_descriptions"]
    print(
        f"probe: held-out captions ({probe['held_out_captions']}) accuracy {held['accuracy']:.3f}, balanced "
        f"{held['balanced_accuracy']:.3f} (majority baseline {held['majority_baseline']:.3f}); free descriptions "
        f"{free['accuracy']:.3f} of {free['checked']} readings"
    )
    for miss in free["misses"]:
        print(f"  miss: {miss}")
    seconds = time.perf_counter() - start
    print(f"wrote {file} and {file.with_suffix('.json').name} ({len(EDITS)} directions) in {seconds:.0f} s")
    return 0


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "attributes", help="build the attribute read-out and edit directions of a weights folder (after every training)"
    )
    add = p.add_argument
    add("--weights", required=True, type=Path, help="weights folder (config.json + model.safetensors); written into")
    add("--pack", required=True, type=Path, help="the training pack (python -m train prepare) the weights learnt from")
    add("--vectors", type=int, default=DEFAULT_VECTORS, help=f"attribute vectors per direction ({DEFAULT_VECTORS})")
    add("--seed", type=int, default=0, help="which vectors and caption phrasings (default 0)")
    p.set_defaults(func=run_attributes)
