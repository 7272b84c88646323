"""CelebA's 40 binary attributes -> English descriptions that read like people's, each with its claims.

The generator learns language from these captions alone, so they are written the way people describe
faces, not the way a table lists them. :func:`describe` gives one caption and its *claims*: the CelebA
attribute values that exact text states, present (1) or negated (0), in CelebA's column convention (so a
stated beard is ``No_Beard: 0``, "clean-shaven" is ``No_Beard: 1``). Evaluation scores faces against them.

Rules of truth:

- A caption states only what the labels say. Every phrase carries its claims, and a phrase is written only
  when all its claims agree with the labels (:func:`_true`); the caption's claims are those of the phrases
  written, so they are exactly what the text says.
- Unsaid is fine: people name a few salient things ("mention 2-4", half of the captions) or many (up
  to ``MAX_MENTIONS``), and leave out age (``AGE_SHARE``).
- A bald head has no hair to describe: hair colour, hair style and bangs (``HIDDEN_BY_BALD``) are never
  stated for it, although CelebA labels them anyway.

What the captions teach, and why:

- **Negation** ("a man with no beard", "without glasses", "not smiling", "bare-headed"): a model that only
  ever read what a face has learns "beard" -> beard, and draws one for "no beard". Negations are written
  only for attributes the labels say are absent, 0-2 per caption, mostly the ones people negate (beard,
  glasses, smile, hat, makeup, baldness, mustache, earrings, tie), so the model learns to leave them out.
- **Neutral sentences** about what a face cannot show (a name, a job, a city, hobbies, a mood, the
  occasion or the weather of the photo), 1-3 of them before or after the description in ~40% of captions,
  built from small vocabularies by templates into thousands of variants. They are independent of the face,
  so the model learns that such sentences change nothing, instead of letting them wash out age or hair.
- **Synonyms, spellings and numbers**: grey/gray/silver/salt-and-pepper, blonde/fair/platinum,
  brunette/chestnut, specs/bespectacled, unshaven/stubble, "in his late fifties", "a 25-year-old".
  CelebA's ``Young`` is roughly under 35-40: numeric ages stay at 19-29 or 52-79, clear of the ambiguous
  35-45 band.
- **Structure**: several sentence templates, subject-first and feature-first, comma lists ("woman, 20s,
  blonde, glasses, no hat"), all lower case without a final full stop in some, 1-6 sentences, at most
  ``MAX_WORDS`` words (the text encoder reads at most 256 word pieces).

Left out of captions, on purpose:

- ``Attractive``: a judgement, not something visible; training on it would teach a beauty norm.
- ``Blurry``: a property of the photo, not of the face; nobody asks for a blurry face.
- ``Oval_Face``: among CelebA's least consistent labels (annotators disagree on it), so it is noise.

Everything is seeded: the same (attributes, seed) gives the same caption, in any process.
"""

from __future__ import annotations

import functools
import random
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

ATTRIBUTES: tuple[str, ...] = (
    "5_o_Clock_Shadow", "Arched_Eyebrows", "Attractive", "Bags_Under_Eyes", "Bald", "Bangs", "Big_Lips",
    "Big_Nose", "Black_Hair", "Blond_Hair", "Blurry", "Brown_Hair", "Bushy_Eyebrows", "Chubby", "Double_Chin",
    "Eyeglasses", "Goatee", "Gray_Hair", "Heavy_Makeup", "High_Cheekbones", "Male", "Mouth_Slightly_Open",
    "Mustache", "Narrow_Eyes", "No_Beard", "Oval_Face", "Pale_Skin", "Pointy_Nose", "Receding_Hairline",
    "Rosy_Cheeks", "Sideburns", "Smiling", "Straight_Hair", "Wavy_Hair", "Wearing_Earrings", "Wearing_Hat",
    "Wearing_Lipstick", "Wearing_Necklace", "Wearing_Necktie", "Young",
)  # fmt: skip
EXCLUDED: frozenset[str] = frozenset({"Attractive", "Blurry", "Oval_Face"})

# --- how often things are said ------------------------------------------------------------------------

SHORT_SHARE = 0.5  # captions that name only 2-4 of the face's attributes (the most salient, mostly)
MAX_MENTIONS = 10  # the most present attributes one caption names
AGE_SHARE = 0.8  # captions that say young or not young
NEGATION_COUNTS = {0: 0.52, 1: 0.34, 2: 0.14}  # how many absent attributes a caption negates
NEUTRAL_SHARE = 0.4  # captions with sentences a face cannot show
NEUTRAL_COUNTS = {1: 0.55, 2: 0.3, 3: 0.15}
LIST_SHARE = 0.15  # comma lists: "woman, 20s, blonde, glasses, no hat"
LOWER_SHARE = 0.25  # all lower case, no final full stop
MAX_SENTENCES = 6
MAX_WORDS = 100  # neutral sentences are added only while the caption stays within this

# --- words for the face ---------------------------------------------------------------------------------

