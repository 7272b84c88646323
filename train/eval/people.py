"""How well the faces follow descriptions as people write them, beside the caption writer's own words.

Three measurements, all read by the attribute classifier as in :mod:`train.eval.adherence`:

- **People's descriptions**: the project's held-out set ``people_descriptions.json``, written by hand in
  the ways people describe a face (negations, ages as numbers, everyday words, several sentences,
  sentences about things a face cannot show, comma lists, lower case, long paragraphs), never produced by
  the caption writer and never trained on. Each description states some attribute values (its claims,
  present or negated); ``SEEDS`` faces are drawn from each. Reported: adherence (the share of claims found,
  mean over faces), per claim, per style, and for the negated claims alone.
- **Negation probes**: for each attribute people negate, ``PROBE_SEEDS`` faces each from the attribute
  said ("a man with glasses"), negated ("a man without glasses") and unsaid ("a man"): how often the face
  shows it. A model that reads negation draws a negated attribute no more often than an unsaid one.
- **Dilution probes**: one attribute in one sentence ("An old man."), alone and with 1 to 3 of the set's
  neutral sentences (jobs, places, the occasion) before and after it: how often the face shows it at each
  level, and the cost of the padding in points (alone minus the mean over the padded levels).

Every face's noise seed is fixed by ``seed``, so two models are compared on the same draws.

A second set, ``people_public_domain.json``, quotes how 19th- and early-20th-century authors describe faces
(public-domain novels); nobody on the project wrote it. It has no neutral sentences, so it serves adherence
and :func:`caption_coverage` (how much of a set's attribute wording the caption writer also writes: the first
set's words have since gone into the caption writer, the second set's have not), not the dilution probes.
"""

from __future__ import annotations

import functools
import random
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor

from t2f.captions import (
    ADJECTIVES, AGES, ATTRIBUTE_PHRASES, ATTRIBUTES, EXCLUDED, FEATURES, HAIR_ADJECTIVES, HAIR_COLOURS, HAIR_STYLES,
    NEGATIONS, NOUNS, OLD_YEARS, PREDICATES, TAG_NOUNS, VOICES, WORN, YOUNG_YEARS,
)  # fmt: skip
from t2f.files import read_json_object
from train.eval.adherence import MARKED_BY_ABSENCE, adherence, claim_label, claim_matrix
from train.eval.classifier import AttributeClassifier

PEOPLE_FILE = Path(__file__).with_name("people_descriptions.json")
PUBLIC_DOMAIN_FILE = Path(__file__).with_name("people_public_domain.json")  # authors' words, no neutral sentences
SEEDS = 4  # faces per description: 4 x 239 descriptions is about 1,000 faces
PROBE_SEEDS = 16  # faces per probe text
SEED_BASE = 7_000_003  # keeps these noise seeds apart from the held-out faces' own
# (attribute, value shown, said, negated, subject): the attribute people negate most, in plain words.
NEGATION_PROBES = (
    ("Eyeglasses", 1, "{s} with glasses", "{s} without glasses", ("a man", "a woman")),
    ("No_Beard", 0, "{s} with a beard", "a clean-shaven {n}", ("a man",)),
    ("Smiling", 1, "{s} who is smiling", "{s} who is not smiling", ("a man", "a woman")),
    ("Wearing_Hat", 1, "{s} wearing a hat", "{s} with no hat", ("a man", "a woman")),
    ("Heavy_Makeup", 1, "{s} wearing heavy makeup", "{s} with no makeup", ("a woman",)),
    ("Bald", 1, "a bald {n}", "{s} who is not bald", ("a man",)),
    ("Mustache", 1, "{s} with a mustache", "{s} with no mustache", ("a man",)),
    ("Wearing_Earrings", 1, "{s} wearing earrings", "{s} with no earrings", ("a woman",)),
)
# (attribute, value shown, one sentence that says it): what one extra sentence washed out in v1.
DILUTION_PROBES = (
    ("Young", 0, "An old man."),
    ("Gray_Hair", 1, "A man with gray hair."),
    ("Blond_Hair", 1, "A woman with blond hair."),
    ("Brown_Hair", 1, "A woman with brown hair."),
    ("Black_Hair", 1, "A man with black hair."),
    ("Eyeglasses", 1, "A woman wearing glasses."),
    ("Wearing_Hat", 1, "A man wearing a hat."),
    ("Smiling", 1, "A smiling woman."),
    ("No_Beard", 0, "A man with a beard."),
)
DILUTION_LEVELS = (0, 1, 2, 3)  # neutral sentences around the attribute's sentence

