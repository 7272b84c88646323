"""Reading and editing attributes (t2f.attributes, train.publish.attributes, TextToFace.read/edit, the CLI's --edit).

The read-out and directions come from ``tiny_edit_weights`` (conftest): a tiny random generator, and a probe
trained on 480 real captions of random attribute vectors and their claims, so the read-out is really learned
from captions.
"""

import dataclasses
import json
import re
import shutil

import numpy as np
import pytest
import torch

from t2f import FaceText, Generator, TextToFace
from t2f.__main__ import main
from t2f.attributes import EDIT_NAMES, EDITS, FACE, FORMAT
from t2f.files import ATTRIBUTES_CONFIG_NAME, ATTRIBUTES_NAME
from t2f.text import get_text_encoder
from train.publish.attributes import FREE_DESCRIPTIONS, build_attribute_model, matched_captions

from conftest import random_attributes, tiny_config

TEXT = "an old man with gray hair, glasses and a mustache"


@pytest.fixture(scope="module")
def pipe(tiny_edit_weights) -> TextToFace:
    return TextToFace.from_pretrained(tiny_edit_weights)


def pixels(face) -> np.ndarray:
    return np.asarray(face.images[128])


def read(pipe, text) -> dict[str, str]:
    return {r.said: r.status for r in pipe.read(text)}


def test_free_descriptions_read_as_people_say_them(pipe):
    old = read(pipe, "an old man with a beard")
    assert (old["older"], old["young"], old["beard"], old["man"]) == ("present", "absent", "present", "present")
    assert old["glasses"] == "not said"
    young = read(pipe, "a smiling young woman with wavy blond hair")
    assert [young[w] for w in ("young", "woman", "smiling", "blond hair", "beard")] == ["present"] * 4 + ["not said"]


def test_the_read_out_meets_most_hand_written_expectations(pipe):
    met = [read(pipe, text)[said] == want for text, expected in FREE_DESCRIPTIONS for said, want in expected.items()]
    assert sum(met) / len(met) >= 0.8, f"{sum(met)} of {len(met)}"  # from 480 captions
    probe = pipe.attributes.info["probe"]
    assert probe["held_out_mean"]["accuracy"] > probe["held_out_mean"]["majority_baseline"]


def test_a_closed_face_gate_reads_nothing_of_what_the_probes_find(pipe):
    model = pipe.attributes
    embedding = pipe.encode([TEXT])[0].cpu()
    assert float(model.probabilities(embedding[None])[2]) >= 0.5
    assert {"older", "man"} <= {r.said for r in model.read(embedding) if r.status == "present"}
    closed = dataclasses.replace(model, probe_bias=torch.cat([model.probe_bias[:-1], torch.tensor([-100.0])]))
    assert all(r.status == "not said" for r in closed.read(embedding))
    assert [r.said for r in closed.read(embedding)] != []  # every attribute still listed, with its probability
    gate = model.info["probe"]["face_gate_held_out"]  # 160 images' captions and 300 off-topic texts
    assert gate["captions_open"] > 0.9 and gate["off_topic_closed"] > 0.9


def test_all_strengths_zero_is_exactly_the_plain_face(pipe):
    plain = pixels(pipe(TEXT, 7))
    np.testing.assert_array_equal(pixels(pipe.edit(TEXT, 7, {})), plain)
    np.testing.assert_array_equal(pixels(pipe.edit(TEXT, 7, dict.fromkeys(EDIT_NAMES, 0.0))), plain)


def test_edits_are_deterministic_and_change_the_face(pipe):
    strengths = {"smiling": 0.8, "age": -0.5}
    a, b = pipe.edit(TEXT, 7, strengths, return_tensors=True), pipe.edit(TEXT, 7, strengths, return_tensors=True)
    assert type(a) is type(pipe(TEXT, 7)) and sorted(a.images) == pipe.scales and a.seed == 7
    for r in pipe.scales:
        assert torch.equal(a.tensors[r], b.tensors[r])
    assert not np.array_equal(pixels(a), pixels(pipe(TEXT, 7)))
    assert not np.array_equal(pixels(pipe.edit(TEXT, 7, {"smiling": -0.8})), pixels(a))


