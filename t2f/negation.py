"""Which attributes a description's words negate: "no glasses", "not smiling", "without a hat", "clean-shaven".

A small rule over the words, no model. The read-out (``t2f.attributes``) has a learned negation output, but
on descriptions people write it fired where no word negates anything and missed a third of what the words
negate (``bench/negation_precision.py``: on the 239 held-out people's descriptions, of the attributes with an
edit direction it read 211 as negated, 116 of them negated in the words, 36 asked for as present; this rule
finds 180, 179 of them negated in the words (precision 0.99, recall 179 of 182), 1 asked for as present).
So what the words negate is what ``AttributeModel.read`` given the text reads as absent, and what the pipeline
steers faces away from (``TextToFace.codes``).

The rule, in order:

1. **Words.** The text is lower-cased and split into words and punctuation; hyphens split words
   ("clean-shaven" is "clean shaven", "make-up" is "make up"), "n't" is its own word ("doesn't" is "does n't";
   "dont", "isnt" ... typed without the apostrophe are cues too), "w/o" is "without".
2. **Clauses.** Punctuation that ends a clause or a list item (``. , ; ! ? ( ) [ ] / |``, a line break, a dash
   standing alone) splits the text into clauses. A colon does not ("glasses: none").
3. **Cues** (NEGATORS): no, not, n't, never, without, none, neither, nor, cannot, lacks, lacking, lack, minus,
   sans, "free of", "free from". A cue negates the attribute words (LEXICON) that follow it up to the end of
   its clause, or up to the first word that starts a new phrase (SCOPE_ENDS: "and", "but", "with", "who", ...):
   "big beard, no glasses" negates glasses only; "no glasses but a big smile" too; "no beard or mustache" both.
   "with" right after the cue does not end it ("never with glasses").
   Not cues: a cue right after "or" ("with or without glasses", "smiling or not": a choice), the pairs in
   NOT_NEGATIONS ("not only", "no doubt", "don't know", "can't remember", "can't stop"...), and "not"/"never"/
   "n't" followed by "without" in its scope ("never without his glasses": both cancel out).
4. **After the word**: an attribute word followed by "free" ("makeup-free", "glasses free"), or followed by
   "no" or "none" as the last word of its clause ("glasses: none", "hat no").
5. **Words that negate by themselves** (SELF_NEGATING): "clean-shaven" (the beard; so do "shaved" and "shaven"
   alone, but not beside "head", "scalp", "hair"...: "a shaved head" negates nothing), "beardless", "hatless",
   "bare-headed", "unsmiling", "straight-faced", "bare-faced" (makeup)... unless inside a cue's scope ("not
   clean-shaven").
6. **Groups yield to what is named.** A word that negates one attribute always does; a word that names a
   group ("facial hair", "jewelry", "balding") negates each member that the text does not name outside a
   negation: "no facial hair but a mustache" and "no jewelry except earrings" leave the mustache and the
   earrings alone.

Source: the lexicon and cues were written from general English usage (how people say each CelebA attribute
and the usual ways to negate it: determiner "no", "not", "without", contractions, "-free", "-less", "un-",
"bare-"), before measuring on the project's held-out people's descriptions, and not tuned on their texts.
Changed after measuring, from counts per attribute only (no text read): a word negates what it names, and
only a word that names a group negates each member ("facial hair", "jewelry"). "makeup" and "bare-faced"
first negated lipstick as well, "beard" the goatee and "clean-shaven" the mustache, goatee and stubble too,
which neither people's set counts as negated; "shaved"/"shaven" alone (the issue's own list of beard words)
and rule 6 were added then (people's set: precision 0.83 at first, recall the same).

Limits (what it misses or gets wrong, on purpose kept simple):

- "and" always ends a scope: "no beard and mustache" negates the beard only (people mostly write "no beard or
  mustache" or "no beard, no mustache"; "no glasses and a big smile" must not negate the smile).
- Antonyms are not negations: "a serious face", "a closed mouth", "a full head of hair" negate nothing here.
- Ellipsis and answers across sentences: "a beard? no." or "he had a beard, but not anymore" negate nothing.
- Scope ends at "that", so "I don't think that he has a beard" negates nothing ("I don't think he has a beard"
  does negate it: negation raised onto "think" reads as a negation of what follows).
- Requests to remove ("take off the glasses") are not negations.
- English only; a negation in another language negates nothing.
"""