# texts, noise seeds -> the generator's images smallest scale first, (N, 3, r, r) in [-1, 1]
Generate = Callable[[list[str], list[int]], list[Tensor]]


@dataclass(frozen=True)
class Description:
    """One hand-written description: its text, the attribute values it states (CelebA columns, 0/1),
    which of them it states by a negation, and the styles it is written in."""

    text: str
    claims: dict[str, int]
    negated: tuple[str, ...]
    styles: tuple[str, ...]


def load_people(path: str | Path = PEOPLE_FILE) -> tuple[list[Description], list[str]]:
    """The descriptions and the neutral sentences of a people's-descriptions file; a ValueError naming the
    entry when a claim is not a CelebA attribute (or an excluded one), not 0/1, or a negation not claimed.

    Neutral sentences are optional (``PUBLIC_DOMAIN_FILE`` has none: the list is then empty, and
    :func:`people_report` refuses to run the dilution probes without them); a file that has the key must
    give a non-empty list of non-empty strings."""
    data = read_json_object(path)
    known = set(ATTRIBUTES) - EXCLUDED
    out = []
    for i, entry in enumerate(data.get("descriptions", [])):
        claims, negated = entry.get("claims", {}), entry.get("negated", [])
        bad = [k for k, v in claims.items() if k not in known or v not in (0, 1)] + [k for k in negated if k not in claims]
        if not isinstance(entry.get("text"), str) or not entry["text"].strip() or not claims or bad:
            raise ValueError(f"{path}: description {i} is not valid (text, claims of CelebA attributes 0/1, negated claims): {bad or entry}")
        out.append(Description(entry["text"], dict(claims), tuple(negated), tuple(entry.get("styles", ()))))
    neutral = data.get("neutral_sentences")
    if neutral is None:  # only the dilution probes use them; people_report checks
        if not out:
            raise ValueError(f"{path} needs descriptions")
        return out, []
    if not out or not isinstance(neutral, list) or not neutral or not all(isinstance(s, str) and s for s in neutral):
        raise ValueError(f"{path} needs descriptions and neutral_sentences")
    return out, list(neutral)


def _probs(generate: Generate, classifier: AttributeClassifier, texts: list[str], seeds: list[int], batch_size: int) -> Tensor:
    """The classifier's probabilities (N, A) for the full-size faces of ``texts`` drawn with ``seeds``."""
    out = []
    for i in range(0, len(texts), batch_size):
        top = generate(texts[i : i + batch_size], seeds[i : i + batch_size])[-1]
        out.append(classifier.predict(top.float().cpu())[0])
    return torch.cat(out)


def _shown(probs: Tensor, names: list[str], attribute: str, value: int) -> float:
    """The share of faces whose classifier call for ``attribute`` is ``value``."""
    called = probs[:, names.index(attribute)] >= 0.5
    return float((called == bool(value)).float().mean())


