"""CelebA's 40 binary attributes -> natural English descriptions.

Several phrasings per attribute, shuffled clause order and several sentence templates, with
gender-aware words. Every attribute vector gives grammatical English: a clause is written only
when it has something in it. Seeded: the same (attributes, seed) gives the same caption.

Left out of captions, on purpose:
- ``Attractive``: a judgement, not something visible; training on it would teach a beauty norm.
- ``Blurry``: a property of the photo, not of the face; nobody asks for a blurry face.
- ``Oval_Face``: among CelebA's least consistent labels (annotators disagree on it), so it is noise.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence

ATTRIBUTES: tuple[str, ...] = (
    "5_o_Clock_Shadow", "Arched_Eyebrows", "Attractive", "Bags_Under_Eyes", "Bald", "Bangs", "Big_Lips",
    "Big_Nose", "Black_Hair", "Blond_Hair", "Blurry", "Brown_Hair", "Bushy_Eyebrows", "Chubby", "Double_Chin",
    "Eyeglasses", "Goatee", "Gray_Hair", "Heavy_Makeup", "High_Cheekbones", "Male", "Mouth_Slightly_Open",
    "Mustache", "Narrow_Eyes", "No_Beard", "Oval_Face", "Pale_Skin", "Pointy_Nose", "Receding_Hairline",
    "Rosy_Cheeks", "Sideburns", "Smiling", "Straight_Hair", "Wavy_Hair", "Wearing_Earrings", "Wearing_Hat",
    "Wearing_Lipstick", "Wearing_Necklace", "Wearing_Necktie", "Young",
)  # fmt: skip
EXCLUDED: frozenset[str] = frozenset({"Attractive", "Blurry", "Oval_Face"})

HAIR_COLOURS = {"Black_Hair": "black", "Blond_Hair": ("blond", "blonde", "fair"), "Brown_Hair": "brown", "Gray_Hair": ("gray", "grey", "silver")}
HAIR_STYLES = {"Wavy_Hair": ("wavy", "curly"), "Straight_Hair": ("straight", "sleek")}

# Things a person "has": noun phrases, one tuple of phrasings per attribute.
FEATURES: dict[str, tuple[str, ...]] = {
    "Bangs": ("bangs", "a fringe"),
    "Receding_Hairline": ("a receding hairline", "a high receding hairline"),  # no comma: items sit in comma lists
    "No_Beard": ("a beard", "a full beard"),  # present when No_Beard is false
    "Goatee": ("a goatee",),
    "Mustache": ("a mustache", "a moustache"),
    "5_o_Clock_Shadow": ("stubble", "a five o'clock shadow"),
    "Sideburns": ("sideburns", "long sideburns"),
    "Arched_Eyebrows": ("arched eyebrows", "arched brows"),
    "Bushy_Eyebrows": ("bushy eyebrows", "thick eyebrows"),
    "Narrow_Eyes": ("narrow eyes", "squinting eyes"),
    "Bags_Under_Eyes": ("bags under the eyes", "tired eyes with bags under them"),
    "Big_Nose": ("a big nose", "a large nose"),
    "Pointy_Nose": ("a pointy nose", "a pointed nose"),
    "Big_Lips": ("big lips", "full lips"),
    "High_Cheekbones": ("high cheekbones", "prominent cheekbones"),
    "Rosy_Cheeks": ("rosy cheeks", "pink cheeks"),
    "Double_Chin": ("a double chin",),
    "Pale_Skin": ("pale skin", "fair skin"),
    "Mouth_Slightly_Open": ("a slightly open mouth", "a half-open mouth"),
}
# Things a person "is wearing".
WORN: dict[str, tuple[str, ...]] = {
    "Eyeglasses": ("glasses", "eyeglasses", "spectacles"),
    "Wearing_Hat": ("a hat", "a cap"),
    "Wearing_Earrings": ("earrings",),
    "Wearing_Necklace": ("a necklace",),
    "Wearing_Necktie": ("a tie", "a necktie"),
    "Wearing_Lipstick": ("lipstick", "red lipstick"),
    "Heavy_Makeup": ("heavy makeup", "a lot of makeup"),
}
# What a person "is" doing.
STATES: dict[str, tuple[str, ...]] = {"Smiling": ("smiling", "grinning")}

# One canonical phrase per attribute that captions can mention: what "the model read" is compared with.
ATTRIBUTE_PHRASES: dict[str, str] = {
    "Male": "a man",
    "Young": "a young person",
    "Bald": "a bald head",
    "Chubby": "a chubby face",
    **{name: f"{words if isinstance(words, str) else words[0]} hair" for name, words in HAIR_COLOURS.items()},
    **{name: f"{words[0]} hair" for name, words in HAIR_STYLES.items()},
    **{name: words[0] for name, words in FEATURES.items()},
    **{name: f"wearing {words[0]}" for name, words in WORN.items()},
    **{name: words[0] for name, words in STATES.items()},
}
assert set(ATTRIBUTE_PHRASES) == set(ATTRIBUTES) - EXCLUDED


def as_attribute_dict(attributes: Mapping[str, object] | Sequence[object]) -> dict[str, bool]:
    """Normalise attributes to {name: bool}.

    Accepts a mapping by name, or a sequence of 40 values in CelebA's column order where 1/True
    means present and -1/0/False absent. Names missing from a mapping count as absent, except
    ``No_Beard``, which counts as present (an unstated beard is no beard).
    """
    if isinstance(attributes, Mapping):
        unknown = sorted(set(attributes) - set(ATTRIBUTES))
        if unknown:
            raise ValueError(f"unknown CelebA attributes: {unknown}")
        return {name: _present(attributes.get(name, name == "No_Beard")) for name in ATTRIBUTES}
    values = list(attributes)
    if len(values) != len(ATTRIBUTES):
        raise ValueError(f"expected {len(ATTRIBUTES)} attribute values in CelebA order, got {len(values)}")
    return {name: _present(v) for name, v in zip(ATTRIBUTES, values)}


def _present(value: object) -> bool:
    return bool(value) and bool(value != -1)  # bool() again: for a tensor or array, != gives a tensor or array


def _join(items: list[str]) -> str:
    """'a', 'a and b', 'a, b and c'."""
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _pick(rng: random.Random, words: str | tuple[str, ...]) -> str:
    return words if isinstance(words, str) else rng.choice(words)


def _article(word: str) -> str:
    return "an" if word[0] in "aeiou" else "a"


def caption(attributes: Mapping[str, object] | Sequence[object], seed: int = 0) -> str:
    """One English description of a face with these CelebA attributes; deterministic in ``seed``."""
    a = as_attribute_dict(attributes)
    rng = random.Random(seed)
    male = a["Male"]
    he = "he" if male else "she"

    # The subject noun phrase: "a smiling young woman".
    noun = rng.choice(("man", "guy", "gentleman") if male else ("woman", "lady"))
    age = rng.choice(("young", "youthful")) if a["Young"] else rng.choice(("older", "middle-aged", "mature"))
    smile_as_adjective = a["Smiling"] and rng.random() < 0.5
    # English adjective order: "a smiling chubby young bald man".
    adjectives = ["smiling"] * smile_as_adjective + ["chubby"] * a["Chubby"] + [age] + ["bald"] * a["Bald"]

    # Hair: colour and style fold into one phrase ("wavy blond hair"); bald heads have none.
    has: list[str] = []
    if not a["Bald"]:
        colours = [_pick(rng, HAIR_COLOURS[n]) for n in HAIR_COLOURS if a[n]]
        styles = [_pick(rng, HAIR_STYLES[n]) for n in HAIR_STYLES if a[n]]
        if colours or styles:
            has.append(" ".join(styles[:1] + [_join(colours)]).strip() + " hair")
    features = {name: _pick(rng, words) for name, words in FEATURES.items() if (not a[name] if name == "No_Beard" else a[name])}
    if a["Bald"]:
        features.pop("Bangs", None)
    has.extend(features.values())
    worn = [_pick(rng, words) for name, words in WORN.items() if a[name]]
    states = [_pick(rng, words) for name, words in STATES.items() if a[name] and not (name == "Smiling" and smile_as_adjective)]
    for items in (has, worn, states):
        rng.shuffle(items)

    subject = " ".join(adjectives + [noun])
    subject = f"{_article(subject)} {subject}"
    sentences = _compose(rng, subject, he, has, worn, states)
    return " ".join(s[0].upper() + s[1:] for s in sentences)


def _compose(rng: random.Random, subject: str, he: str, has: list[str], worn: list[str], states: list[str]) -> list[str]:
    """Arrange the clauses into sentences with one of several templates."""
    # Long lists read better split over two sentences.
    first_has, more_has = (has[:3], has[3:]) if len(has) > 4 else (has, [])
    doing = []
    if states:
        doing.append(_join(states))
    if worn:
        doing.append("wearing " + _join(worn))
    template = rng.randrange(3)
    sentences: list[str]
    if template == 0:  # "A young woman with X and Y. She is smiling and wearing Z."
        head = subject + (" with " + _join(first_has) if first_has else "")
        sentences = [head + "."]
        if doing:
            sentences.append(f"{he} is {' and '.join(doing)}.")
    elif template == 1:  # "A photo of a young woman, smiling and wearing Z. She has X and Y."
        lead = rng.choice(("a photo of", "a portrait of", "a picture of", "a close-up of"))
        sentences = [f"{lead} {subject}" + (", " + " and ".join(doing) if doing else "") + "."]
        if first_has:
            sentences.append(f"{he} has {_join(first_has)}.")
    else:  # "This young woman has X and Y, and is smiling and wearing Z."
        body = "this " + subject.split(" ", 1)[1]
        parts = []
        if first_has:
            parts.append(f"has {_join(first_has)}")
        if doing:
            parts.append(f"is {' and '.join(doing)}")
        sentences = [body + (" " + ", and ".join(parts) if parts else " is looking at the camera") + "."]
    if more_has:
        sentences.append(f"{he} also has {_join(more_has)}.")
    return sentences


def captions(attributes: Mapping[str, object] | Sequence[object], n: int, seed: int = 0) -> list[str]:
    """``n`` captions for one face, distinct where the attributes allow it; deterministic in ``seed``."""
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    out: list[str] = []
    for k in range(n * 8):  # a few extra draws to find distinct phrasings
        text = caption(attributes, seed=seed * 1_000_003 + k)
        if text not in out:
            out.append(text)
        if len(out) == n:
            return out
    return (out * n)[:n]  # attribute sets with few phrasings repeat
