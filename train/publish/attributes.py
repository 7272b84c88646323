"""``python -m train attributes``: the read-out probe and the edit directions of a weights folder.

    python -m train attributes --weights weights --pack cache/celeba-train-128px-....pack

Writes ``attributes.safetensors`` + ``attributes.json`` into the weights folder (see ``t2f.attributes``);
rerun it after every retraining: the directions belong to one generator. Deterministic: the same weights,
pack and options give the same files, byte for byte.

- **Probes**: one MLP with logistic outputs per caption attribute on the pack's caption embeddings, trained
  on what each caption *claims* (the pack's ``claims``), not on the image's labels: captions name only some
  of a face's attributes and negate others ("no glasses"), so the image's labels would teach "glasses" to
  texts that never said it. One output reads what a text states, one what it negates; both also learn from
  off-topic texts (:mod:`train.publish.off_topic`) that they say nothing, and a third, the face gate, learns
  captions (and their sentences alone, :func:`face_sentences`) against those texts. Captions made to leave
  gender open (:func:`ungendered_captions`) teach man/woman that a text may say neither. The read-out reports what a text says. Every tenth image's captions and
  off-topic texts are held out to measure it; the hand-written :data:`FREE_DESCRIPTIONS` and
  :data:`FREE_OFF_TOPIC` measure it on text no template wrote. All go into attributes.json.
- **Directions**: for each edit, ``vectors`` attribute vectors of the pack (a seeded sample, so real
  co-occurrences) are captioned twice by the project's caption writer, once with the attribute and once
  without (plus the edit's context: e.g. the other hair colours cleared), with the first seed whose caption
  with it says so (see :func:`matched_captions`); the direction is the mean difference of the generator's
  mean text codes of the pairs. Its length is the strength-1 step; the 0.5th and 99.5th
  percentiles of the pack's caption codes along it bound the edits.
"""

from __future__ import annotations

import random
import re

import torch
import torch.nn.functional as F
from torch import Tensor

from t2f.attributes import (
    EDIT_NAMES, EDITS, NEGATIVE, READ_ATTRIBUTES, SURE, TWO_SIDED, AttributeModel, EditDirection, code_fingerprint,
)  # fmt: skip
from t2f.captions import ATTRIBUTES, NAMES, NOUNS, TAG_NOUNS, VOICES, describe
from t2f.model import Generator, normalize_text
from t2f.text import TextEncoder
from train.data.pack import claim_tensor
from train.eval.classifier import binary_accuracy
from train.publish.off_topic import KINDS, OffTopic, off_topic_texts