HAIR_COLOURS: dict[str, tuple[str, ...]] = {
    "Black_Hair": ("black", "jet-black", "dark"),
    "Blond_Hair": ("blond", "blonde", "fair", "golden", "platinum blonde", "honey-blond"),
    "Brown_Hair": ("brown", "dark brown", "light brown", "chestnut", "chestnut brown"),
    "Gray_Hair": ("gray", "grey", "silver", "white", "salt-and-pepper", "graying"),
}
HAIR_STYLES: dict[str, tuple[str, ...]] = {"Wavy_Hair": ("wavy", "curly"), "Straight_Hair": ("straight", "sleek")}
# Said of the person: "a *brunette* woman", "man, 60s, *gray-haired*".
HAIR_ADJECTIVES: dict[str, tuple[str, ...]] = {
    "Black_Hair": ("dark-haired", "black-haired"),
    "Blond_Hair": ("blonde", "blond", "fair-haired"),
    "Brown_Hair": ("brunette", "brown-haired"),
    "Gray_Hair": ("gray-haired", "grey-haired", "silver-haired", "white-haired"),
    "Wavy_Hair": ("curly-haired",),
    "Straight_Hair": ("straight-haired",),
}
HAIR_SALIENCE = 3.0
# The bald rule: a bald head shows no hair colour, hair style or bangs, whatever the labels say.
HIDDEN_BY_BALD: frozenset[str] = frozenset({*HAIR_COLOURS, *HAIR_STYLES, "Bangs"})

# Things a person "has" ("with X", "has X"). ``{his}`` becomes his or her.
FEATURES: dict[str, tuple[str, ...]] = {
    "Bald": ("a bald head", "a shaved head"),
    "Bangs": ("bangs", "a fringe"),
    "Receding_Hairline": ("a receding hairline", "a high receding hairline"),
    "No_Beard": ("a beard", "a full beard", "a thick beard"),  # present when No_Beard is false
    "Goatee": ("a goatee",),
    "Mustache": ("a mustache", "a moustache", "a thick mustache"),
    "5_o_Clock_Shadow": ("stubble", "a five o'clock shadow", "light stubble"),
    "Sideburns": ("sideburns", "long sideburns"),
    "Arched_Eyebrows": ("arched eyebrows", "arched brows"),
    "Bushy_Eyebrows": ("bushy eyebrows", "thick eyebrows", "heavy brows"),
    "Narrow_Eyes": ("narrow eyes", "narrowed eyes", "squinting eyes"),
    "Bags_Under_Eyes": ("bags under {his} eyes", "puffy eyes", "baggy eyes"),
    "Big_Nose": ("a big nose", "a large nose", "a prominent nose"),
    "Pointy_Nose": ("a pointy nose", "a pointed nose", "a sharp nose"),
    "Big_Lips": ("big lips", "full lips", "thick lips"),
    "High_Cheekbones": ("high cheekbones", "prominent cheekbones"),
    "Rosy_Cheeks": ("rosy cheeks", "pink cheeks", "flushed cheeks"),
    "Chubby": ("a chubby face", "a round face", "a plump face"),
    "Double_Chin": ("a double chin",),
    "Pale_Skin": ("pale skin", "a pale complexion", "very pale skin"),
    "Mouth_Slightly_Open": ("a slightly open mouth", "{his} mouth slightly open", "{his} mouth a little open"),
    "Smiling": ("a smile", "a big smile", "a grin", "a broad smile"),
}
# Things a person is "wearing" ("with X", "wearing X").
WORN: dict[str, tuple[str, ...]] = {
    "Eyeglasses": ("glasses", "eyeglasses", "spectacles", "specs", "reading glasses", "wire-rimmed glasses"),
    "Wearing_Hat": ("a hat", "a cap", "a beanie", "a baseball cap", "a wool hat"),
    "Wearing_Earrings": ("earrings", "hoop earrings", "small earrings"),
    "Wearing_Necklace": ("a necklace", "a pendant necklace", "a thin necklace"),
    "Wearing_Necktie": ("a tie", "a necktie", "a striped tie"),
    "Wearing_Lipstick": ("lipstick", "red lipstick", "bright lipstick"),
    "Heavy_Makeup": ("heavy makeup", "a lot of makeup", "full makeup", "dramatic makeup"),
}
# Said of the person, before the noun: "a *bespectacled* man".
ADJECTIVES: dict[str, tuple[str, ...]] = {
    "Smiling": ("smiling", "grinning", "beaming"),
    "Bald": ("bald", "bald-headed"),
    "Chubby": ("chubby", "plump", "round-faced"),
    "Eyeglasses": ("bespectacled",),
    "No_Beard": ("bearded",),
    "Mustache": ("mustached", "moustached"),
    "5_o_Clock_Shadow": ("unshaven", "stubbly"),
    "Receding_Hairline": ("balding",),
    "Pale_Skin": ("pale", "pale-skinned"),
    "Heavy_Makeup": ("heavily made-up",),
}
# Said of the person, after "is": "she is *grinning*" (worn things add "wearing X").
PREDICATES: dict[str, tuple[str, ...]] = {
    "Smiling": ("smiling", "grinning", "beaming", "smiling broadly"),
    "Bald": ("bald", "bald-headed"),
    "Chubby": ("chubby", "a little chubby"),
    "No_Beard": ("bearded",),
    "5_o_Clock_Shadow": ("unshaven",),
    "Receding_Hairline": ("balding",),
    "Pale_Skin": ("pale", "pale-skinned"),
    "Narrow_Eyes": ("squinting",),
}
# How readily people name an attribute when they name only a few (default 1).
SALIENCE: dict[str, float] = {
    "Eyeglasses": 3, "Bald": 3, "No_Beard": 3, "Wearing_Hat": 3, "Smiling": 2.5, "Mustache": 2, "Goatee": 2,
    "Heavy_Makeup": 1.5, "Wearing_Lipstick": 1.5, "Bangs": 1.5, "5_o_Clock_Shadow": 1.5, "Receding_Hairline": 1.5,
    "Chubby": 1.5, "Wearing_Necktie": 1.5, "Sideburns": 0.8, "Bushy_Eyebrows": 0.8, "Bags_Under_Eyes": 0.8,
    "Rosy_Cheeks": 0.7, "Arched_Eyebrows": 0.7, "Big_Lips": 0.7, "High_Cheekbones": 0.6, "Narrow_Eyes": 0.5,
    "Pointy_Nose": 0.5, "Mouth_Slightly_Open": 0.5,
}  # fmt: skip

