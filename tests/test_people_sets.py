"""The two held-out people's sets (train/eval/people_descriptions.json, written for the project, and
train/eval/people_public_domain.json, quoted from public-domain novels) and caption_coverage, which measures
how much of a set's attribute wording the caption writer also writes."""

import json
from collections import Counter

import pytest

from t2f.captions import ATTRIBUTES, EXCLUDED
from train.eval.people import (
    PEOPLE_FILE, PUBLIC_DOMAIN_FILE, Description, attribute_phrases, caption_coverage, caption_writes, load_people,
    people_report,
)  # fmt: skip


def test_public_domain_set_loads_with_sources_and_the_attributes_it_promises():
    descriptions, neutral = load_people(PUBLIC_DOMAIN_FILE)
    assert len(descriptions) >= 150 and neutral == []
    assert len({d.text for d in descriptions}) == len(descriptions)
    assert all(set(d.negated) <= set(d.claims) for d in descriptions)
    assert all(set(d.claims) <= set(ATTRIBUTES) - EXCLUDED for d in descriptions)
    entries = json.loads(PUBLIC_DOMAIN_FILE.read_text(encoding="utf-8"))["descriptions"]
    assert len(entries) == len(descriptions)
    for entry in entries:
        source = entry["source"]
        assert all(isinstance(source[k], str) and source[k].strip() for k in ("work", "author", "repo", "path")), entry
        assert "/" in source["repo"] and 1800 <= source["year"] <= 1929 and isinstance(source["gutenberg"], int)
    # What the set was collected for: both sexes, all ages, and the attributes people name and negate.
    said = Counter((k, v) for d in descriptions for k, v in d.claims.items())
    assert said[("Male", 0)] >= 40 and said[("Male", 1)] >= 40 and said[("Young", 0)] >= 25 and said[("Young", 1)] >= 25
    assert said[("Eyeglasses", 1)] >= 25 and said[("Gray_Hair", 1)] >= 25 and said[("Bald", 1)] >= 20
    assert said[("Mustache", 1)] + said[("No_Beard", 0)] >= 25 and said[("Wearing_Hat", 1)] >= 20
    assert sum(bool(d.negated) for d in descriptions) >= 15
    assert len({e["source"]["work"] for e in entries}) >= 10


def test_first_set_still_loads_as_before_and_only_it_feeds_the_dilution_probes(tmp_path):
    descriptions, neutral = load_people()
    assert len(descriptions) >= 150 and len(neutral) >= 40 and PEOPLE_FILE != PUBLIC_DOMAIN_FILE
    # A file without neutral sentences loads; one that has the key must give some.
    entry = {"text": "a man", "claims": {"Male": 1}}
    bare, empty = tmp_path / "bare.json", tmp_path / "empty.json"
    bare.write_text(json.dumps({"descriptions": [entry]}))
    empty.write_text(json.dumps({"descriptions": [entry], "neutral_sentences": []}))
    assert load_people(bare) == ([Description("a man", {"Male": 1}, (), ())], [])
    with pytest.raises(ValueError, match="needs descriptions and neutral_sentences"):
        load_people(empty)
    # The dilution probes pad with neutral sentences: a set without them is refused before any face is drawn.
    with pytest.raises(ValueError, match="dilution probes need neutral sentences"):
        people_report(None, None, load_people(PUBLIC_DOMAIN_FILE), {})


def test_caption_writes_only_its_own_phrases_as_whole_words():
    assert caption_writes("spectacles") and caption_writes("Grey hair") and caption_writes("without a hat")
    assert caption_writes("25-year-old") and caption_writes("clean-shaven")
    assert not caption_writes("without his hat") and not caption_writes("grey-headed") and not caption_writes("bonnet")
    assert not caption_writes("shaven")  # inside "clean-shaven" only: a hyphen is part of a word
    assert attribute_phrases("An old man, grey-headed, his hair quite white; an old coat.", "Gray_Hair") == [
        "grey-headed", "hair quite white",
    ]  # fmt: skip
    assert attribute_phrases("He wore no whiskers.", "Sideburns") == ["no whiskers"]


def test_caption_coverage_on_a_tiny_set():
    tiny = [
        Description("An old gentleman in spectacles and a bonnet.", {"Male": 1, "Young": 0, "Eyeglasses": 1, "Wearing_Hat": 1}, (), ()),
        Description("A clean-shaven man without his hat, grey-headed.", {"Male": 1, "No_Beard": 1, "Wearing_Hat": 0, "Gray_Hair": 1}, ("No_Beard", "Wearing_Hat"), ()),
        Description("She is smiling.", {"Male": 0, "Smiling": 1}, (), ()),
    ]  # fmt: skip
    report = caption_coverage(tiny)
    # Written by the caption writer: gentleman, old, spectacles, man, clean-shaven, smiling; not: bonnet,
    # "without his hat", grey-headed. "She" is no attribute phrase: the Male claim it makes is unmatched.
    assert (report["descriptions"], report["phrases"], report["covered"]) == (3, 9, 6)
    assert report["share"] == pytest.approx(6 / 9) and report["unmatched_claims"] == 1
    assert report["per_attribute"]["Wearing_Hat"] == {"claims": 2, "unmatched_claims": 0, "phrases": 2, "covered": 0, "share": 0.0}
    assert report["per_attribute"]["Male"] == {"claims": 3, "unmatched_claims": 1, "phrases": 2, "covered": 2, "share": 1.0}
    assert report["per_attribute"]["Eyeglasses"]["share"] == 1.0
    assert {(u["attribute"], u["phrase"]) for u in report["uncovered"]} == {
        ("Wearing_Hat", "bonnet"), ("Wearing_Hat", "without his hat"), ("Gray_Hair", "grey-headed"),
    }  # fmt: skip
    assert caption_coverage([])["share"] is None


def test_the_caption_writer_covers_the_first_set_more_than_the_authors_words():
    first = caption_coverage(load_people()[0])
    authors = caption_coverage(load_people(PUBLIC_DOMAIN_FILE)[0])
    assert first["phrases"] >= 500 and authors["phrases"] >= 500
    assert first["share"] > authors["share"] + 0.1