HELD_OUT_EVERY = 10  # every tenth image's captions measure the probe
# The probes: an MLP, as a linear probe of MiniLM embeddings could not tell "no beard" from "a beard": trained
# on 4 captions each of the 24,000 training faces, it read both as a beard (README, "Read and edit attributes").
# Large, because larger probes read negations better (256 x 6 read 0.44 of people's negations as absent, 1024
# x 40 0.64); without the face gate they also read a face into other text ("a photo of a red sports car":
# young), with it they read nothing there (README, "Read and edit attributes": the sizes compared).
PROBE_HIDDEN = 1024
PROBE_EPOCHS = 40  # passes over the captions
PROBE_MIN_STEPS = 500  # however few the captions (a test's hundreds)
PROBE_BATCH = 512  # captions per step, and as many of each other group's texts (fewer when there are fewer)
PROBE_LR = 1e-3
PROBE_WEIGHT_DECAY = 1e-4
DEFAULT_VECTORS = 128
SEED_TRIES = 64  # seeds tried per matched pair for captions that state the edited attribute (6 at most seen)
QUANTILES = (0.005, 0.995)
# Hand-written descriptions, as a new user types them, with what they say: (said, "present") for what is
# there, (said, "not said") for some of what is not, negated ("no beard") or not mentioned at all. The probe
# never saw these.
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
    ("a man with no beard", {"man": "present", "beard": "absent"}),
    ("a woman without glasses", {"woman": "present", "glasses": "absent"}),
    ("a man who is not smiling", {"man": "present", "smiling": "absent"}),
    ("a clean-shaven man", {"man": "present", "beard": "absent"}),
    ("a woman, no makeup, no hat", {"woman": "present", "makeup": "absent", "hat": "absent"}),
    ("a man with no mustache and no glasses", {"man": "present", "mustache": "absent", "glasses": "absent"}),
    ("a woman who is not wearing earrings", {"woman": "present", "earrings": "absent"}),
    ("a woman with glasses", {"woman": "present", "glasses": "present", "young": "not said", "older": "not said"}),
)  # fmt: skip
# Hand-written texts that describe no face's look (the issues' examples among them): each should read as
# nothing the model knows. (text, whether it says he or she.) The probe never saw these.
FREE_OFF_TOPIC: tuple[tuple[str, bool], ...] = tuple((t, False) for t in (
    "😀😀😀", "🙂 👍", "asdfgh qwerty", "lorem ipsum dolor sit amet", "a photo of a red sports car",
    "a bowl of soup on a wooden table", "the quarterly report is due on Monday", "hello", "12345", "???",
    "una mujer joven con el pelo rubio y gafas", "一个戴眼镜的金发女人", "Ein alter Mann mit Bart und Hut.",
    "my cat sleeps all day", "mountains at sunrise",
)) + (("He is an accountant from Leeds who loves jazz.", True), ("She moved to Oslo last spring.", True))  # fmt: skip
DEFAULT_OFF_TOPIC = 2000  # off-topic texts the probes learn from (train.publish.off_topic)
# Captions that leave gender open: the caption writer always says man or woman, so without these the
# 1024-unit probe read "a face with glasses" and "a person" as a man (0.99).
DEFAULT_UNGENDERED = 2000
DEFAULT_FACE_SENTENCES = 2000  # caption sentences alone, for the face gate (face_sentences)
# The caption writer's words that say man or woman (t2f.captions), and what a text that leaves it open says.
_OPEN: dict[str, str] = {
    **dict.fromkeys((*NOUNS[True], *NOUNS[False], *TAG_NOUNS[True], *TAG_NOUNS[False]), "person"),
    **{v[k]: w for v in VOICES.values() for k, w in (("he", "they"), ("his", "their"), ("kid", "kid"), ("grand", "elderly"))},
    "him": "them", "himself": "themselves", "herself": "themselves",
    **dict.fromkeys((name.lower() for name in (*NAMES[True], *NAMES[False])), "someone"),
}  # fmt: skip
_GENDERED_WORD = re.compile(r"\b(" + "|".join(sorted(map(re.escape, _OPEN), key=len, reverse=True)) + r")\b", re.I)


def ungendered(text: str) -> str:
    """A caption writer's text with every word that says man or woman replaced by one that does not ("A young
    man. His hair is gray." -> "A young person. Their hair is gray.")."""

    def swap(match: re.Match) -> str:
        word = match.group(0)
        new = _OPEN[word.lower()]
        return new[0].upper() + new[1:] if word[0].isupper() else new

    return _GENDERED_WORD.sub(swap, text)


def ungendered_captions(attributes: Tensor, n: int, seed: int = 0) -> tuple[list[str], Tensor]:
    """``n`` captions of attribute vectors drawn from ``attributes`` (M, 40), made :func:`ungendered`, and
    their claims (n, 40) int8 with Male unsaid."""
    rows = torch.randint(len(attributes), (n,), generator=torch.Generator().manual_seed(seed)).tolist()
    described = [describe(attributes[row].tolist(), seed=seed * 1_000_003 + i) for i, row in enumerate(rows)]
    claims = claim_tensor([{k: v for k, v in d.claims.items() if k != "Male"} for d in described])
    return [ungendered(d.text) for d in described], claims


def face_sentences(attributes: Tensor, n: int, seed: int = 0) -> list[str]:
    """``n`` texts that each describe part of a face, for the face gate, which the pipeline asks about every
    sentence of a description alone (``TextToFace.face_text``): per caption of an attribute vector drawn from
    ``attributes`` (M, 40), one of its sentences that describe the face or one comma-separated part of such a
    sentence, as a sentence of its own ("Woman, 20s, blonde, no hat." -> "Blonde.", "No hat."). Without them
    the gate, which had seen only whole captions, closed on "He is old.", "Smiling." and "Goatee."."""
    rows = torch.randint(len(attributes), (n,), generator=torch.Generator().manual_seed(seed + 1)).tolist()
    rng = random.Random(seed)
    out = []
    for i, row in enumerate(rows):
        sentences = describe(attributes[row].tolist(), seed=(seed + 1) * 1_000_003 + i).sentences
        parts = [part for s in sentences for part in s.rstrip(".").split(", ")]
        out.append(rng.choice([*sentences, *(p[0].upper() + p[1:] + "." for p in parts if len(parts) > 1)]))
    return out