from __future__ import annotations

import re

# What each attribute word negates: (phrases, CelebA attributes). A phrase is a run of words, lower case,
# hyphens as spaces; its last word also matches with an -s or -es ("earring" matches "earrings"). No_Beard is
# CelebA's inverted column: "no beard" negates the beard, i.e. the attribute named No_Beard.
_FACIAL_HAIR = ("No_Beard", "Goatee", "Mustache", "5_o_Clock_Shadow", "Sideburns")
LEXICON: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...] = (
    (("glasses", "eyeglasses", "spectacles", "specs", "sunglasses", "shades", "eyewear", "bifocals", "bespectacled"), ("Eyeglasses",)),
    (("hat", "cap", "beanie", "bonnet", "beret", "fedora", "headwear", "headgear"), ("Wearing_Hat",)),
    (("beard", "bearded", "whiskers"), ("No_Beard",)),
    (("facial hair",), _FACIAL_HAIR),
    (("goatee",), ("Goatee",)),
    (("mustache", "moustache", "mustached", "moustached", "mustachioed", "stache", "tache"), ("Mustache",)),
    (("stubble", "stubbly", "five o clock shadow", "5 o clock shadow"), ("5_o_Clock_Shadow",)),
    (("sideburns", "side burns"), ("Sideburns",)),
    (("smile", "smiling", "smiley", "grin", "grinning", "beaming"), ("Smiling",)),
    (("makeup", "make up", "cosmetics"), ("Heavy_Makeup",)),
    (("lipstick", "lip gloss", "lip colour", "lip color"), ("Wearing_Lipstick",)),
    (("bald",), ("Bald",)),
    (("balding",), ("Bald", "Receding_Hairline")),
    (("receding hairline", "receding"), ("Receding_Hairline",)),
    (("bangs", "fringe"), ("Bangs",)),
    (("earring", "ear ring"), ("Wearing_Earrings",)),
    (("necklace", "pendant"), ("Wearing_Necklace",)),
    (("jewelry", "jewellery"), ("Wearing_Earrings", "Wearing_Necklace")),
    (("necktie", "neck tie", "tie", "cravat"), ("Wearing_Necktie",)),
    (("black hair", "black haired", "jet black"), ("Black_Hair",)),
    (("blond", "blonde", "fair hair", "fair haired"), ("Blond_Hair",)),
    (("brown hair", "brown haired", "brunette"), ("Brown_Hair",)),
    (("gray", "grey", "graying", "greying", "silver hair", "silver haired", "white hair", "white haired"), ("Gray_Hair",)),
    (("straight hair", "straight haired"), ("Straight_Hair",)),
    (("wavy", "curly", "curls"), ("Wavy_Hair",)),
    (("arched eyebrows", "arched brows"), ("Arched_Eyebrows",)),
    (("bushy eyebrows", "bushy brows", "thick eyebrows", "thick brows", "heavy eyebrows"), ("Bushy_Eyebrows",)),
    (("bags under", "eye bags", "dark circles", "puffy eyes"), ("Bags_Under_Eyes",)),
    (("big lips", "full lips", "thick lips", "large lips", "plump lips"), ("Big_Lips",)),
    (("big nose", "large nose", "long nose"), ("Big_Nose",)),
    (("chubby", "fat", "overweight", "heavyset", "heavy set", "stout"), ("Chubby",)),
    (("double chin",), ("Double_Chin",)),
    (("high cheekbones", "high cheek bones", "prominent cheekbones"), ("High_Cheekbones",)),
    (("open mouth", "mouth open", "open mouthed", "parted lips", "lips parted"), ("Mouth_Slightly_Open",)),
    (("narrow eyes", "narrowed eyes", "squinting"), ("Narrow_Eyes",)),
    (("pale", "pale skin", "pale skinned", "fair skin", "fair skinned"), ("Pale_Skin",)),
    (("pointy nose", "pointed nose", "sharp nose"), ("Pointy_Nose",)),
    (("rosy", "rosy cheeks", "red cheeks", "flushed", "blushing"), ("Rosy_Cheeks",)),
)  # fmt: skip
# Words that negate by themselves (rule 5). "Shaved" and "shaven" alone mean clean-shaven, except beside a word
# in NOT_THE_FACE ("a shaved head", "head shaven").
NOT_THE_FACE = frozenset({"head", "heads", "scalp", "skull", "sides", "side", "hair", "bald", "legs"})
SELF_NEGATING: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...] = (
    (("clean shaven", "clean shaved", "cleanshaven", "smooth shaven", "shaven", "shaved", "clean shave", "beardless"), ("No_Beard",)),
    (("hatless", "bare headed", "bareheaded"), ("Wearing_Hat",)),
    (("unsmiling", "straight faced"), ("Smiling",)),
    (("bare faced", "barefaced"), ("Heavy_Makeup",)),
    (("tieless",), ("Wearing_Necktie",)),
)  # fmt: skip
NEGATORS = frozenset({
    "no", "not", "n't", "never", "without", "none", "neither", "nor", "cannot", "lacks", "lacking", "lack", "minus",
    "sans", "dont", "doesnt", "didnt", "isnt", "wasnt", "arent", "werent", "hasnt", "havent", "hadnt", "wont",
    "cant", "aint", "wouldnt", "shouldnt",
})  # fmt: skip
# Cues followed by one of these words start no negation of what follows.
NOT_NEGATIONS: dict[str, frozenset[str]] = {
    "not": frozenset({"only", "just", "sure", "certain", "that"}),
    "no": frozenset({"doubt", "idea", "matter", "clue"}),
    "never": frozenset({"mind"}),
    "n't": frozenset({"know", "remember", "recall", "care", "mind", "matter", "stop", "sure"}),
}
for _cue in ("dont", "doesnt", "didnt", "cant", "cannot"):
    NOT_NEGATIONS[_cue] = NOT_NEGATIONS["n't"]