# One canonical phrase per attribute that captions can mention: what "the model read" is compared with.
ATTRIBUTE_PHRASES: dict[str, str] = {
    "Male": "a man", "Young": "a young person", "Bald": "a bald head", "Chubby": "a chubby face",
    "Black_Hair": "black hair", "Blond_Hair": "blond hair", "Brown_Hair": "brown hair", "Gray_Hair": "gray hair",
    "Wavy_Hair": "wavy hair", "Straight_Hair": "straight hair", "Bangs": "bangs",
    "Receding_Hairline": "a receding hairline",
    "No_Beard": "a beard", "Goatee": "a goatee", "Mustache": "a mustache", "5_o_Clock_Shadow": "stubble",
    "Sideburns": "sideburns", "Arched_Eyebrows": "arched eyebrows", "Bushy_Eyebrows": "bushy eyebrows",
    "Narrow_Eyes": "narrow eyes", "Bags_Under_Eyes": "bags under the eyes", "Big_Nose": "a big nose",
    "Pointy_Nose": "a pointy nose", "Big_Lips": "big lips", "High_Cheekbones": "high cheekbones",
    "Rosy_Cheeks": "rosy cheeks", "Double_Chin": "a double chin", "Pale_Skin": "pale skin",
    "Mouth_Slightly_Open": "a slightly open mouth", "Eyeglasses": "wearing glasses", "Wearing_Hat": "wearing a hat",
    "Wearing_Earrings": "wearing earrings", "Wearing_Necklace": "wearing a necklace",
    "Wearing_Necktie": "wearing a tie",
    "Wearing_Lipstick": "wearing lipstick", "Heavy_Makeup": "wearing heavy makeup", "Smiling": "smiling",
}  # fmt: skip
assert set(ATTRIBUTE_PHRASES) == set(ATTRIBUTES) - EXCLUDED
assert {*FEATURES, *WORN, *HAIR_COLOURS, *HAIR_STYLES, "Male", "Young"} == set(ATTRIBUTE_PHRASES)


@dataclass(frozen=True)
class Words:
    """Ways to say one thing about a face, by the place they take in a sentence (empty: not said there).

    ``claims``: the attribute values saying it states. Placeholders: ``{his}`` (his/her), ``{kid}``
    (boy/girl), ``{grand}`` (grandfatherly/grandmotherly), ``{n}`` (the caption's age in years).
    """

    claims: Mapping[str, int]
    adj: tuple[str, ...] = ()  # before the noun: "a *bespectacled* man"
    noun: tuple[str, ...] = ()  # instead of the noun: "a *girl*"
    after: tuple[str, ...] = ()  # after the noun: "a man *in his sixties*"
    with_: tuple[str, ...] = ()  # after "with": "with *glasses*"
    has: tuple[str, ...] = ()  # after "has": "he has *a beard*"
    is_: tuple[str, ...] = ()  # after "is": "she is *not smiling*"
    tag: tuple[str, ...] = ()  # in a comma list: "man, 60s, *no beard*"
    weight: float = 1.0  # how readily people say it
    sex: bool | None = None  # said only of men (True) or only of women (False)
    negation: bool = False


def _bare(phrase: str) -> str:
    """'a beard' -> 'beard', for comma lists."""
    return phrase.split(" ", 1)[1] if phrase.split(" ", 1)[0] in ("a", "an") else phrase