def _split(n: int) -> tuple[Tensor, Tensor]:
    held = torch.arange(n) % HELD_OUT_EVERY == 0
    return ~held, held


def claim_targets(claims: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Per-caption claims (..., 40) int8 (1 stated, 0 negated, -1 unsaid; CelebA columns) -> the probes'
    (targets, mask, negation targets, negation mask), each (..., A) over READ_ATTRIBUTES.

    The targets are the probabilities the read-out turns into words (``t2f.attributes._readings``). For Male
    and Young, the side stated, and an even 0.5 where the caption leaves it open (below SURE: the seed
    decides), so a description with no age word does not read as young or older. For every other attribute,
    whether the caption states it as present; for No_Beard, present is a beard (value 0), so its target is 1
    unless a beard is stated. Every caption trains every output but one: the negation probe (whether the
    caption negates it, "no glasses"; for No_Beard "clean-shaven", value 1) is not trained for Male and Young.
    """
    columns = [ATTRIBUTES.index(a) for a in READ_ATTRIBUTES]
    stated = claims[..., columns].long()
    two_sided = torch.tensor([a in TWO_SIDED for a in READ_ATTRIBUTES])
    negative = torch.tensor([a in NEGATIVE for a in READ_ATTRIBUTES])
    targets = torch.where(negative, stated != 0, stated == 1).float()
    targets = torch.where(two_sided & (stated == -1), 0.5, targets)
    negated = torch.where(negative, stated == 1, stated == 0).float()
    return targets, torch.ones_like(targets, dtype=torch.bool), negated, ~two_sided.expand_as(targets)


def off_topic_targets(states_gender: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """(targets, mask, negation targets, negation mask), each (M, A), of M off-topic texts (``states_gender``:
    (M,) bool, the texts that say he or she): nothing stated, nothing negated, and for Young, and for Male
    where the text leaves it open, an even 0.5 (below SURE: the seed decides)."""
    m, a = len(states_gender), len(READ_ATTRIBUTES)
    two_sided = torch.tensor([x in TWO_SIDED for x in READ_ATTRIBUTES])
    negative = torch.tensor([x in NEGATIVE for x in READ_ATTRIBUTES])
    male = torch.tensor([x == "Male" for x in READ_ATTRIBUTES])
    targets = torch.where(two_sided, 0.5, negative.float()).expand(m, a)
    mask = ~(male & states_gender[:, None])
    return targets, mask, torch.zeros(m, a), ~two_sided.expand(m, a)


def _fit_mlp(
    groups: list[tuple[Tensor, Tensor, Tensor]], *, hidden: int, epochs: int, seed: int
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """A one-hidden-layer MLP (ReLU) from x to the columns of y, each a logistic output, from groups of
    (x (N, D), y (N, O) in [0, 1], mask (N, O)). Each step's loss sums, over groups, each column's mean
    binary cross-entropy over the group's masked rows in the batch, so a small group (the off-topic texts
    beside a pack's captions) counts as much as a large one. Adam, seeded batches: deterministic on one
    machine. Returns (hidden weight (H, D), hidden bias (H,), output weight (O, H), output bias (O,))."""
    g = torch.Generator().manual_seed(seed)
    d, o = groups[0][0].shape[1], groups[0][1].shape[1]
    with torch.random.fork_rng():  # the layers' seeded initialisation, leaving the caller's global RNG as it was
        torch.manual_seed(seed)
        net = torch.nn.Sequential(torch.nn.Linear(d, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, o))
    opt = torch.optim.AdamW(net.parameters(), lr=PROBE_LR, weight_decay=PROBE_WEIGHT_DECAY)
    largest = max(len(x) for x, _, _ in groups)
    steps = max(PROBE_MIN_STEPS, epochs * largest // PROBE_BATCH)
    for _ in range(steps):
        loss = 0.0
        for x, y, mask in groups:
            rows = torch.randint(len(x), (min(PROBE_BATCH, len(x)),), generator=g)
            m = mask[rows].float()
            losses = F.binary_cross_entropy_with_logits(net(x[rows]), y[rows], reduction="none")
            loss = loss + ((losses * m).sum(dim=0) / m.sum(dim=0).clamp(min=1)).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    first, last = net[0], net[2]
    return first.weight.detach(), first.bias.detach(), last.weight.detach(), last.bias.detach()


def _held_out_scores(logits: Tensor, truth: Tensor, mask: Tensor) -> dict:
    """Accuracy, balanced accuracy and majority baseline per attribute on the masked rows, and their means."""
    keys = ("accuracy", "balanced_accuracy", "majority_baseline")
    per = {}
    for i, name in enumerate(READ_ATTRIBUTES):
        rows = mask[:, i]
        if rows.any():  # a tiny set's held-out captions may all leave age unsaid
            scores = binary_accuracy(logits[rows, i, None] > 0, truth[rows, i, None].bool(), [name])[name]
            per[name] = {key: round(scores[key], 4) for key in keys}
    means = {key: round(sum(v[key] for v in per.values()) / len(per), 4) for key in keys}
    return {"mean": means, "per_attribute": per}


def _group(x: Tensor, targets: tuple[Tensor, ...], gate: float, rows: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """One of :func:`_fit_mlp`'s groups: the ``rows`` of texts ``x`` (N, D), their (targets, mask, negation
    targets, negation mask), each (N, A), and the face gate's target for all of them."""
    y, mask, neg, neg_mask = targets
    face = torch.full((len(x), 1), gate)
    return x[rows], torch.cat([y, neg, face], 1)[rows], torch.cat([mask, neg_mask, torch.ones_like(face, dtype=torch.bool)], 1)[rows]