# Words that end a cue's scope: they start a new phrase or clause.
SCOPE_ENDS = frozenset({
    "and", "but", "though", "although", "however", "yet", "while", "whereas", "except", "besides", "instead",
    "plus", "with", "who", "whose", "which", "that", "because", "since", "so", "then", "also", "unless", "if",
    "apart", "other",
})  # fmt: skip
CLAUSE_ENDS = frozenset(".,;!?()[]/|\n") | {"-", "—", "–"}
# Cues that a "without" in their scope cancels ("never without his glasses").
_NOT_LIKE = frozenset({"not", "never", "n't", "dont", "doesnt", "didnt", "isnt", "wasnt", "arent", "hasnt", "cannot", "cant"})  # fmt: skip

_TOKEN = re.compile(r"n't|[a-z0-9]+|\n|\s[-–—]\s|[.,;!?()\[\]/|:]")


def _words(text: str) -> list[str]:
    """Rule 1: lower-case words, "n't" split off, clause punctuation kept as words (a lone dash as "-")."""
    text = text.lower().replace("’", "'").replace("w/o", " without ")
    text = re.sub(r"(?<=[a-z])n't\b", " n't", text)
    return [t.strip() or t for t in _TOKEN.findall(text)]


def _index(entries: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...]) -> list[tuple[list[str], tuple[str, ...]]]:
    """(phrase as words, attributes), longest phrases first so "facial hair" wins over a shorter match."""
    rows = [(phrase.split(), attributes) for phrases, attributes in entries for phrase in phrases]
    return sorted(rows, key=lambda row: -len(row[0]))