@pytest.mark.parametrize(
    ("strengths", "message"),
    [
        ({"smile": 0.5}, r"unknown attribute\(s\) \['smile'\].*'age', 'smiling', 'eyeglasses'"),
        ({"smiling": 1.5}, r"strength of 'smiling' must be a number in \[-1, 1\], got 1.5"),
        ({"age": float("nan")}, r"must be a number in \[-1, 1\]"),
        ({"age": True}, r"must be a number in \[-1, 1\]"),
        ("smiling=1", "strengths must be a dict"),
    ],
)
def test_bad_strengths_name_what_is_allowed(pipe, strengths, message):
    with pytest.raises(ValueError, match=message):
        pipe.edit(TEXT, 1, strengths)


@pytest.mark.parametrize(
    ("edit", "words"),
    [
        ("eyeglasses", ("glasses", "spectacles", "specs", "bespectacled")),
        ("smiling", ("smil", "grin", "beam")),
        ("hat", ("hat", "cap", "beanie")),
        ("mustache", ("mustache", "moustache")),
        ("earrings", ("earring",)),
    ],
)
def test_matched_captions_state_the_edited_attribute_on_the_plus_side(edit, words):
    """Captions name only some attributes: every +1 caption of a pair still says the edited one."""
    direction = next(e for e in EDITS if e.name == edit)
    toward, away = matched_captions(direction, random_attributes(32, seed=5), seed=2)
    assert all(any(w in text.lower() for w in words) for text in toward), toward
    assert all(plus != minus for plus, minus in zip(toward, away))
    assert (toward, away) == matched_captions(direction, random_attributes(32, seed=5), seed=2)


def test_a_step_moves_one_direction_length_and_never_past_the_training_range(pipe):
    model = pipe.attributes
    code = pipe.text_codes(pipe.encode([TEXT]))
    for k, name in enumerate(EDIT_NAMES):
        u, step, high = model.directions[k], float(model.step[k]), float(model.high[k])
        t = float(code[0] @ u)
        moved = model.edit_codes(code, {name: 1.0})
        assert float(moved[0] @ u) == pytest.approx(min(t + step, max(t, high)), abs=1e-4)
        rest = moved - code - ((moved - code) @ u)[:, None] * u  # nothing moves but the direction's part
        assert rest.abs().max() < 1e-4
        pushed = code
        for _ in range(20):
            pushed = model.edit_codes(pushed, {name: 1.0})
        assert float(pushed[0] @ u) <= max(t, high) + 1e-4


def test_without_the_attribute_file_edit_and_read_name_the_command(tiny_weights):
    pipe = TextToFace.from_pretrained(tiny_weights)
    assert pipe.attributes is None and "python -m train attributes" in pipe.edit_problem
    with pytest.raises(FileNotFoundError, match=f"no {ATTRIBUTES_NAME}.*python -m train attributes --weights"):
        pipe.edit(TEXT, 1, {"smiling": 0.5})
    with pytest.raises(FileNotFoundError, match="python -m train attributes"):
        pipe.read(TEXT)


def test_directions_of_another_generator_are_refused(tiny_edit_weights, tmp_path):
    shutil.copytree(tiny_edit_weights, tmp_path, dirs_exist_ok=True)
    torch.manual_seed(1)
    Generator(tiny_config()).save_pretrained(tmp_path)  # retrained: another text projection
    pipe = TextToFace.from_pretrained(tmp_path)
    with pytest.raises(ValueError, match="built for another generator.*rebuild them with `python -m train attributes"):
        pipe.edit(TEXT, 1, {"smiling": 0.5})
    assert read(pipe, "an old man with a beard")["beard"] == "present"  # the read-out does not depend on it


def test_a_broken_attribute_file_turns_off_only_its_part_and_is_named(tiny_edit_weights, tmp_path, pipe):
    shutil.copytree(tiny_edit_weights, tmp_path, dirs_exist_ok=True)
    (tmp_path / ATTRIBUTES_NAME).write_bytes(b"not safetensors")
    with pytest.warns(UserWarning, match=f"{ATTRIBUTES_NAME} is not a readable safetensors file"):
        broken = TextToFace.from_pretrained(tmp_path)
    unsteered = TextToFace.from_pretrained(tiny_edit_weights, negation_strength=0)  # no read-out: nothing to steer by
    np.testing.assert_array_equal(pixels(broken(TEXT, 3)), pixels(unsteered(TEXT, 3)))  # the model still draws
    assert broken.attributes is None and f"{ATTRIBUTES_NAME} is not a readable safetensors file" in broken.edit_problem
    with pytest.raises(FileNotFoundError, match="could not be loaded.*not a readable safetensors file"):
        broken.edit(TEXT, 1, {"smiling": 0.5})
    with pytest.raises(FileNotFoundError, match="could not be loaded"):
        broken.read(TEXT)
    (tmp_path / ATTRIBUTES_CONFIG_NAME).unlink()
    with pytest.warns(UserWarning, match=f"{ATTRIBUTES_CONFIG_NAME} is missing"):
        assert "is missing" in TextToFace.from_pretrained(tmp_path).edit_problem