def fit_probe(
    embeddings: Tensor,
    claims: Tensor,
    off_topic: Tensor,
    states_gender: Tensor,
    open_gender: Tensor,
    open_gender_claims: Tensor,
    sentences: Tensor,
    *,
    seed: int = 0,
) -> tuple[tuple[Tensor, Tensor, Tensor, Tensor], dict]:
    """The read-out's probes, one MLP with an output per attribute for "stated" and one for "negated", and the
    face gate, from caption embeddings (N, K, D) and what each caption claims (N, K, 40), with the targets of
    :func:`claim_targets` (the gate: 1); off-topic text embeddings (M, D) with those of
    :func:`off_topic_targets` (``states_gender`` (M,) bool; the gate: 0); and embeddings of captions that
    leave gender open (U, D) with their claims (U, 40) (:func:`ungendered_captions`; the gate: 1); and
    embeddings of caption sentences (S, D) (:func:`face_sentences`), which train only the gate (1): what one
    sentence claims is not known.

    Trained on all but every tenth image's captions and every tenth text of the other two groups; returns the
    MLP's tensors (hidden weight (H, D), hidden bias (H,), output weight (2A + 1, H), output bias (2A + 1,))
    and held-out metrics of the outputs.
    """
    n, k, d = embeddings.shape
    x = normalize_text(embeddings.reshape(n * k, d))
    extra = normalize_text(off_topic.float())
    u = normalize_text(open_gender.float())
    captions = [t.reshape(n * k, -1) for t in claim_targets(claims)]
    train, held = (part.repeat_interleave(k) for part in _split(n))
    o_train, o_held = _split(len(extra))
    u_train, u_held = _split(len(u))
    f = normalize_text(sentences.float())
    f_train, f_held = _split(len(f))
    nothing = torch.zeros(len(f), len(READ_ATTRIBUTES))
    groups = [
        _group(x, captions, 1.0, train),
        _group(extra, off_topic_targets(states_gender), 0.0, o_train),
        _group(u, claim_targets(open_gender_claims), 1.0, u_train),
        _group(f, (nothing, nothing.bool(), nothing, nothing.bool()), 1.0, f_train),
    ]
    tensors = _fit_mlp(groups, hidden=PROBE_HIDDEN, epochs=PROBE_EPOCHS, seed=seed)
    w1, b1, w2, b2 = tensors
    a = len(READ_ATTRIBUTES)
    with torch.no_grad():
        logits, off_topic_logits, open_logits, sentence_logits = (
            torch.relu(v @ w1.T + b1) @ w2.T + b2 for v in (x[held], extra[o_held], u[u_held], f[f_held])
        )
    y, mask, neg, neg_mask = captions
    stated_logits, negated_logits = logits[:, :a], logits[:, a : 2 * a]
    male = torch.sigmoid(open_logits[:, READ_ATTRIBUTES.index("Male")])
    stated = _held_out_scores(stated_logits, y[held], mask[held])
    # Scored where some held-out caption negates the attribute: a class of one kind says nothing.
    negated = _held_out_scores(negated_logits, neg[held], neg_mask[held] & (neg[held] > 0).any(dim=0))
    metrics = {
        "held_out_captions": int(held.sum()),
        "held_out_mean": stated["mean"],
        "held_out": stated["per_attribute"],
        "negation_held_out_mean": negated["mean"],
        "negation_held_out": negated["per_attribute"],
        "face_gate_held_out": {
            "captions_open": round(float((logits[:, -1] > 0).float().mean()), 4),
            "off_topic_closed": round(float((off_topic_logits[:, -1] <= 0).float().mean()), 4),
            "sentences_open": round(float((sentence_logits[:, -1] > 0).float().mean()), 4),
        },
        # Held-out captions that leave gender open, read so (man and woman both below SURE).
        "gender_open_held_out": round(float((torch.maximum(male, 1 - male) < SURE).float().mean()), 4),
    }
    return tensors, metrics


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