def _present_words(name: str) -> Words:
    nouns = FEATURES.get(name, ()) + WORN.get(name, ())
    wearing = tuple(f"wearing {thing}" for thing in WORN.get(name, ()))
    return Words(
        claims={name: 0 if name == "No_Beard" else 1},
        adj=ADJECTIVES.get(name, ()),
        after=wearing,
        with_=nouns,
        has=FEATURES.get(name, ()),
        is_=PREDICATES.get(name, ()) + wearing,
        tag=tuple(_bare(p) for p in nouns) + ADJECTIVES.get(name, ()),
        weight=SALIENCE.get(name, 1.0),
    )


PRESENT: dict[str, Words] = {name: _present_words(name) for name in (*FEATURES, *WORN)}

# What people say is NOT there. Written only when every claim agrees with the labels, so e.g. "clean-shaven"
# needs no beard, goatee, mustache or stubble, and "no makeup" needs neither makeup nor lipstick.
NEGATIONS: tuple[Words, ...] = (
    Words(
        {"No_Beard": 1, "Goatee": 0}, sex=True, weight=2.5, negation=True,
        adj=("beardless",), after=("without a beard",), with_=("no beard",), has=("no beard",),
        is_=("beardless", "not bearded"), tag=("no beard", "beardless"),
    ),
    Words(
        {"No_Beard": 1, "Goatee": 0, "Mustache": 0, "5_o_Clock_Shadow": 0}, sex=True, weight=2.5, negation=True,
        adj=("clean-shaven", "freshly shaved"), is_=("clean-shaven", "freshly shaved"), tag=("clean-shaven",),
    ),
    Words(
        {"Eyeglasses": 0}, weight=3, negation=True,
        after=("without glasses", "without specs", "not wearing glasses"), with_=("no glasses",),
        has=("no glasses",), is_=("not wearing glasses", "not wearing any glasses"), tag=("no glasses", "no specs"),
    ),
    Words(
        {"Smiling": 0}, weight=3, negation=True,
        adj=("unsmiling", "serious", "serious-looking"),
        with_=("a straight face", "a serious expression", "no smile", "a neutral expression"),
        has=("a straight face", "a serious expression", "a neutral expression"),
        is_=("not smiling", "serious", "unsmiling", "keeping a straight face"),
        tag=("not smiling", "serious", "no smile", "straight face"),
    ),
    Words(
        {"Wearing_Hat": 0}, weight=2, negation=True,
        adj=("bare-headed",), after=("without a hat", "not wearing a hat"), with_=("no hat",),
        is_=("bare-headed", "not wearing a hat", "not wearing a cap"), tag=("no hat", "bare-headed", "no cap"),
    ),
    Words(
        {"Heavy_Makeup": 0, "Wearing_Lipstick": 0}, sex=False, weight=2, negation=True,
        adj=("bare-faced", "makeup-free"), after=("without makeup",), with_=("no makeup",), has=("no makeup on",),
        is_=("not wearing makeup", "not wearing any makeup", "bare-faced", "makeup-free"),
        tag=("no makeup", "bare-faced", "makeup-free"),
    ),
    Words({"Bald": 0}, sex=True, weight=0.8, negation=True, is_=("not bald",), tag=("not bald",)),
    Words(
        {"Bald": 0, "Receding_Hairline": 0}, sex=True, weight=0.8, negation=True,
        with_=("a full head of hair",), has=("a full head of hair",), tag=("full head of hair",),
    ),
    Words(
        {"Mustache": 0}, sex=True, weight=1, negation=True,
        after=("without a mustache",), with_=("no mustache", "no moustache"), has=("no mustache", "no moustache"),
        tag=("no mustache", "no moustache"),
    ),
    Words(
        {"Wearing_Earrings": 0}, sex=False, weight=1, negation=True,
        after=("without earrings",), with_=("no earrings",), is_=("not wearing earrings",), tag=("no earrings",),
    ),
    Words(
        {"Wearing_Earrings": 0, "Wearing_Necklace": 0}, sex=False, weight=0.5, negation=True,
        after=("without jewelry",), with_=("no jewelry", "no jewellery"),
        is_=("not wearing any jewelry", "not wearing jewellery"), tag=("no jewelry", "no jewellery"),
    ),
    Words(
        {"Wearing_Necktie": 0}, sex=True, weight=1, negation=True,
        after=("without a tie",), with_=("no tie",), is_=("not wearing a tie",), tag=("no tie",),
    ),
)  # fmt: skip

