"""What the words of a description negate (t2f.negation), and that only that is read absent and steered away from."""

import pytest
import torch

from t2f import TextToFace
from t2f.attributes import EDIT_NAMES, READ_ATTRIBUTES, TWO_SIDED, negated_edits
from t2f.negation import LEXICON, SELF_NEGATING, negated_attributes

BROTHER = "my brother, 30s, shaved head, big beard, no glasses"  # issue 37 item 4


@pytest.mark.parametrize(
    ("text", "negated"),
    [
        (BROTHER, {"Eyeglasses"}),  # the list item with "no", not the beard before it
        ("a man who is not smiling", {"Smiling"}),
        ("a smiling woman without a hat", {"Wearing_Hat"}),
        ("a woman with glasses", set()),
        ("no glasses but a big smile", {"Eyeglasses"}),
        ("no glasses and a big smile", {"Eyeglasses"}),
        ("no beard or mustache", {"No_Beard", "Mustache"}),
        ("neither glasses nor a hat", {"Eyeglasses", "Wearing_Hat"}),
        ("he doesn't wear glasses, has a beard", {"Eyeglasses"}),
        ("she isnt wearing a hat", {"Wearing_Hat"}),
        ("a man who never smiles", {"Smiling"}),
        ("w/o specs", {"Eyeglasses"}),
        ("a woman, no makeup, no hat", {"Heavy_Makeup", "Wearing_Hat"}),
        ("makeup-free, no jewellery", {"Heavy_Makeup", "Wearing_Earrings", "Wearing_Necklace"}),
        ("glasses: none", {"Eyeglasses"}),
        ("a clean-shaven man", {"No_Beard"}),
        ("a bare-headed, unsmiling man", {"Wearing_Hat", "Smiling"}),
        ("he is not bald", {"Bald"}),
        ("a shaved man with glasses", {"No_Beard"}),
        ("no facial hair", {"No_Beard", "Goatee", "Mustache", "5_o_Clock_Shadow", "Sideburns"}),
        # A group word leaves alone what the text names: the mustache, the earrings.
        ("no facial hair but a mustache", {"No_Beard", "Goatee", "5_o_Clock_Shadow", "Sideburns"}),
        ("no jewelry except earrings", {"Wearing_Necklace"}),
        # Not negations: a choice, a double negation, a negated negation, an idiom, a shaved head.
        ("with or without glasses", set()),
        ("never without his glasses", set()),
        ("he is not clean-shaven", set()),
        ("I can't remember if he had glasses", set()),
        ("not only glasses but also a hat", set()),
        ("a man with a shaved head", set()),
        ("his head shaved, big beard", set()),
        ("a serious man in a suit", set()),
    ],
)
def test_the_rule_finds_what_the_words_negate(text, negated):
    assert negated_attributes(text) == negated


def test_the_lexicon_names_only_attributes_that_can_be_read_absent():
    one_sided = set(READ_ATTRIBUTES) - set(TWO_SIDED)
    named = {a for _, attributes in (*LEXICON, *SELF_NEGATING) for a in attributes}
    assert named == one_sided  # each one-sided attribute, and nothing else


@pytest.fixture(scope="module")
def shipped() -> TextToFace:
    return TextToFace.from_pretrained()


def test_a_negation_in_a_comma_list_reads_and_steers_as_a_negation(shipped):
    read = {r.said: r.status for r in shipped.read(BROTHER)}
    assert read["glasses"] == "absent" and read["beard"] != "absent"
    assert negated_edits(shipped.read(BROTHER)) == {"eyeglasses": -1.0}
    plain = shipped.text_codes(shipped.encode([BROTHER]))
    moved = (shipped.codes([BROTHER]) - plain)[0]
    u = shipped.attributes.directions[EDIT_NAMES.index("eyeglasses")]
    assert float(moved @ u) < 0 and torch.allclose(moved - (moved @ u) * u, torch.zeros_like(u), atol=1e-4)


@pytest.mark.parametrize("text", ["a man with a shaved head", "a man in a suit", "a plain face"])
def test_a_description_without_a_negation_word_steers_nothing(shipped, text):
    """The read-out's negation output alone read these as negating a beard, a smile or makeup."""
    embedding = shipped.encode([text])[0].cpu()
    assert negated_edits(shipped.attributes.read(embedding)) != {}  # the probe alone, as it steered before
    assert all(r.status != "absent" or r.attribute in TWO_SIDED for r in shipped.read(text))
    assert torch.equal(shipped.codes([text]), shipped.text_codes(shipped.encode([text])))