def reads_nothing(model: AttributeModel, embeddings: Tensor, states_gender: list[bool]) -> list[bool]:
    """Per embedding (N, D): whether the read-out finds nothing in it (no attribute present or absent; man and
    woman aside where the text ``states_gender``)."""
    return [
        all(r.status == "not said" or (gender and r.attribute == "Male") for r in model.read(e))
        for e, gender in zip(embeddings, states_gender)
    ]


def off_topic_accuracy(model: AttributeModel, encoder: TextEncoder, held_out: list[OffTopic], embeddings: Tensor) -> dict:
    """Share of off-topic texts read as nothing: held-out generated ones (and their embeddings (M, D)), per
    kind, and FREE_OFF_TOPIC, with FREE_OFF_TOPIC's misses and what they read."""
    free_embeddings = encoder.encode([text for text, _ in FREE_OFF_TOPIC])
    free = reads_nothing(model, free_embeddings, [gender for _, gender in FREE_OFF_TOPIC])
    misses = [
        f"{text!r}: read {', '.join(r.said + ' ' + r.status for r in model.read(e) if r.status != 'not said')}"
        for (text, _), e, ok in zip(FREE_OFF_TOPIC, free_embeddings, free)
        if not ok
    ]
    generated = reads_nothing(model, embeddings, [t.states_gender for t in held_out])
    per_kind = {
        kind: round(sum(ok for ok, t in zip(generated, held_out) if t.kind == kind) / count, 4)
        for kind in KINDS
        if (count := sum(t.kind == kind for t in held_out))
    }
    return {
        "held_out_nothing": round(sum(generated) / max(len(generated), 1), 4),
        "held_out_texts": len(generated),
        "held_out_per_kind": per_kind,
        "free_nothing": round(sum(free) / len(free), 4),
        "free_texts": len(free),
        "free_misses": misses,
    }