def test_an_old_format_attribute_file_asks_for_a_rebuild(tiny_edit_weights, tmp_path):
    shutil.copytree(tiny_edit_weights, tmp_path, dirs_exist_ok=True)
    info = json.loads((tmp_path / ATTRIBUTES_CONFIG_NAME).read_text())
    (tmp_path / ATTRIBUTES_CONFIG_NAME).write_text(json.dumps({**info, "format": "t2f-attributes-1"}))
    with pytest.warns(UserWarning, match=f"not a {FORMAT} file.*rebuild it with `python -m train attributes"):
        TextToFace.from_pretrained(tmp_path)


def test_rebuilding_from_the_same_model_gives_the_same_files(tiny_weights, tmp_path, monkeypatch):
    from t2f.attributes import save_attribute_model
    from t2f.captions import describe
    from train.data.pack import claim_tensor

    monkeypatch.setattr("train.publish.attributes.PROBE_MIN_STEPS", 50)  # sameness needs no accuracy: 10x fewer steps

    attributes = random_attributes(40, seed=3)
    described = [describe(row.tolist(), seed=i) for i, row in enumerate(attributes)]
    encoder = get_text_encoder()
    embeddings = encoder.encode([c.text for c in described])[:, None]
    claims = claim_tensor([c.claims for c in described])[:, None]
    files = []
    for run in ("a", "b"):
        folder = tmp_path / run
        folder.mkdir()
        generator = Generator.from_folder(tiny_weights)
        model = build_attribute_model(
            generator, encoder, embeddings, attributes, claims, vectors=3, off_topic=40, open_gender=40, sentences=40
        )
        save_attribute_model(model, folder)
        files.append([(folder / name).read_bytes() for name in (ATTRIBUTES_NAME, ATTRIBUTES_CONFIG_NAME)])
    assert files[0] == files[1]


def test_cli_edits_the_face(tiny_edit_weights, tmp_path, pipe, capsys):
    out = tmp_path / "face.png"
    args = ["a smiling woman", "--seed", "7", "--weights", str(tiny_edit_weights), "--out", str(out)]
    assert main([*args, "--edit", "smiling=0.8", "age=-0.5"]) == 0
    from PIL import Image

    expected = pipe.edit("a smiling woman", 7, {"smiling": 0.8, "age": -0.5})
    np.testing.assert_array_equal(np.asarray(Image.open(out)), pixels(expected))
    capsys.readouterr()
    assert main([*args, "--edit", "smiling"]) == 2
    assert "--edit takes NAME=STRENGTH pairs such as smiling=0.8, got 'smiling'" in capsys.readouterr().err
    assert main([*args, "--edit", "grin=0.5"]) == 2
    assert "the attributes that can be edited are ['age'" in capsys.readouterr().err


def test_the_shipped_read_out_reads_negations_as_absent_and_other_topics_as_nothing():
    """The shipped probes (trained on the v2 captions' claims and on off-topic texts), on the issue's examples."""
    shipped = TextToFace.from_pretrained()
    no_beard = read(shipped, "a man with no beard")
    assert (no_beard["beard"], no_beard["man"]) == ("absent", "present")
    assert read(shipped, "a woman without glasses")["glasses"] == "absent"
    assert read(shipped, "a bearded man")["beard"] == "present"
    # Both outputs of the 256-unit probe fired here, and presence won; the 1024-unit one reads the negation.
    assert read(shipped, "a man who is not smiling")["smiling"] == "absent"
    assert read(shipped, "a man who is not wearing a hat")["hat"] == "absent"
    assert read(shipped, "a person")["man"] == "not said"  # the caption writer always says which: see ungendered()
    # The face gate: the 256-unit probe without it read "hello" as young.
    for text in ("a photo of a red sports car", "😀😀😀", "asdfgh qwerty", "hello", "a bowl of soup on a wooden table"):
        assert all(r.status == "not said" for r in shipped.read(text)), text
    probe = shipped.attributes.info["probe"]
    assert probe["off_topic"]["held_out_nothing"] > 0.95 and probe["negation_held_out_mean"]["balanced_accuracy"] > 0.9