_LEXICON, _SELF_NEGATING = _index(LEXICON), _index(SELF_NEGATING)


def _match(words: list[str], at: int, index) -> tuple[int, tuple[str, ...]]:
    """(length, attributes) of the longest phrase of ``index`` starting at ``words[at]``; (0, ()) when none."""
    for phrase, attributes in index:
        end = at + len(phrase)
        if end > len(words) or words[at : end - 1] != phrase[:-1]:
            continue
        if words[end - 1] in (phrase[-1], phrase[-1] + "s", phrase[-1] + "es"):
            return len(phrase), attributes
    return 0, ()


def _clauses(words: list[str]) -> list[list[str]]:
    """Rule 2: the words between clause punctuation."""
    clauses, current = [], []
    for w in words:
        if w in CLAUSE_ENDS:
            clauses.append(current)
            current = []
        elif w != ":":
            current.append(w)
    return [c for c in (*clauses, current) if c]


def _is_cue(clause: list[str], i: int, cancelled: set[int]) -> bool:
    """Rule 3: whether ``clause[i]`` starts a negation."""
    word = clause[i]
    following = clause[i + 1] if i + 1 < len(clause) else ""
    if i in cancelled or (i > 0 and clause[i - 1] == "or"):
        return False
    if word == "free":
        return following in ("of", "from")
    return word in NEGATORS and following not in NOT_NEGATIONS.get(word, ())


def negated_attributes(text: str) -> frozenset[str]:
    """The CelebA attributes (``t2f.attributes.READ_ATTRIBUTES`` names; No_Beard for a negated beard) that
    the words of ``text`` negate, by the rule in this module's docstring.

    >>> sorted(negated_attributes("my brother, 30s, shaved head, big beard, no glasses"))
    ['Eyeglasses']
    >>> sorted(negated_attributes("no glasses but a big smile"))
    ['Eyeglasses']
    """
    found: list[tuple[str, ...]] = []  # the attributes of each negated word
    named: set[str] = set()  # attributes named outside a negation ("no facial hair but a mustache")
    for clause in _clauses(_words(text)):
        in_scope: set[int] = set()
        cancelled: set[int] = set()
        for i in range(len(clause)):
            if not _is_cue(clause, i, cancelled):
                continue
            j = i + 1
            while j < len(clause) and not (clause[j] in SCOPE_ENDS and not (clause[j] == "with" and j == i + 1)):
                if clause[j] == "without" and clause[i] in _NOT_LIKE:  # "never without his glasses"
                    cancelled.add(j)
                    break
                length, attributes = _match(clause, j, _LEXICON)
                found.append(attributes)
                in_scope.update(range(j, j + max(length, 1)))
                j += max(length, 1)
            if j == i + 1 and clause[i] in ("no", "none") and j == len(clause):  # rule 4: "glasses: none"
                found.extend(_match(clause, k, _LEXICON)[1] for k in range(i))
        for k in range(len(clause)):
            if k in in_scope:  # rule 5 too: not when negated itself ("not clean-shaven")
                continue
            length, attributes = _match(clause, k, _LEXICON)
            if length and k + length < len(clause) and clause[k + length] == "free":  # rule 4: "makeup-free"
                found.append(attributes)
            else:
                named.update(attributes)
            length, attributes = _match(clause, k, _SELF_NEGATING)
            before, after = clause[k - 1] if k else "", clause[k + length] if k + length < len(clause) else ""
            if not (clause[k] in ("shaved", "shaven") and {before, after} & NOT_THE_FACE):  # "a shaved head"
                found.append(attributes)
    # Rule 6: a word that negates one attribute always does; a group word, each member not named elsewhere.
    return frozenset(a for attributes in found for a in attributes if len(attributes) == 1 or a not in named)