# Young (CelebA: roughly under 35-40) and not young. Numbers: 19-29 and 52-79, nothing near 35-45.
YOUNG_YEARS, OLD_YEARS = range(19, 30), range(52, 80)
AGES: dict[bool, Words] = {
    True: Words(
        {"Young": 1},
        adj=("young", "youthful", "college-aged", "teenage", "{n}-year-old"),
        noun=("{kid}",),
        after=("in {his} twenties", "in {his} early 20s", "in {his} mid-twenties", "in {his} late teens", "aged {n}"),
        is_=("young", "in {his} twenties", "in {his} early 20s", "a teen-ager", "college-aged", "twenty-something",
             "{n}", "{n} years old"),
        tag=("young", "20s", "early 20s", "mid-twenties", "late teens", "twenty-something", "about {n}"),
    ),
    False: Words(
        {"Young": 0},
        adj=("older", "middle-aged", "elderly", "old", "{n}-year-old", "wrinkled", "{grand}", "retired"),
        after=("in {his} sixties", "in {his} late fifties", "in {his} 70s", "in {his} fifties", "aged {n}",
               "pushing seventy"),
        with_=("wrinkles", "a wrinkled face", "deep wrinkles"),
        has=("wrinkles", "a wrinkled face", "deep wrinkles"),
        is_=("older", "middle-aged", "elderly", "in {his} sixties", "in {his} late fifties", "pushing seventy",
             "retired", "{grand}", "{n}", "{n} years old"),
        tag=("older", "middle-aged", "elderly", "50s", "60s", "70s", "late fifties", "retired", "about {n}"),
    ),
}  # fmt: skip
# Every thing said can go into a comma list, and into a sentence either after "is" or after "with"/"has".
assert all(w.tag and (w.is_ or (w.with_ and w.has)) for w in (*PRESENT.values(), *NEGATIONS, *AGES.values()))

NOUNS: dict[bool, tuple[str, ...]] = {True: ("man", "guy", "gentleman", "fellow"), False: ("woman", "lady")}
TAG_NOUNS: dict[bool, tuple[str, ...]] = {True: ("man", "male", "guy"), False: ("woman", "female", "lady")}
VOICES: dict[bool, dict[str, str]] = {
    True: {"he": "he", "his": "his", "kid": "boy", "grand": "grandfatherly"},
    False: {"he": "she", "his": "her", "kid": "girl", "grand": "grandmotherly"},
}

# --- sentence templates ---------------------------------------------------------------------------------

# A template names the groups it puts said things in, and its lines. A line is a tuple of alternatives:
# the first whose groups are all non-empty is written ("" writes nothing). {S} is the subject with its
# article ("a young woman in glasses"), {s} without it; the subject carries the adj, noun and after groups.
Template = tuple[tuple[str, ...], tuple[tuple[str, ...], ...]]
TEMPLATES: tuple[Template, ...] = (
    (("adj", "noun", "after", "with_", "is_"), (("{S} with {with_}.", "{S}."), ("{he} is {is_}.", ""))),
    (("adj", "noun", "after", "is_", "has"), (("{lead} {S}, {is_}.", "{lead} {S}."), ("{he} has {has}.", ""))),
    (("adj", "noun", "after", "has", "is_"),
     (("this {s} has {has} and is {is_}.", "this {s} has {has}.", "this {s} is {is_}.", "this is {S}."),)),
    (("adj", "noun", "with_", "is_"),
     (("with {with_}, this {s} is {is_}.", "with {with_}: {S}.", "{S}, {is_}.", "{S}."),)),
    (("adj", "after", "is_", "with_"), (("{is_}, {S} with {with_}.", "{is_}: {S}.", "{S} with {with_}.", "{S}."),)),
    (("adj", "noun", "after", "is_", "has"),
     (("{S} who is {is_} and has {has}.", "{S} who is {is_}.", "{S} who has {has}.", "{S}."),)),
    (("adj", "noun", "after", "is_", "has"), (("{S}.",), ("{he} is {is_}.", ""), ("{he} has {has}.", ""))),
    (("is_", "with_"), (("{he}'s {is_}, with {with_}.", "{he}'s {is_}.", "{S} with {with_}.", "{S}."),)),
    (("adj", "noun", "after", "with_", "is_", "no"),
     (("{S} with {with_}.", "{S}."), ("{he} is {is_}.", ""), ("{no}.", ""))),
    (("adj", "noun", "with_", "is_"), (("{with_}: {S}.", "{S}."), ("{he} is {is_}.", ""))),
)  # fmt: skip
# Things that did not fit their group go into sentences of their own.
OVERFLOW: tuple[tuple[str, ...], ...] = (("{he} also has {more_has}.", ""), ("{he} is also {more_is}.", ""))
LEADS = (
    "a photo of", "a portrait of", "a picture of", "a close-up of", "a headshot of", "an image of", "a snapshot of",
)  # fmt: skip
# Which field of Words a group takes its phrases from; how many it holds; how readily things go there.
GROUP_FIELDS = {"adj": "adj", "noun": "noun", "after": "after", "with_": "with_", "has": "has", "is_": "is_",
                "no": "tag", "more_has": "has", "more_is": "is_"}  # fmt: skip
CAPACITY = {"adj": 3, "noun": 1, "after": 1, "with_": 4, "has": 4, "is_": 3, "no": 3}
PLACE_WEIGHTS = {"adj": 0.8, "noun": 0.3, "after": 0.35, "with_": 1.0, "has": 1.0, "is_": 1.0, "no": 1.5}
SUBJECT_GROUPS = frozenset({"adj", "noun", "after"})