@pytest.mark.parametrize(
    ("attribute", "said", "status", "key"),
    [
        ("Eyeglasses", "glasses", "present", "Eyeglasses"),
        ("Eyeglasses", "glasses", "absent", "not Eyeglasses"),
        ("No_Beard", "beard", "present", "not No_Beard"),
        ("No_Beard", "beard", "absent", "No_Beard"),
        ("Male", "woman", "present", "not Male"),
        ("Young", "older", "present", "not Young"),
        ("Young", "young", "present", "Young"),
    ],
)
def test_claim_keys_name_what_the_face_should_show(attribute, said, status, key):
    from t2f.attributes import Reading, claim_key

    assert claim_key(Reading(attribute, said, status, 0.9)) == key


def test_claim_targets_leave_an_unsaid_age_open_and_train_every_caption():
    from t2f.attributes import READ_ATTRIBUTES
    from t2f.captions import ATTRIBUTES
    from train.publish.attributes import claim_targets

    claims = torch.full((3, len(ATTRIBUTES)), -1, dtype=torch.int8)
    young, glasses, beard = (ATTRIBUTES.index(a) for a in ("Young", "Eyeglasses", "No_Beard"))
    claims[0, young], claims[2, young] = 1, 0  # "a young ...", the second caption says no age, "an older ..."
    claims[1, glasses], claims[2, beard] = 0, 1  # "without glasses", "clean-shaven"
    targets, mask, negated, negation_mask = claim_targets(claims)
    col = {a: READ_ATTRIBUTES.index(a) for a in ("Young", "Eyeglasses", "No_Beard")}
    assert targets[:, col["Young"]].tolist() == [1.0, 0.5, 0.0] and bool(mask.all())
    assert targets[:, col["Eyeglasses"]].tolist() == [0.0, 0.0, 0.0] and negated[:, col["Eyeglasses"]].tolist() == [0, 1, 0]
    # No_Beard's output is 1 unless a beard is stated ("beard" reads as 1 - p): clean-shaven is 1, and negated.
    assert targets[:, col["No_Beard"]].tolist() == [1.0, 1.0, 1.0] and negated[:, col["No_Beard"]].tolist() == [0, 0, 1]
    assert not negation_mask[:, col["Young"]].any() and negation_mask[:, col["Eyeglasses"]].all()


def test_off_topic_texts_are_seeded_and_of_every_kind():
    from train.publish.off_topic import KINDS, off_topic_texts

    texts = off_topic_texts(200, seed=3)
    assert texts == off_topic_texts(200, seed=3) and texts != off_topic_texts(200, seed=4)
    assert {t.kind for t in texts} == set(KINDS) and len({t.text for t in texts}) > 150
    for t in texts:
        pronoun = re.search(r"\b(he|she|his|her)\b", t.text, re.I)
        assert not pronoun or t.states_gender, t
        assert t.states_gender <= (t.kind == "person"), t
    assert any(t.kind == "person" and not t.states_gender for t in texts)  # "The weather was sunny ..."


def test_negated_edits_point_away_from_each_negated_attribute_that_has_a_direction():
    from t2f.attributes import Reading, negated_edits

    readings = [
        Reading("No_Beard", "beard", "absent", 0.9),  # "no beard": +1 on "beard" is a beard, so -1
        Reading("Eyeglasses", "glasses", "absent", 0.8),
        Reading("Wearing_Hat", "hat", "absent", 0.9),
        Reading("Smiling", "smiling", "present", 0.9),  # said, not negated
        Reading("Young", "young", "absent", 0.9),  # the other side ("older") is what the text says
        Reading("Wearing_Necklace", "necklace", "absent", 0.9),  # no edit direction for necklaces
        Reading("Bald", "bald", "not said", 0.1),
    ]
    assert negated_edits(readings) == {"beard": -1.0, "eyeglasses": -1.0, "hat": -1.0}
    assert negated_edits(readings[3:]) == {}


