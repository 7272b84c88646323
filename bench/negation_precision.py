"""What the pipeline steers away from, against what the words of people's descriptions negate.

    python -m bench.negation_precision                       # the shipped weights, the people's sets found
    python -m bench.negation_precision --weights weights --sets train/eval/people_descriptions.json

For each description of each held-out people's set (``train/eval/people_descriptions.json`` and, when it
exists, ``train/eval/people_public_domain.json``; each entry's ``claims`` and ``negated``: the claims its words
make by a negation), the read-out of the weights (``t2f.attributes``) reads the text faces are drawn from
(``TextToFace.face_text``), and three rules decide which attributes are negated:

- **read-out alone**: the negation output reads it (>= 0.5) and the stated output does not (before
  ``t2f.negation``; ``AttributeModel.read`` without the text);
- **read-out and words**: that, and ``t2f.negation.negated_attributes`` finds it negated in the words;
- **words alone** (shipped; ``AttributeModel.read`` with the text): ``t2f.negation`` finds it negated in the
  words, and the read-out's face gate is open.

The first table counts the attributes steered (those with an edit direction, ``negated_edits``, as
``TextToFace.codes`` steers them): steered, of those negated in the words (the entry's ``negated``), the
precision, the recall (negated claims with an edit direction that are steered), the steered attributes that
the entry does not claim either way (mostly what a group word implies: "clean-shaven" steers the mustache too),
and those that the words ask for as present (the entry claims them present). The second counts the same over every
attribute read "absent" (what the app's read-out table shows), direction or not.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from t2f import TextToFace
from t2f.attributes import EDITS, NEGATIVE, READ_ATTRIBUTES, TWO_SIDED, FACE, Reading, negated_edits
from t2f.files import DEFAULT_WEIGHTS_DIR
from t2f.negation import negated_attributes
from train.eval.people import PEOPLE_FILE, load_people

SETS = (PEOPLE_FILE, PEOPLE_FILE.with_name("people_public_domain.json"))
ONE_SIDED = tuple(a for a in READ_ATTRIBUTES if a not in TWO_SIDED)
STEERABLE = {e.attribute for e in EDITS} - set(TWO_SIDED)
RULES = ("read-out alone", "read-out and words", "words alone (shipped)")


def _absent(pipe: TextToFace, text: str) -> dict[str, frozenset[str]]:
    """{rule: the one-sided attributes read absent in ``text``} for each of RULES."""
    face_text = pipe.face_text(text).text
    embedding = pipe.encode([face_text])[0].cpu()
    stated, negated, face = pipe.attributes.probabilities(embedding[None])
    in_words = negated_attributes(face_text)
    alone = {r.attribute for r in pipe.attributes.read(embedding) if r.status == "absent"} - set(TWO_SIDED)
    shipped = {r.attribute for r in pipe.attributes.read(embedding, face_text) if r.status == "absent"} - set(TWO_SIDED)
    assert shipped == (in_words if float(face[0]) >= FACE else frozenset())
    return dict(zip(RULES, (frozenset(alone), frozenset(alone & in_words), frozenset(shipped))))


def _steered(attributes: frozenset[str]) -> set[str]:
    """The attributes that ``TextToFace.codes`` steers away from when these are read absent."""
    readings = [Reading(a, "", "absent", 1.0) for a in attributes]
    by_name = {e.name: e.attribute for e in EDITS}
    return {by_name[name] for name in negated_edits(readings)}


def _asks_present(claims: dict[str, int], attribute: str) -> bool:
    return claims.get(attribute) == (0 if attribute in NEGATIVE else 1)


def _row(name: str, descriptions, picked: list[frozenset[str] | set[str]], among: set[str] | tuple[str, ...]) -> str:
    chosen = sum(len(p) for p in picked)
    hits = sum(len(p & set(d.negated)) for p, d in zip(picked, descriptions))
    claims = sum(len(set(d.negated) & set(among)) for d in descriptions)
    asked = sum(sum(_asks_present(d.claims, a) for a in p) for p, d in zip(picked, descriptions))
    unclaimed = sum(len(p - set(d.claims)) for p, d in zip(picked, descriptions))
    touched = sum(bool(p) for p in picked)
    precision = f"{hits / chosen:.3f}" if chosen else "-"
    recall = f"{hits / claims:.3f} ({hits}/{claims})" if claims else "-"
    return f"| {name} | {chosen} on {touched} | {hits} | {precision} | {recall} | {unclaimed} | {asked} |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", default=str(DEFAULT_WEIGHTS_DIR))
    parser.add_argument("--sets", nargs="+", default=[str(s) for s in SETS if s.is_file()])
    args = parser.parse_args()
    pipe = TextToFace.from_pretrained(args.weights, device="cpu")
    if pipe.attributes is None:
        raise SystemExit(f"{args.weights} has no read-out: {pipe.edit_problem}")
    header = (
        "| rule | steered (on descriptions) | negated in the words | precision | recall | not claimed either way "
        "| asked for as present |"
    )
    for path in args.sets:
        descriptions, _ = load_people(path)
        absent = [_absent(pipe, d.text) for d in descriptions]
        print(f"\n{Path(path).name}: {len(descriptions)} descriptions, {args.weights}\n")
        print("Steered (attributes with an edit direction)\n")
        print(header + "\n|---|---|---|---|---|---|---|")
        for rule in RULES:
            print(_row(rule, descriptions, [_steered(a[rule]) for a in absent], STEERABLE))
        print("\nRead absent (the read-out table: every one-sided attribute)\n")
        print(header.replace("steered (on", "read absent (on") + "\n|---|---|---|---|---|---|---|")
        for rule in RULES:
            print(_row(rule, descriptions, [a[rule] for a in absent], ONE_SIDED))


if __name__ == "__main__":
    main()