# --- neutral sentences: what a face cannot show ---------------------------------------------------------

NAMES: dict[bool, tuple[str, ...]] = {
    True: ("James", "David", "Marco", "Ahmed", "Kenji", "Lucas", "Daniel", "Tom", "Omar", "Pierre", "Samuel", "Raj",
           "Felix", "Mateo", "Leon", "Ivan", "Noah", "Hugo", "Yusuf", "Erik", "Diego", "Ben", "Kwame", "Luca", "Anton"),
    False: ("Anna", "Maria", "Sofia", "Emma", "Chloe", "Priya", "Fatima", "Yuki", "Laura", "Hannah", "Ines", "Aisha",
            "Clara", "Nora", "Julia", "Mei", "Olga", "Sara", "Elena", "Rachel", "Amara", "Lucia", "Zoe", "Camille",
            "Ingrid"),
}  # fmt: skip
JOBS = (
    "a nurse", "an accountant", "a software developer", "a teacher", "an electrician", "an architect", "a lawyer",
    "a baker", "a librarian", "a pharmacist", "an engineer", "a journalist", "a chef", "a plumber", "a dentist",
    "a photographer", "a translator", "a pilot", "a carpenter", "a bank clerk", "a vet", "a bus driver",
    "a police officer", "a florist", "a data analyst", "a physiotherapist", "a mechanic", "a graphic designer",
    "a museum guide", "a taxi driver", "a social worker", "a project manager",
)  # fmt: skip
PLACES = (
    "Leeds", "Lyon", "Toronto", "Madrid", "Chicago", "Melbourne", "Dublin", "Boston", "Hamburg", "Oslo", "Porto",
    "Seattle", "Glasgow", "Denver", "Naples", "Krakow", "Austin", "Vancouver", "Bristol", "Utrecht", "Montreal",
    "Lisbon", "Vienna", "Auckland", "Cardiff", "Prague", "Atlanta", "Nantes", "Zurich", "Bergen",
)  # fmt: skip
HOBBIES = (
    "hiking", "chess", "cooking", "painting", "gardening", "jazz", "cycling", "crime novels", "baking bread",
    "fishing", "photography", "playing the piano", "running", "board games", "birdwatching", "sailing", "swimming",
    "pottery", "rock climbing", "yoga", "tennis", "salsa dancing", "crossword puzzles", "camping", "knitting",
    "travelling", "football", "video games", "science fiction", "jigsaw puzzles",
)  # fmt: skip
MOODS = (
    "excited about the weekend", "looking forward to the holidays", "in a hurry", "proud of {his} garden",
    "a bit nervous about a job interview", "relaxed after a long week", "busy with a new project",
    "curious about everything", "homesick", "glad the week is over",
)  # fmt: skip
OCCASIONS = (
    "a friend's wedding", "a birthday party", "a family dinner", "a work conference", "a book launch",
    "a company picnic", "a charity run", "a concert", "an art exhibition", "a team meeting",
    "a neighbourhood barbecue", "an engagement party",
)  # fmt: skip
WEATHER = ("sunny", "rainy", "windy", "cloudy", "foggy", "snowy", "chilly", "humid", "warm", "cold")
PETS = ("a dog", "a cat", "two cats", "a parrot", "a rabbit", "a tortoise")
PET_NAMES = ("Biscuit", "Max", "Luna", "Milo", "Ziggy", "Mochi", "Rocky", "Olive", "Pickles", "Bruno", "Nala", "Toast")
# By topic; a caption takes each topic at most once, so its neutral sentences do not repeat each other.
NEUTRAL_SENTENCES: dict[str, tuple[str, ...]] = {
    "name": ("{his} name is {name}.", "this is {name}.", "meet {name}, who loves {hobby}."),
    "job": ("{he} works as {job} in {place}.", "{he} is {job}.", "{name} is {job} from {place}."),
    "place": ("{he} grew up in {place}.", "{he} recently moved to {place} for work.", "{name} lives in {place}."),
    "hobby": (
        "in {his} free time {he} likes {hobby} and {hobby2}.", "{name} is really into {hobby}.", "{he} enjoys {hobby}.",
    ),
    "mood": ("{he} is {mood}.", "{name} is {mood}."),
    "occasion": ("the photo was taken at {occasion}.", "this picture is from {occasion} in {place}."),
    "weather": ("it was {weather} that day.", "the weather was {weather} when this was taken."),
    "pet": ("{he} has {pet} called {pet_name}.", "{name} has {pet} called {pet_name}."),
}


# --- the caption writer ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Caption:
    """A caption and its claims: the CelebA attribute values the text states (No_Beard as in CelebA)."""

    text: str
    claims: dict[str, int]
    sentences: tuple[str, ...] = ()  # the text's sentences that describe the face (its others are neutral), cased as in it


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