def people_adherence(
    generate: Generate,
    classifier: AttributeClassifier,
    descriptions: list[Description],
    excluded: Mapping[str, float],
    *,
    seed: int = 0,
    batch_size: int = 64,
    seeds: int = SEEDS,
) -> dict:
    """Adherence on a set of people's descriptions: ``seeds`` faces each, the share of their claims found (mean
    over faces), per claim, per style, and for the negated claims alone. Attributes in ``excluded`` (the
    classifier cannot tell them apart) are left out."""
    names = list(classifier.config.attributes)
    keep = [i for i, n in enumerate(names) if n not in excluded]
    kept = [names[i] for i in keep]
    texts = [d.text for d in descriptions for _ in range(seeds)]
    base = SEED_BASE * (seed + 1)
    probs = _probs(generate, classifier, texts, [base + i for i in range(len(texts))], batch_size)[:, keep]
    values, mask = claim_matrix([d.claims for d in descriptions for _ in range(seeds)], kept)
    overall = adherence(probs, values, mask, kept)
    negated_values, negated_mask = claim_matrix(
        [{k: d.claims[k] for k in d.negated} for d in descriptions for _ in range(seeds)], kept
    )
    negated_found = adherence(probs, negated_values, negated_mask, kept) if bool(negated_mask.any()) else None
    per_style = {}
    for style in sorted({s for d in descriptions for s in d.styles}):
        rows = torch.tensor([style in d.styles for d in descriptions for _ in range(seeds)])
        per_style[style] = {"mean": adherence(probs[rows], values[rows], mask[rows], kept)["mean"], "descriptions": int(rows.sum()) // seeds}
    return {
        "descriptions": len(descriptions),
        "faces": len(texts),
        "seeds_per_description": seeds,
        "adherence": overall["mean"],
        "claims": overall["claims"],
        "per_claim": overall["per_claim"],
        "per_style": per_style,
        "negated_claims": {"mean": negated_found["mean"], "claims": negated_found["claims"]} if negated_found else None,
    }


def people_report(
    generate: Generate,
    classifier: AttributeClassifier,
    people: tuple[list[Description], list[str]],
    excluded: Mapping[str, float],
    *,
    seed: int = 0,
    batch_size: int = 64,
    seeds: int = SEEDS,
    probe_seeds: int = PROBE_SEEDS,
) -> dict:
    """:func:`people_adherence`, negation probes and dilution probes (see the module docstring). Attributes in
    ``excluded`` (the classifier cannot tell them apart) are left out of every number."""
    descriptions, neutral = people
    if not neutral and any(attribute not in excluded for attribute, *_ in DILUTION_PROBES):
        raise ValueError("the dilution probes need neutral sentences: this people's file has no neutral_sentences")
    names = list(classifier.config.attributes)
    base = SEED_BASE * (seed + 1)
    report = people_adherence(generate, classifier, descriptions, excluded, seed=seed, batch_size=batch_size, seeds=seeds)

    negation = {}
    offset = base + report["faces"]
    for attribute, shown, said, negated, subjects in NEGATION_PROBES:
        if attribute in excluded:
            continue
        rates = {}
        for form, template in (("said", said), ("negated", negated), ("unsaid", "{s}")):
            probe_texts = [template.format(s=s, n=s.split()[-1]) + "." for s in subjects for _ in range(probe_seeds)]
            probe_seeds_ = [offset + k for k in range(len(probe_texts))]  # the same noises for the three forms
            rates[form] = _shown(_probs(generate, classifier, probe_texts, probe_seeds_, batch_size), names, attribute, shown)
        negation[claim_label(attribute, shown) if attribute not in MARKED_BY_ABSENCE else "beard"] = rates

    dilution = {}
    rng = random.Random(seed)
    for attribute, shown, sentence in DILUTION_PROBES:
        if attribute in excluded:
            continue
        rates = {}
        for level in DILUTION_LEVELS:
            probe_texts = []
            for _ in range(probe_seeds):
                padding = rng.sample(neutral, level)
                before = padding[: (level + 1) // 2]
                probe_texts.append(" ".join([*before, sentence, *padding[len(before) :]]))
            probe_seeds_ = [offset + k for k in range(probe_seeds)]
            rates[str(level)] = _shown(_probs(generate, classifier, probe_texts, probe_seeds_, batch_size), names, attribute, shown)
        padded = [rates[str(level)] for level in DILUTION_LEVELS[1:]]
        label = claim_label(attribute, shown) if attribute not in MARKED_BY_ABSENCE else "beard"
        dilution[label] = {"drawn": rates, "cost_points": 100 * (rates["0"] - sum(padded) / len(padded))}

    return {
        **report,
        "negation": negation,
        "negation_excess": max((r["negated"] - r["unsaid"] for r in negation.values()), default=None),
        "dilution": dilution,
        "dilution_cost_points": sum(d["cost_points"] for d in dilution.values()) / len(dilution) if dilution else None,
        "probe_seeds": probe_seeds,
    }


# --- caption coverage: how much of a set's attribute wording the caption writer also writes ----------------

# The usual words for each attribute in descriptions people (and authors) write: which words in a text say
# the attribute, present or negated. A small lexicon, not a parser: each pattern is matched case-insensitively
# as whole words (a hyphen counts as part of a word, so "shaven" is not found inside "clean-shaven"), longer
# alternatives first, and only for the attributes a description claims. What a pattern matches is the
# attribute phrase; it is the unit :func:`caption_coverage` looks up in the caption writer's phrase tables.
_HAIR_NOUNS = r"(?:[- ]?haired|-headed| hair| head| locks| curls| ringlets| tresses)"
_COLOURS = {
    "Gray_Hair": (
        r"iron[- ]gr[ae]y|snow-white|salt-and-pepper|gr[ae]ying|gr[ae]y|white|silver(?:ed)?|grizzled|grizzly|hoary"
    ),
    "Black_Hair": r"jet[- ]black|coal-black|raven|black",
    "Blond_Hair": r"platinum blonde|honey-blond|blonde?|fair|flaxen|golden|gold|yellow|light",
    "Brown_Hair": r"dark[- ]brown|light[- ]brown|chestnut brown|chestnut|brunette|brown",
}
# Colour words that say hair on their own ("a blonde", "salt-and-pepper"); "grey" or "black" alone may be a coat.
_BARE_COLOURS = {
    "Gray_Hair": r"salt-and-pepper|gr[ae]ying",
    "Blond_Hair": r"platinum blonde|honey-blond|blonde?|flaxen",
    "Brown_Hair": r"brunette",
}
_NEG = r"(?:(?:no|not|never|without|neither|nor)(?: (?:a|an|any|his|her|other))? )?"
ATTRIBUTE_WORDS: dict[str, tuple[str, ...]] = {
    "Male": (
        r"gentlemen|gentleman|fellows?|chaps?|guys?|men|man|males?|lads?|boys?|youth|sirs?|lords?|husband|"
        r"father|brothers?|sons?|uncle|grandfather|captain|colonel|professor|bachelor|mr",
        r"ladies|lady|women|woman|females?|girls?|maids?|maiden|mothers?|wife|daughters?|sisters?|aunt|grandmother|"
        r"mrs|miss|madame|dame|widow|countess|dowager|landlady|quakeress",
    ),
    "Young": (
        r"young-looking|youngish|younger|young|youthful|youth|teen(?:age|s)?|girls?|boys?|lads?|child|"
        r"(?:not|never) (?:by any means )?(?:an |so |very |exactly )?old",
        r"middle-aged|elderly|older|old|aged|venerable|wrinkled|wizened?|retired|grandfatherly|grandmotherly",
        r"(?:\w+-and-)?(?:twenty|thirty|forty|fifty|sixty|seventy|eighty)(?:-\w+)?|four-score|thirteen|"
        r"fifteen(?:-year-old)?|sixteen|seventeen|eighteen|nineteen|\d{2}(?:-year-old)?",
    ),
    "Bald": (
        r"no more hair|no hair|bald-headed|baldheaded|baldness|bald(?: head| pate| plain| crown| scalp)?|"
        r"(?:shaved|shaven) head|full head of hair|abundant crop of (?:long )?(?:white )?hair",
    ),
    "Receding_Hairline": (
        r"bald (?:over the )?forehead|bald and glossy forehead|high, bald forehead|inclined to baldness|"
        r"becoming bald|(?:a |high )?receding hairline|receding|balding|much less hair",
    ),
    # A colour said of the hair: "grey hair", "white-haired", "grey-headed", or after it: "his hair was quite white".
    **{
        name: (rf"(?:{colours}){_HAIR_NOUNS}", rf"(?:hair|locks)(?: (?!hair)\w+){{0,4}} (?:{colours})")
        + ((_BARE_COLOURS[name],) if name in _BARE_COLOURS else ())
        for name, colours in _COLOURS.items()
    },
    "Wavy_Hair": (r"curly-haired|curly|curling|curls|curled|wavy|ringlets",),
    "Straight_Hair": (r"straight-haired|smooth-haired|straight|sleek|lank",),
    "Eyeglasses": (
        _NEG + r"(?:reading glasses|wire-rimmed glasses|gold-rimmed glasses|eyeglasses|eye-glasses|eye-glass|"
        r"eyeglass|spectacles|glasses|goggles|pince-nez|specs|bespectacled)",
    ),
    "Wearing_Hat": (
        _NEG + r"(?:top-hat|night-cap|nightcap|head-dress|turban|bonnet|beaver|hats?|caps?)",
        r"hatless|bare-headed|bareheaded|uncovered|no covering on his (?:matted )?head",
    ),
    "No_Beard": (
        _NEG + r"(?:full-bearded|white-bearded|grey-bearded|beardless|bearded|beards?|whiskers?)",
        r"clean[- ]shaven|close[- ]shaved|close[- ]shaven|freshly shaved|shaven|shaved|shave|hairless face|"
        r"smooth-faced|smooth face|no facial hair",
    ),
    "Mustache": (_NEG + r"(?:moustachios|mustachios|moustached|mustached|moustaches?|mustaches?)",),
    "Goatee": (r"goatee(?: beard)?|goat's-beard",),
    "Sideburns": (_NEG + r"(?:side-whiskers|whiskerless|whiskers|sideburns)",),
    "5_o_Clock_Shadow": (
        r"five o'clock shadow|unshaven|stubbly|stubble|beard of (?:three days'|a week's) growth|"
        r"beard that had been growing|black dots|evident inclinations",
    ),
    "Smiling": (
        r"(?:never|not|without|no) (?:a )?smil\w*|did not smile|never smiled|unsmiling|smil\w*|laugh\w*|grin\w*|"
        r"beaming|smirk",
    ),
    "Chubby": (
        r"round-faced|round face|chubby|plump|portly|corpulent|stoutly built|stoutish|stout|fat|short thick|thick-set|"
        r"oilcake-fed",
    ),
    "Double_Chin": (r"double chin|chin so very double|rolling chins|fold upon fold",),
    "Pale_Skin": (r"pale-skinned|pale skin|pale complexion|pale|pallor|white-faced|white face|ashen|cadaverous",),
    "Rosy_Cheeks": (
        r"rosy cheeks|pink cheeks|flushed cheeks|red cheeks|rosy|ruddy|florid|flushed|blooming|bloom|blush\w*|"
        r"red apples",
    ),
    "Bushy_Eyebrows": (
        r"bushy (?:black )?eyebrows|bushy brows|thick eyebrows|heavy brows|tufted(?:, overhung)? eyebrows|"
        r"drooping eyebrows|overhung eyebrows",
    ),
    "Big_Nose": (r"(?:a )?(?:big|large|prominent|good-sized|hooked|aggressive hooked) nose",),
    "Bags_Under_Eyes": (r"(?:bags|pouches) under [\w ]{0,20}eyes|puffy eyes|baggy eyes",),
    "Wearing_Necktie": (r"necktie|neckcloth|cravat|tie",),
    "Wearing_Necklace": (r"necklace|chain round (?:her|his) neck",),
    "Wearing_Lipstick": (r"lipstick|lip-salve|coralline salve",),
    "Heavy_Makeup": (_NEG + r"(?:heavy makeup|makeup|make-up|rouge|rouged|painted)",),
}
ATTRIBUTE_WORDS = {name: ATTRIBUTE_WORDS[name] for name in sorted(ATTRIBUTE_WORDS)}
assert set(ATTRIBUTE_WORDS) <= set(ATTRIBUTES) - EXCLUDED


def _whole(pattern: str) -> re.Pattern[str]:
    """``pattern`` as whole words, a hyphen counting as part of a word."""
    return re.compile(rf"(?<![\w-])(?:{pattern})(?![\w-])", re.IGNORECASE)


_ATTRIBUTE_RES = {name: tuple(_whole(p) for p in patterns) for name, patterns in ATTRIBUTE_WORDS.items()}


def _normal(phrase: str) -> str:
    return " ".join(phrase.lower().replace("\u2019", "'").split())


def attribute_phrases(text: str, attribute: str) -> list[str]:
    """The phrases of ``text`` that say ``attribute`` by the lexicon, lower case, each once, in text order."""
    found: dict[tuple[int, int], str] = {}  # span -> phrase; an earlier pattern keeps the words it matched
    for pattern in _ATTRIBUTE_RES.get(attribute, ()):
        for match in pattern.finditer(text):
            if all(match.end() <= start or end <= match.start() for start, end in found):
                found[match.span()] = _normal(match.group())
    return list(dict.fromkeys(found[span] for span in sorted(found)))


@functools.cache
def caption_vocabulary() -> tuple[str, ...]:
    """Every phrase in the caption writer's phrase tables (t2f/captions.py), lower case: the hair, feature,
    worn, adjective and predicate tables, the negations and ages (for him and for her), the nouns, the
    canonical attribute phrases, and the hair phrases it builds from them ("wavy grey hair"); a number
    placeholder takes each age the caption writer writes ("{n}-year-old": "19-year-old" ... "79-year-old")."""
    phrases = set(ATTRIBUTE_PHRASES.values())
    for table in (HAIR_COLOURS, HAIR_STYLES, HAIR_ADJECTIVES, FEATURES, WORN, ADJECTIVES, PREDICATES):
        phrases.update(p for options in table.values() for p in options)
    phrases.update(f"wearing {p}" for options in WORN.values() for p in options)
    colours = [c for options in HAIR_COLOURS.values() for c in options]
    styles = [s for options in HAIR_STYLES.values() for s in options]
    phrases.update(f"{w} hair" for w in (*colours, *styles))
    phrases.update(f"{s} {c} hair" for s in styles for c in colours)
    for words in (*NEGATIONS, *AGES.values()):
        for field in ("adj", "noun", "after", "with_", "has", "is_", "tag"):
            phrases.update(getattr(words, field))
    phrases.update(p for nouns in (*NOUNS.values(), *TAG_NOUNS.values()) for p in nouns)
    out = set()
    for phrase in phrases:
        for voice in VOICES.values():
            for n in (*YOUNG_YEARS, *OLD_YEARS) if "{n}" in phrase else (0,):
                out.add(_normal(phrase.format(**voice, n=n)))
    return tuple(sorted(out))


@functools.cache
def caption_writes(phrase: str) -> bool:
    """Whether ``phrase`` appears verbatim, as whole words, in some phrase of the caption writer's tables."""
    pattern = _whole(re.escape(_normal(phrase)))
    return any(pattern.search(v) for v in caption_vocabulary())


def caption_coverage(descriptions: Iterable[Description]) -> dict:
    """How much of a set's attribute wording the caption writer also writes.

    For each description and each attribute it claims, the attribute phrases of its text
    (:func:`attribute_phrases`, each distinct phrase once per description and attribute) are looked up in
    the caption writer's phrase tables (:func:`caption_writes`). Reported: the share of these phrases the
    caption writer writes (``share``), overall and per attribute; the phrases it never writes, most frequent
    first (``uncovered``); and the claims whose wording the lexicon does not find (``unmatched_claims``).
    """
    per: dict[str, Counter] = {}
    uncovered: Counter = Counter()
    count = 0
    for description in descriptions:
        count += 1
        for attribute in description.claims:
            tally = per.setdefault(attribute, Counter())
            tally["claims"] += 1
            phrases = attribute_phrases(description.text, attribute)
            tally["unmatched_claims"] += not phrases
            for phrase in phrases:
                tally["phrases"] += 1
                if caption_writes(phrase):
                    tally["covered"] += 1
                else:
                    uncovered[(attribute, phrase)] += 1

    def share(tally: Counter) -> float | None:
        return tally["covered"] / tally["phrases"] if tally["phrases"] else None

    total = sum(per.values(), Counter())
    return {
        "descriptions": count,
        "phrases": total["phrases"],
        "covered": total["covered"],
        "share": share(total),
        "unmatched_claims": total["unmatched_claims"],
        "per_attribute": {
            name: {k: tally[k] for k in ("claims", "unmatched_claims", "phrases", "covered")} | {"share": share(tally)}
            for name, tally in sorted(per.items())
        },
        "uncovered": [
            {"attribute": a, "phrase": p, "count": n}
            for (a, p), n in sorted(uncovered.items(), key=lambda item: (-item[1], item[0]))
        ],
    }