def matched_captions(edit: EditDirection, attributes: Tensor, seed: int = 0) -> tuple[list[str], list[str]]:
    """Captions of each attribute vector (M, 40) with the edit's attribute on its +1 side and on its -1 side,
    the same caption seed for both, the edit's context applied to both.

    Captions name only some of what a face has, so each pair takes the first of ``SEED_TRIES`` seeds whose +1
    caption states the attribute (and, for Male and Young, whose -1 caption states the other side); a -1
    caption of a one-sided attribute leaves it unsaid or negates it ("no glasses").
    """
    toward, away = [], []
    for i, row in enumerate(attributes.tolist()):
        a = {name: value == 1 for name, value in zip(ATTRIBUTES, row)}
        a.update(dict(edit.context))
        a.update({name: False for name in edit.clear})
        first = (seed * 1_000_003 + i) * SEED_TRIES
        for s in range(first, first + SEED_TRIES):
            plus = describe({**a, edit.attribute: edit.toward}, seed=s)
            if plus.claims.get(edit.attribute) != int(edit.toward):
                continue
            minus = describe({**a, edit.attribute: not edit.toward}, seed=s)
            if edit.attribute not in TWO_SIDED or minus.claims.get(edit.attribute) == int(not edit.toward):
                break
        else:
            raise ValueError(
                f"no caption of {SEED_TRIES} seeds states {edit.attribute} for attribute vector {i}: {row}"
            )
        toward.append(plus.text)
        away.append(minus.text)
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


def build_attribute_model(
    generator: Generator,
    encoder: TextEncoder,
    embeddings: Tensor,
    attributes: Tensor,
    claims: Tensor,
    *,
    vectors: int = DEFAULT_VECTORS,
    off_topic: int = DEFAULT_OFF_TOPIC,
    open_gender: int = DEFAULT_UNGENDERED,
    sentences: int = DEFAULT_FACE_SENTENCES,
    seed: int = 0,
    source: str = "",
) -> AttributeModel:
    """The probes and directions from a training set's caption embeddings (N, K, D), the images' attributes
    (N, 40) and what each caption claims (N, K, 40) int8, as a pack stores them: the probes learn the claims
    and ``off_topic`` texts that describe no face (encoded here), the directions caption a sample of the
    attribute vectors."""
    if embeddings.shape[0] != attributes.shape[0] or embeddings.shape[0] < HELD_OUT_EVERY:
        raise ValueError(
            f"need at least {HELD_OUT_EVERY} images with caption embeddings and attributes each, "
            f"got {embeddings.shape[0]} and {attributes.shape[0]}"
        )
    if tuple(claims.shape) != (*embeddings.shape[:2], len(ATTRIBUTES)):
        raise ValueError(
            f"need the claims of every caption, (images, captions, {len(ATTRIBUTES)}) = "
            f"{(*embeddings.shape[:2], len(ATTRIBUTES))}, got {tuple(claims.shape)}"
        )
    if embeddings.shape[-1] != generator.config.text_dim:
        raise ValueError(
            f"the embeddings are {embeddings.shape[-1]}-d, the generator reads {generator.config.text_dim}-d"
        )
    if not 1 <= vectors <= len(attributes):
        raise ValueError(f"vectors must be from 1 to {len(attributes)} (the images available), got {vectors}")
    if off_topic < HELD_OUT_EVERY:
        raise ValueError(f"off_topic must be at least {HELD_OUT_EVERY} texts, got {off_topic}")
    if open_gender < HELD_OUT_EVERY:
        raise ValueError(f"open_gender must be at least {HELD_OUT_EVERY} captions, got {open_gender}")
    if sentences < HELD_OUT_EVERY:
        raise ValueError(f"sentences must be at least {HELD_OUT_EVERY} caption sentences, got {sentences}")
    negatives = off_topic_texts(off_topic, seed)
    negative_embeddings = encoder.encode([t.text for t in negatives]).cpu().float()
    open_texts, open_claims = ungendered_captions(attributes, open_gender, seed)
    probe_tensors, probe = fit_probe(
        embeddings.float(), claims, negative_embeddings, torch.tensor([t.states_gender for t in negatives]),
        encoder.encode(open_texts).cpu().float(), open_claims,
        encoder.encode(face_sentences(attributes, sentences, seed)).cpu().float(), seed=seed,
    )  # fmt: skip
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
        "off_topic_texts": off_topic,
        "open_gender_captions": open_gender,
        "face_sentences": sentences,
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
    model = AttributeModel(*probe_tensors, directions, steps, low, high, info)
    model.info["probe"]["free_descriptions"] = free_description_accuracy(model, encoder)
    _, held = _split(off_topic)
    held_out = [t for t, h in zip(negatives, held.tolist()) if h]
    model.info["probe"]["off_topic"] = off_topic_accuracy(model, encoder, held_out, negative_embeddings[held])
    return model