def _true(words: Words, a: dict[str, bool]) -> bool:
    """May these words be said of a face with labels ``a``: every claim agrees, none hidden by a bald head."""
    if a["Bald"] and not HIDDEN_BY_BALD.isdisjoint(words.claims):
        return False
    return all(a[name] == bool(value) for name, value in words.claims.items())


def _weighted_order(rng: random.Random, items: list[Words]) -> list[Words]:
    """``items`` in a random order where heavier ones tend to come first (weighted sampling without replacement)."""
    keys = [rng.random() ** (1.0 / w.weight) for w in items]
    return [items[i] for i in sorted(range(len(items)), key=lambda i: -keys[i])]


def _hair(rng: random.Random, a: dict[str, bool]) -> Words | None:
    """One phrase for the hair: a colour and/or a style ("wavy blonde hair"), one of each at most."""
    colours = [name for name in HAIR_COLOURS if a[name]]
    styles = [name for name in HAIR_STYLES if a[name]]
    if not colours and not styles:
        return None
    colour = rng.choice(colours) if colours else None
    style = rng.choice(styles) if styles and (not colour or rng.random() < 0.5) else None
    named = [name for name in (style, colour) if name]
    combos = [""]
    for name in named:
        words = HAIR_STYLES.get(name) or HAIR_COLOURS[name]
        combos = [f"{c} {w}".strip() for c in combos for w in words]
    nouns = tuple(f"{c} hair" for c in combos)
    adjectives = HAIR_ADJECTIVES[named[0]] if len(named) == 1 else ()
    claims = {name: 1 for name in named}
    return Words(claims, adj=adjectives, with_=nouns, has=nouns, tag=nouns + adjectives, weight=HAIR_SALIENCE)


def _said_present(rng: random.Random, a: dict[str, bool]) -> list[Words]:
    """The present attributes this caption names: a few salient ones, or many."""
    candidates = [w for w in (_hair(rng, a), *PRESENT.values()) if w is not None and _true(w, a)]
    count = rng.randint(2, 4) if rng.random() < SHORT_SHARE else MAX_MENTIONS
    return _weighted_order(rng, candidates)[:count]


def _said_absent(rng: random.Random, a: dict[str, bool]) -> list[Words]:
    """0-2 negations of absent attributes, mostly the ones people negate, none overlapping."""
    count = rng.choices(list(NEGATION_COUNTS), weights=list(NEGATION_COUNTS.values()))[0]
    options = [w for w in NEGATIONS if w.sex in (None, a["Male"]) and _true(w, a)]
    chosen: list[Words] = []
    for words in _weighted_order(rng, options):
        if len(chosen) < count and all(set(words.claims).isdisjoint(c.claims) for c in chosen):
            chosen.append(words)
    return chosen


def _phrase(rng: random.Random, options: tuple[str, ...], voice: dict[str, str]) -> str:
    return rng.choice(options).format(**voice)


def _join(items: list[str]) -> str:
    """'a', 'a and b', 'a, b and c'."""
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _article(phrase: str) -> str:
    return "an" if phrase[0] in "aeiou" else "a"


def _subject_rank(words: Words) -> int:
    """English adjective order before the noun: others, then age, then hair ("a smiling young blonde woman")."""
    if not HIDDEN_BY_BALD.isdisjoint(words.claims) or "Bald" in words.claims:
        return 2
    return 1 if "Young" in words.claims else 0


def _tag_list(rng: random.Random, said: list[Words], voice: dict[str, str], male: bool) -> list[str]:
    """One comma list: "woman, 20s, blonde, glasses, no hat" (gender first, mostly)."""
    tags = [_phrase(rng, w.tag, voice) for w in said]
    tags.insert(0 if rng.random() < 0.8 else min(1, len(tags)), rng.choice(TAG_NOUNS[male]))
    return [", ".join(tags) + "."]


def _sentences(rng: random.Random, said: list[Words], voice: dict[str, str], male: bool) -> list[str]:
    """Sentences from one template, every said thing placed in one of its groups and written."""
    groups, lines = rng.choice(TEMPLATES)
    placed: dict[str, list[tuple[Words, str]]] = {}
    for words in said:
        options = [
            g for g in groups
            if getattr(words, GROUP_FIELDS[g]) and len(placed.get(g, [])) < CAPACITY[g]
            and (g != "no" or words.negation)
        ]  # fmt: skip
        if options:
            group = rng.choices(options, weights=[PLACE_WEIGHTS[g] for g in options])[0]
        else:
            group = "more_has" if words.has else "more_is"
        placed.setdefault(group, []).append((words, _phrase(rng, getattr(words, GROUP_FIELDS[group]), voice)))

    values = {group: _group_text(rng, group, items) for group, items in placed.items() if group not in SUBJECT_GROUPS}
    adjectives = [p for _, p in sorted(placed.get("adj", []), key=lambda item: _subject_rank(item[0]))]
    noun = placed["noun"][0][1] if "noun" in placed else rng.choice(NOUNS[male])
    s = " ".join([*adjectives, noun, *(p for _, p in placed.get("after", []))])
    values |= {"S": f"{_article(s)} {s}", "s": s, "he": voice["he"], "lead": rng.choice(LEADS)}

    sentences, written = [], set()
    for line in (*lines, *OVERFLOW):
        for alternative in line:
            fields = _fields(alternative)
            if fields & set(GROUP_FIELDS) <= set(placed):
                if alternative:
                    sentences.append(alternative.format(**values))
                written |= fields | (SUBJECT_GROUPS if fields & {"S", "s"} else set())
                break
    assert written >= set(placed), (groups, lines, placed)  # nothing said is lost
    return sentences