def test_steering_moves_a_share_of_the_way_to_the_end_of_the_range_and_never_back(pipe):
    model = pipe.attributes
    k = EDIT_NAMES.index("eyeglasses")
    u, low, high = model.directions[k], float(model.low[k]), float(model.high[k])
    base = torch.randn(3, u.shape[0], generator=torch.Generator().manual_seed(0))
    base = base - (base @ u)[:, None] * u  # positions along u: high + 1, the middle of the range, low - 1
    codes = base + torch.tensor([high + 1, (low + high) / 2, low - 1])[:, None] * u
    steered = model.steer_codes(codes, {"eyeglasses": -1.0}, 0.5)
    t = steered @ u
    assert t.tolist() == pytest.approx([(high + 1 + low) / 2, ((low + high) / 2 + low) / 2, low - 1], abs=1e-4)
    assert torch.allclose(steered - t[:, None] * u, base, atol=1e-4)  # nothing else moves
    assert float(model.steer_codes(codes, {"eyeglasses": -1.0}, 1.0)[0] @ u) == pytest.approx(low, abs=1e-4)
    assert float(model.steer_codes(codes, {"eyeglasses": 1.0}, 1.0)[2] @ u) == pytest.approx(high, abs=1e-4)
    assert torch.equal(model.steer_codes(codes, {}, 1.0), codes)


def test_the_shipped_pipeline_steers_away_from_what_a_description_negates(tmp_path, capsys):
    from t2f.attributes import NEGATION_STRENGTH

    shipped = TextToFace.from_pretrained()
    assert shipped.steers and shipped.negation_strength == NEGATION_STRENGTH
    k = EDIT_NAMES.index("smiling")
    u, low = shipped.attributes.directions[k], float(shipped.attributes.low[k])
    negated = "a woman who is not smiling"
    plain = shipped.text_codes(shipped.encode([negated]))
    said, unsaid = shipped.text_codes(shipped.encode(["a smiling woman", "a woman"]))
    # Why steer: the code of "not smiling" lies nearer "smiling" than "a woman" (which says nothing).
    assert float((plain[0] - unsaid) @ u) > 0.5 * float((said - unsaid) @ u)
    moved = shipped.codes([negated]) - plain
    assert float((plain[0] + moved[0]) @ u) == pytest.approx(low + (1 - NEGATION_STRENGTH) * float(plain[0] @ u - low), abs=1e-3)
    assert torch.allclose(moved[0] - (moved[0] @ u) * u, torch.zeros_like(u), atol=1e-4)  # only along smiling
    assert torch.equal(shipped.codes(["a smiling woman"]), said[None])  # negates nothing: the plain code
    steered = pixels(shipped(negated, 5))
    shipped.negation_strength = 0.0  # off: the plain generator's code, bit for bit
    assert not shipped.steers and torch.equal(shipped.codes([negated]), plain)
    assert not np.array_equal(pixels(shipped(negated, 5)), steered)
    # The command line steers by default, and --negation-strength 0 turns it off.
    from PIL import Image

    for strength, expected in (([], steered), (["--negation-strength", "0"], pixels(shipped(negated, 5)))):
        assert main([negated, "--seed", "5", "--out", str(tmp_path / "f.png"), *strength]) == 0
        np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "f.png")), expected)


def test_negation_strength_is_checked_and_needs_the_attribute_file(tiny_weights):
    with pytest.raises(ValueError, match=r"negation strength must be a number in \[0, 1\]"):
        TextToFace.from_pretrained(tiny_weights, negation_strength=3)
    bare = TextToFace.from_pretrained(tiny_weights)
    assert bare.negation_strength > 0 and not bare.steers  # no attributes.safetensors: plain codes
    assert torch.equal(bare.codes(["a man with no beard"]), bare.text_codes(bare.encode(["a man with no beard"])))


def test_ungendered_captions_say_neither_man_nor_woman_and_claim_no_gender():
    from t2f.captions import ATTRIBUTES
    from train.publish.attributes import ungendered, ungendered_captions

    assert ungendered("A young man. His hair is gray. He is a pilot; Anna met him.") == (
        "A young person. Their hair is gray. They is a pilot; Someone met them."
    )
    texts, claims = ungendered_captions(random_attributes(40), 60, seed=2)
    gendered = re.compile(r"\b(man|woman|guy|lady|gentleman|fellow|male|female|he|she|his|her|him|boy|girl)\b", re.I)
    assert len(texts) == 60 and not [t for t in texts if gendered.search(t)]
    assert (claims[:, ATTRIBUTES.index("Male")] == -1).all() and (claims >= 0).any()
    assert (texts, claims.tolist()) == (lambda t, c: (t, c.tolist()))(*ungendered_captions(random_attributes(40), 60, seed=2))


