"""Texts that describe no face's look: the read-out's negative examples.

A probe trained only on face captions has never seen a text without a face in it, so it reads every text as
some face: "a photo of a red sports car" as glasses, key mashes and emoji as twenty attributes at once. These
texts teach it that such text says nothing the model knows. Five kinds, mixed evenly:

- **about a person, not a look**: 1-3 of the caption writer's neutral sentences alone (job, city, hobby, ...);
  most say he, she or a name, so they state a gender and nothing else;
- **other things**: objects, animals, places and food, as photo captions;
- **other languages**: face descriptions in Spanish, French, German, Italian, Portuguese, Chinese, Japanese and
  Russian (the English-only encoder does not understand them, and the generator was never trained on them);
- **key mashes**: random letter strings;
- **symbols**: emoji, digits and punctuation.

Written for this project; deterministic for a seed.
"""

from __future__ import annotations

import random
import re
import string
from dataclasses import dataclass

from t2f.captions import NAMES, neutral_sentences

THINGS = (
    "sports car", "bicycle", "teapot", "laptop", "sofa", "umbrella", "guitar", "backpack", "lighthouse", "bridge",
    "sailboat", "tractor", "kettle", "chessboard", "clock tower", "vase of tulips", "pair of boots", "motorbike",
    "wooden table", "train station", "mountain lake", "birthday cake", "bowl of ramen", "pizza", "golden retriever",
    "tabby cat", "horse", "parrot", "goldfish", "elephant", "city skyline", "beach at sunset", "forest path",
    "snowy village", "desert road", "football stadium", "library", "kitchen", "garden shed", "spaceship",
)  # fmt: skip
COLOURS = ("red", "blue", "green", "yellow", "white", "black", "vintage", "new", "small", "huge", "shiny", "striped")
THING_TEMPLATES = (
    "a photo of a {c} {t}", "a {c} {t}", "{c} {t} for sale", "a picture of a {t} in the rain",
    "a drawing of a {t}", "the {t} we saw on holiday", "close-up of a {c} {t}", "a {t} next to a {t2}",
    "How much does a {t} cost?", "I need a {c} {t} by Friday.", "a {t}, a {t2} and a {c} bucket",
)  # fmt: skip
# (subjects, ages, features, joiner) per language, each text in one language ("" where the age is in the subject).
FOREIGN: dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...], str]] = {
    "es": (("un hombre", "una mujer", "una chica", "un chico"), ("joven", "mayor", "sonriente"),
           ("el pelo rubio", "el pelo negro", "gafas", "barba", "un sombrero", "el pelo castaño"), "con"),
    "fr": (("un homme", "une femme", "une fille", "un garçon"), ("jeune", "âgé", "souriant"),
           ("les cheveux blonds", "les cheveux noirs", "des lunettes", "une barbe", "un chapeau"), "avec"),
    "de": (("ein junger Mann", "eine alte Frau", "ein Mädchen", "ein alter Mann"), ("",),
           ("blonden Haaren", "schwarzen Haaren", "einer Brille", "einem Bart", "einem Hut"), "mit"),
    "it": (("un uomo", "una donna", "una ragazza", "un ragazzo"), ("giovane", "anziano", "sorridente"),
           ("i capelli biondi", "i capelli neri", "gli occhiali", "la barba", "un cappello"), "con"),
    "pt": (("um homem", "uma mulher", "uma menina", "um rapaz"), ("jovem", "idoso", "sorridente"),
           ("cabelo loiro", "cabelo preto", "óculos", "barba", "um chapéu"), "com"),
    "zh": (("男人", "女人", "女孩", "男孩"), ("年轻的", "年老的", "微笑的"),
           ("金色头发", "黑色头发", "眼镜", "胡子", "帽子"), "和"),
    "ja": (("男性", "女性", "女の子", "男の子"), ("若い", "年配の", "笑顔の"),
           ("金髪", "黒髪", "眼鏡", "ひげ", "帽子"), "と"),
    "ru": (("молодой мужчина", "пожилая женщина", "девушка", "пожилой мужчина"), ("",),
           ("светлыми волосами", "чёрными волосами", "очками", "бородой", "шляпой"), "с"),
}  # fmt: skip
EMOJI = "😀😂😍🙂😎🤔😴🥳👍🔥✨🎉🌈🍕🚗🐶🐱🌟💯❤️👀🙈"
KINDS = ("person", "thing", "foreign", "mash", "symbols")
# A neutral sentence says a gender when it has a pronoun or a name ("the weather was sunny" does not).
GENDERED = re.compile(r"\b(he|she|his|her|him|" + "|".join(n for names in NAMES.values() for n in names) + r")\b", re.I)


@dataclass(frozen=True)
class OffTopic:
    """A text that describes no look; ``states_gender`` when it says he, she or a name."""

    text: str
    kind: str
    states_gender: bool


def _foreign(rng: random.Random) -> str:
    subjects, ages, features, joiner = FOREIGN[rng.choice(list(FOREIGN))]
    features = rng.sample(features, rng.randint(1, 3))
    if joiner == "和":  # "a young woman, with blond hair and glasses"
        return f"一个{rng.choice(ages)}{rng.choice(subjects)}，有" + joiner.join(features)
    if joiner == "と":  # "blond hair and glasses, a young woman"
        return joiner.join(features) + "の" + rng.choice(ages) + rng.choice(subjects)
    return " ".join(w for w in (rng.choice(subjects), rng.choice(ages), joiner) if w) + " " + ", ".join(features)


def _mash(rng: random.Random) -> str:
    words = ["".join(rng.choices(string.ascii_lowercase, k=rng.randint(2, 9))) for _ in range(rng.randint(1, 5))]
    return " ".join(words)


def _symbols(rng: random.Random) -> str:
    pool = EMOJI + string.digits + "!?.,:;#*+-=/()"
    return "".join(rng.choices(pool, k=rng.randint(1, 12)))


def off_topic_texts(n: int, seed: int = 0) -> list[OffTopic]:
    """``n`` texts describing no face's look, of kinds drawn evenly (see the module docstring)."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        kind = rng.choice(KINDS)
        if kind == "person":
            text = " ".join(s[0].upper() + s[1:] for s in neutral_sentences(rng, rng.random() < 0.5, rng.randint(1, 3)))
        elif kind == "thing":
            t, t2 = rng.sample(THINGS, 2)
            text = rng.choice(THING_TEMPLATES).format(c=rng.choice(COLOURS), t=t, t2=t2)
        elif kind == "foreign":
            text = _foreign(rng)
        elif kind == "mash":
            text = _mash(rng)
        else:
            text = _symbols(rng)
        out.append(OffTopic(text, kind, states_gender=kind == "person" and bool(GENDERED.search(text))))
    return out