@functools.cache
def _fields(template: str) -> frozenset[str]:
    """The placeholders of a template: "{S} with {with_}." -> {"S", "with_"}."""
    return frozenset(f for _, f, _, _ in string.Formatter().parse(template) if f)


def _group_text(rng: random.Random, group: str, items: list[tuple[Words, str]]) -> str:
    """'gray hair, glasses and no beard', or with a contrast: 'gray hair and glasses but no beard'."""
    if group == "no":
        return ", ".join(p for _, p in items)
    present = [p for w, p in items if not w.negation and not p.startswith("wearing ")]
    worn = [p.removeprefix("wearing ") for w, p in items if not w.negation and p.startswith("wearing ")]
    if worn:  # one "wearing", last: "smiling and wearing glasses, a cap and earrings"
        present.append("wearing " + _join(worn))
    absent = [p for w, p in items if w.negation]
    if present and absent and absent[0].startswith(("no ", "not ")) and rng.random() < 0.5:
        return f"{_join(present)} but {_join(absent)}"
    return _join(present + absent)


def neutral_sentences(rng: random.Random, male: bool, count: int) -> list[str]:
    """``count`` different sentences about what a face cannot show, about one imagined person."""
    hobby, hobby2 = rng.sample(HOBBIES, 2)
    voice = {
        **VOICES[male], "name": rng.choice(NAMES[male]), "job": rng.choice(JOBS), "place": rng.choice(PLACES),
        "hobby": hobby, "hobby2": hobby2, "occasion": rng.choice(OCCASIONS), "weather": rng.choice(WEATHER),
        "pet": rng.choice(PETS), "pet_name": rng.choice(PET_NAMES),
    }  # fmt: skip
    voice["mood"] = rng.choice(MOODS).format(**voice)
    topics = rng.sample(list(NEUTRAL_SENTENCES), count)
    return [rng.choice(NEUTRAL_SENTENCES[topic]).format(**voice) for topic in topics]


def _capitalised(sentence: str) -> str:
    return sentence[0].upper() + sentence[1:]


def describe(attributes: Mapping[str, object] | Sequence[object], seed: int = 0) -> Caption:
    """One English description of a face with these CelebA attributes, and what it claims; deterministic in ``seed``."""
    a = as_attribute_dict(attributes)
    rng = random.Random(seed)
    male = a["Male"]
    voice = {**VOICES[male], "n": str(rng.choice(YOUNG_YEARS if a["Young"] else OLD_YEARS))}
    said = ([AGES[a["Young"]]] if rng.random() < AGE_SHARE else []) + _said_present(rng, a) + _said_absent(rng, a)
    write = _tag_list if rng.random() < LIST_SHARE else _sentences
    sentences = [_capitalised(s) for s in write(rng, said, voice, male)]
    face = tuple(sentences)

    if rng.random() < NEUTRAL_SHARE:
        count = rng.choices(list(NEUTRAL_COUNTS), weights=list(NEUTRAL_COUNTS.values()))[0]
        count = min(count, MAX_SENTENCES - len(sentences))
        for extra in neutral_sentences(rng, male, count):
            extra = _capitalised(extra)
            if len(" ".join([*sentences, extra]).split()) <= MAX_WORDS:
                sentences.insert(0 if rng.random() < 0.5 else len(sentences), extra)

    text = " ".join(sentences)
    if rng.random() < LOWER_SHARE:
        text = text.lower().removesuffix(".")
        face = tuple(s.lower() for s in face)
    claims = {"Male": int(male)}
    for words in said:
        claims.update(words.claims)
    return Caption(text, claims, face)


def caption(attributes: Mapping[str, object] | Sequence[object], seed: int = 0) -> str:
    """One English description of a face with these CelebA attributes; deterministic in ``seed``."""
    return describe(attributes, seed).text


def captions(attributes: Mapping[str, object] | Sequence[object], n: int, seed: int = 0) -> list[Caption]:
    """``n`` captions (text and claims) for one face, distinct where the attributes allow it; deterministic
    in ``seed``."""
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    out: list[Caption] = []
    for k in range(n * 8):  # a few extra draws to find distinct phrasings
        described = describe(attributes, seed=seed * 1_000_003 + k)
        if all(c.text != described.text for c in out):
            out.append(described)
        if len(out) == n:
            return out
    return (out * n)[:n]  # attribute sets with few phrasings repeat