def test_sentences_split_as_written_and_not_after_common_abbreviations():
    from t2f.text.base import split_sentences

    assert split_sentences("Our neighbour Mr. Okafor is a postman. He is bald, e.g. no hair at all! Is he old?") == [
        "Our neighbour Mr. Okafor is a postman.", "He is bald, e.g. no hair at all!", "Is he old?",
    ]  # fmt: skip
    assert split_sentences("a man, 60s, grey beard") == ["a man, 60s, grey beard"]


OFF_TOPIC = "They work as an accountant in Leeds."
GRAY = "A man with gray hair."


def test_the_shipped_pipeline_draws_from_the_sentences_that_describe_a_face(tmp_path, capsys):
    shipped = TextToFace.from_pretrained()
    assert shipped.leaves_out
    padded = f"{OFF_TOPIC} {GRAY} The photo was taken in a park."
    assert shipped.face_text(padded) == FaceText(GRAY, (OFF_TOPIC, "The photo was taken in a park."))
    face = shipped(padded, 3, return_tensors=True).tensors[128]
    assert torch.equal(face, shipped(GRAY, 3, return_tensors=True).tensors[128])  # the face of the rest, bit for bit
    assert shipped.read(padded) == shipped.read(GRAY)
    # One sentence, every sentence about the face (short ones too: the gate learnt caption sentences alone),
    # or none: the whole description.
    for text in (GRAY, "A bloke with specs. He is bald.", "A man with a white beard. He is old.", f"{OFF_TOPIC} Their name is Alex."):
        assert shipped.face_text(text) == FaceText(text)
    # The gate closes on "It's my dad.", but it is the only word on gender: the whole description.
    dad = "Someone with glasses and a hat. It's my dad."
    assert float(shipped.attributes.probabilities(shipped.encode(["It's my dad."]))[2][0]) < FACE
    assert shipped.face_text(dad) == FaceText(dad)
    # The whole description is held to the encoder's limit, though only part of it is encoded.
    with pytest.raises(ValueError, match="word pieces long"):
        shipped.face_text(" ".join([OFF_TOPIC] * 40 + [GRAY]))
    # Off: every sentence is encoded, as the plain generator reads them.
    keep = TextToFace.from_pretrained(leave_out_off_topic=False)
    assert not keep.leaves_out and keep.face_text(padded) == FaceText(padded)
    assert torch.equal(keep.codes([padded]), keep.text_codes(keep.encode([padded])))
    assert not torch.equal(keep(padded, 3, return_tensors=True).tensors[128], face)
    # The command line says what it left out, and --keep-off-topic keeps it.
    from PIL import Image

    for flag, expected in (([], shipped(padded, 3)), (["--keep-off-topic"], keep(padded, 3))):
        assert main([padded, "--seed", "3", "--out", str(tmp_path / "f.png"), *flag]) == 0
        np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "f.png")), pixels(expected))
        err = capsys.readouterr().err
        assert ("note: left out 2 sentence(s) that describe no face" in err) == (not flag)
        assert (repr(OFF_TOPIC) in err) == (not flag)


def test_without_an_attribute_file_nothing_is_left_out(tiny_weights):
    bare = TextToFace.from_pretrained(tiny_weights)
    assert bare.leave_out_off_topic and not bare.leaves_out
    assert bare.face_text(f"{OFF_TOPIC} {GRAY}") == FaceText(f"{OFF_TOPIC} {GRAY}")
    with pytest.raises(TypeError, match="a list of descriptions"):
        bare.codes(GRAY)


def test_face_sentences_are_caption_sentences_or_their_parts_never_neutral_ones(pipe):
    from t2f.captions import JOBS, PLACES
    from train.publish.attributes import face_sentences

    texts = face_sentences(random_attributes(50), 300, seed=0)
    assert texts == face_sentences(random_attributes(50), 300, seed=0) and len(texts) == 300
    assert all(t.endswith(".") for t in texts)
    assert sum(len(t.split()) <= 2 for t in texts) > 30  # parts of tag lists: "Glasses.", "No hat."
    assert not any(w in t for t in texts for w in (*JOBS, *PLACES))
    assert 0.5 < pipe.attributes.info["probe"]["face_gate_held_out"]["sentences_open"] <= 1.0
