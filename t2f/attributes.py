"""Reading and editing CelebA attributes through the text: what a description says, and sliders on a face.

Two things, learned from the data the generator was trained on and saved beside its weights as
``attributes.safetensors`` (tensors) + ``attributes.json`` (names, build facts, measured accuracy), built by
``python -m train attributes --weights DIR --pack PACK`` (see ``train/attributes.py``):

- **The read-out**: per caption attribute, two probes (one small MLP) from a description's (normalised)
  embedding: does the text state the attribute, and does it negate it ("no glasses", "clean-shaven").
  Trained on what the training captions claim, plus texts that describe no face (other topics, other
  languages, key mashes), it reads what the generator was taught to read: "old" as not Young, "a beard"
  as not No_Beard, "without glasses" as glasses absent. Given the text as well, what is absent is what the
  words negate (``t2f.negation``, a rule over the words), not the negation output: on people's descriptions
  the output read 211 attributes with an edit direction as negated, of which the words negated 116 (36
  asked for as present), and missed 66 of the 182 the words negate; the rule finds 179 of the 182 and 1
  other (precision 0.99, 1 asked for; ``bench/negation_precision.py``). A third output, the face gate,
  says whether the text describes a face at all (captions against those other texts); where it does not
  ("a red sports car"), nothing is read.
- **Directions** in the generator's text-code space (the mean code ``mu`` of its text conditioning): per
  editable attribute, the mean code of captions with it minus the mean code of matched captions without it.
  Moving a face's code along one, with the noise fixed, edits that attribute on the same face. Directions
  depend on the generator's text projection, so the file records a fingerprint of it and is refused by any
  other generator (rebuild after every retraining).

The strength scale: +1 moves the code by one direction length (what adding the attribute to the caption
does on average), but never past the 99.5th percentile of the training captions' codes along the direction
(-1: back by one length, never below the 0.5th): the edited code stays inside the range the generator saw.
"""

from __future__ import annotations

import hashlib
import json
import numbers
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor

from t2f.captions import ATTRIBUTES, EXCLUDED
from t2f.files import ATTRIBUTES_CONFIG_NAME, ATTRIBUTES_NAME, EVALUATION_NAME, read_json_object, read_state_dict
from t2f.model import Generator, ModelConfig, normalize_text
from t2f.negation import negated_attributes

FORMAT = "t2f-attributes-4"  # 2: MLP probes, the negation probe; 3: hat, mustache and earrings directions; 4: the face gate
BUILD_COMMAND = "python -m train attributes --weights WEIGHTS_FOLDER --pack TRAINING_PACK"
READ_ATTRIBUTES: tuple[str, ...] = tuple(a for a in ATTRIBUTES if a not in EXCLUDED)

# How people say each attribute: (the word when CelebA says 1, the word when it says 0). Captions name both
# sides of Male and Young ("a man"/"a woman", "young"/"older"); every other attribute only when present,
# except No_Beard, which captions name when it is false ("a beard").
TWO_SIDED = {"Male": ("man", "woman"), "Young": ("young", "older")}
NEGATIVE = {"No_Beard": "beard"}
SAID: dict[str, str] = {
    "5_o_Clock_Shadow": "stubble", "Arched_Eyebrows": "arched eyebrows", "Bags_Under_Eyes": "bags under the eyes",
    "Bald": "bald", "Bangs": "bangs", "Big_Lips": "big lips", "Big_Nose": "big nose", "Black_Hair": "black hair",
    "Blond_Hair": "blond hair", "Brown_Hair": "brown hair", "Bushy_Eyebrows": "bushy eyebrows", "Chubby": "chubby",
    "Double_Chin": "double chin", "Eyeglasses": "glasses", "Goatee": "goatee", "Gray_Hair": "gray hair",
    "Heavy_Makeup": "makeup", "High_Cheekbones": "high cheekbones", "Mouth_Slightly_Open": "open mouth",
    "Mustache": "mustache", "Narrow_Eyes": "narrow eyes", "Pale_Skin": "pale skin", "Pointy_Nose": "pointy nose",
    "Receding_Hairline": "receding hairline", "Rosy_Cheeks": "rosy cheeks", "Sideburns": "sideburns",
    "Smiling": "smiling", "Straight_Hair": "straight hair", "Wavy_Hair": "wavy hair", "Wearing_Earrings": "earrings",
    "Wearing_Hat": "hat", "Wearing_Lipstick": "lipstick", "Wearing_Necklace": "necklace", "Wearing_Necktie": "necktie",
}  # fmt: skip
assert set(SAID) | set(TWO_SIDED) | set(NEGATIVE) == set(READ_ATTRIBUTES)
# A two-sided attribute counts as said when its likelier side is at least this probable; nearer even, the
# description leaves it open (e.g. "a person with glasses" and gender) and the seed decides.
SURE = 0.75
# The face gate: below this probability that a text describes a face at all, nothing in it is read.
FACE = 0.5
# How far a description's code moves away from each attribute it negates: the share of the way to the end of
# the training codes' range on the absent side (AttributeModel.steer_codes; chosen by bench/reading_settings.py).
NEGATION_STRENGTH = 1.0
TENSOR_NAMES = ("hidden_weight", "hidden_bias", "probe_weight", "probe_bias", "directions", "step", "low", "high")


@dataclass(frozen=True)
class EditDirection:
    """An editable attribute: its name in ``edit``, the CelebA attribute and which way +1 moves it."""

    name: str
    attribute: str
    toward: bool  # +1 moves toward attribute = toward (False: "age" +1 is older, i.e. Young false)
    context: tuple[tuple[str, bool], ...] = ()  # attributes set on both sides of a matched pair
    clear: tuple[str, ...] = ()  # attributes absent on both sides (other hair colours for a hair colour)


_HAIR = ("Black_Hair", "Blond_Hair", "Brown_Hair", "Gray_Hair")
_FACIAL_HAIR = ("Goatee", "Mustache", "5_o_Clock_Shadow", "Sideburns")


def _hair(name: str, attribute: str) -> EditDirection:
    return EditDirection(name, attribute, True, clear=("Bald", *(h for h in _HAIR if h != attribute)))


EDITS: tuple[EditDirection, ...] = (
    EditDirection("age", "Young", False),
    EditDirection("smiling", "Smiling", True),
    EditDirection("eyeglasses", "Eyeglasses", True),
    EditDirection("beard", "No_Beard", False, context=(("Male", True),)),
    _hair("blond_hair", "Blond_Hair"),
    _hair("black_hair", "Black_Hair"),
    _hair("brown_hair", "Brown_Hair"),
    _hair("gray_hair", "Gray_Hair"),
    EditDirection("bald", "Bald", True, context=(("Male", True),)),
    EditDirection("makeup", "Heavy_Makeup", True, context=(("Male", False),)),
    EditDirection("lipstick", "Wearing_Lipstick", True, context=(("Male", False),)),
    EditDirection("hat", "Wearing_Hat", True),
    EditDirection("mustache", "Mustache", True, context=(("Male", True),)),
    EditDirection("earrings", "Wearing_Earrings", True, context=(("Male", False),)),
    # Gender alone: no beard and no makeup on either side, so the direction does not carry them along.
    EditDirection("male", "Male", True, context=(("No_Beard", True),), clear=("Heavy_Makeup", "Wearing_Lipstick", *_FACIAL_HAIR)),
)  # fmt: skip
EDIT_NAMES: tuple[str, ...] = tuple(e.name for e in EDITS)


@dataclass(frozen=True)
class Reading:
    """One attribute as read from a description: ``said`` is how people say the side read ("older",
    "beard"), ``status`` "present", "absent" or "not said", ``probability`` that of ``said``."""

    attribute: str
    said: str
    status: str
    probability: float


def _readings(
    attribute: str, p: float, negated: float, face: bool = True, in_words: bool | None = None
) -> list[Reading]:
    """The reading(s) of one attribute from the probes' probabilities that the text states it as 1 (``p``) and
    that it negates it (``negated``; not read for man/woman and young/older, whose two sides are both words);
    all "not said" where the text describes no ``face`` (the gate). ``in_words``: whether the text's words
    negate it (:func:`t2f.negation.negated_attributes`), which then decides "absent", whatever the probes read
    ("big beard, no glasses": glasses absent though the stated output reads them); None: the negation output
    decides (the probe alone). An absent reading's probability is the negation output's, either way."""
    if attribute in TWO_SIDED:
        yes, no = TWO_SIDED[attribute]
        if not face or max(p, 1 - p) < SURE:
            return [Reading(attribute, yes, "not said", p), Reading(attribute, no, "not said", 1 - p)]
        # Both sides, the one read present and its opposite absent: "older" present, "young" absent.
        (said, q), (other, r) = sorted(((yes, p), (no, 1 - p)), key=lambda x: -x[1])
        return [Reading(attribute, said, "present", q), Reading(attribute, other, "absent", r)]
    said, q = (NEGATIVE[attribute], 1 - p) if attribute in NEGATIVE else (SAID[attribute], p)
    if face and in_words:
        return [Reading(attribute, said, "absent", negated)]
    if face and q >= 0.5:
        return [Reading(attribute, said, "present", q)]
    if face and in_words is None and negated >= 0.5:
        return [Reading(attribute, said, "absent", negated)]
    return [Reading(attribute, said, "not said", q)]


def negated_edits(readings: list[Reading]) -> dict[str, float]:
    """{edit name: -1 or +1}: the way each edit direction points away from an attribute that ``readings`` read
    as absent ("no beard" -> {"beard": -1}; "without glasses" -> {"eyeglasses": -1}), for
    :meth:`AttributeModel.steer_codes`. Man/woman and young/older are skipped: their absent side is the other
    side present, which the text already says; so are attributes with no edit direction (necklaces, bangs).

    Why: the sentence encoder puts "not smiling" next to "smiling" (all-MiniLM-L6-v2: the shipped generator's
    code for "a woman who is not smiling" lies nearer that of "a smiling woman" than that of "a woman" along
    the smiling direction), but the words tell them apart (readings of :meth:`AttributeModel.read` given the
    text: absent is what the words negate).
    """
    edits = {e.attribute: e for e in EDITS}
    sides = {}
    for r in readings:
        edit = edits.get(r.attribute)
        if r.status != "absent" or r.attribute in TWO_SIDED or edit is None:
            continue
        absent_value = r.attribute in NEGATIVE  # "beard" absent is No_Beard true; "glasses" absent, Eyeglasses false
        sides[edit.name] = 1.0 if absent_value == edit.toward else -1.0
    return sides


def claim_key(reading: Reading) -> str:
    """What a present or absent reading asks the face to show, named as the evaluation names claims: the
    CelebA attribute, or "not " + it ("glasses" present -> "Eyeglasses", absent -> "not Eyeglasses",
    "woman" -> "not Male", "older" -> "not Young", "beard" present -> "not No_Beard")."""
    if reading.attribute in TWO_SIDED:
        shows = reading.said == TWO_SIDED[reading.attribute][0]
    else:
        shows = reading.status == "present"
    if reading.attribute in NEGATIVE:
        shows = not shows
    return reading.attribute if shows else f"not {reading.attribute}"


@dataclass(frozen=True)
class Drawn:
    """How often the model's faces show a claim when people's descriptions make it (the evaluation)."""

    share: float  # of the faces drawn for descriptions making the claim, those that show it (0-1)
    faces: int  # how many faces that share is of


def read_drawn(folder: str | Path) -> dict[str, Drawn]:
    """{claim (:func:`claim_key`): Drawn} from the weights folder's evaluation report (``python -m train
    evaluate``: its adherence on the people's descriptions, per claim); empty when the folder has no report
    or the report has no such section; a ValueError naming the file when it is broken."""
    file = Path(folder) / EVALUATION_NAME
    if not file.is_file():
        return {}
    report = read_json_object(file)
    try:
        per_claim = report.get("people", {}).get("per_claim", {})
        return {claim: Drawn(float(v["found"]), int(v["claims"])) for claim, v in per_claim.items()}
    except (AttributeError, KeyError, TypeError, ValueError) as e:
        raise ValueError(f"{file}: people.per_claim must map claims to {{found, claims}} ({e!r})") from None


def check_strengths(strengths: object) -> dict[str, float]:
    """{edit name: strength in [-1, 1]}, or a ValueError naming the allowed names and range."""
    if not isinstance(strengths, dict):
        raise ValueError(f"strengths must be a dict of {{name: strength}} with names from {list(EDIT_NAMES)}")
    unknown = [k for k in strengths if k not in EDIT_NAMES]
    if unknown:
        raise ValueError(f"unknown attribute(s) {unknown}: the attributes that can be edited are {list(EDIT_NAMES)}")
    out = {}
    for name, value in strengths.items():
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or not -1.0 <= value <= 1.0:
            raise ValueError(f"the strength of {name!r} must be a number in [-1, 1], got {value!r}")
        out[name] = float(value)
    return out


def code_fingerprint(generator: Generator) -> str:
    """A hash of the generator's text projection, the only part of it that directions depend on."""
    proj = generator.cond.proj
    h = hashlib.sha256()
    for t in (proj.weight, proj.bias):
        h.update(t.detach().float().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()[:16]


@dataclass
class AttributeModel:
    """The read-out probe and the edit directions of one weights folder (see the module docstring)."""

    hidden_weight: Tensor  # (H, text_dim): the probes' shared hidden layer on normalize_text(embedding), ReLU
    hidden_bias: Tensor  # (H,)
    probe_weight: Tensor  # (2A + 1, H): logits of "stated" per READ_ATTRIBUTES, of "negated" (TWO_SIDED
    # unused), then of the face gate
    probe_bias: Tensor  # (2A + 1,)
    directions: Tensor  # (E, cond_dim): unit directions, one per EDITS
    step: Tensor  # (E,): code distance of strength 1 (mean code difference of matched captions)
    low: Tensor  # (E,): 0.5th percentile of training codes along each direction
    high: Tensor  # (E,): 99.5th percentile
    info: dict  # attributes.json: format, text encoder, fingerprint, build facts, measured accuracy

    def tensors(self) -> dict[str, Tensor]:
        """The tensors as saved in attributes.safetensors."""
        return {n: getattr(self, n).detach().float().cpu().contiguous() for n in TENSOR_NAMES}

    @torch.inference_mode()
    def probabilities(self, embeddings: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """(N, text_dim) description embeddings -> (N, A) probabilities that each of READ_ATTRIBUTES is stated
        as 1, (N, A) that it is negated, and (N,) that the text describes a face at all (the gate)."""
        hidden = torch.relu(normalize_text(embeddings.cpu()) @ self.hidden_weight.T + self.hidden_bias)
        p = torch.sigmoid(hidden @ self.probe_weight.T + self.probe_bias)
        a = len(READ_ATTRIBUTES)
        return p[:, :a], p[:, a : 2 * a], p[:, 2 * a]

    def read(self, embedding: Tensor, text: str | None = None) -> list[Reading]:
        """Readings of one description's embedding (text_dim,): present first, most probable first; all "not
        said" where the face gate is below FACE. Given the ``text`` embedded, an attribute is read absent where
        its words negate it (:func:`t2f.negation.negated_attributes`: "big beard, no glasses" negates glasses,
        not the beard) and nowhere else; without it, wherever the negation output reads it so (the probe alone,
        as ``train.publish.attributes`` measures it)."""
        stated, negated, face = self.probabilities(embedding[None])
        is_face = float(face[0]) >= FACE
        in_words = None if text is None else negated_attributes(text)
        rows = [
            r
            for a, p, n in zip(READ_ATTRIBUTES, stated[0].tolist(), negated[0].tolist())
            for r in _readings(a, p, n, is_face, None if in_words is None else a in in_words)
        ]
        order = {"present": 0, "absent": 1, "not said": 2}
        return sorted(rows, key=lambda r: (order[r.status], -r.probability))

    def check_generator(self, generator: Generator) -> None:
        """A ValueError when the directions were built for another generator (or none at all)."""
        built_for = self.info.get("generator_fingerprint")
        if built_for != code_fingerprint(generator):
            raise ValueError(
                f"the edit directions in {ATTRIBUTES_NAME} were built for another generator (fingerprint {built_for}, "
                f"these weights have {code_fingerprint(generator)}): rebuild them with `{BUILD_COMMAND}`"
            )

    def edit_codes(self, codes: Tensor, strengths: dict[str, float]) -> Tensor:
        """Move text codes (N, cond_dim) along the directions by ``strengths`` (checked names, [-1, 1]).

        Each nonzero strength s moves the code's position t along its direction to t + s * step, but not
        past the training range (high for s > 0, low for s < 0) unless it already lies beyond it; the rest of
        the code is unchanged. Directions apply one after another in EDITS order, so results are reproducible.
        """
        directions = self.directions.to(codes.device)
        for k, name in enumerate(EDIT_NAMES):
            s = strengths.get(name, 0.0)
            if s == 0.0:
                continue
            u = directions[k]
            t = codes @ u
            target = t + s * float(self.step[k])
            if s > 0:
                target = torch.minimum(target, torch.clamp(t, min=float(self.high[k])))
            else:
                target = torch.maximum(target, torch.clamp(t, max=float(self.low[k])))
            codes = codes + (target - t)[:, None] * u
        return codes

    def steer_codes(self, codes: Tensor, sides: dict[str, float], strength: float) -> Tensor:
        """Move text codes (N, cond_dim) toward one end of the training range along directions: ``sides`` maps
        edit names to -1 (toward ``low``) or +1 (toward ``high``), as :func:`negated_edits` gives them.

        Each code's position t along a direction moves ``strength`` (0-1) of the way to that end (1: onto it),
        never backwards: a code already beyond the end stays. Unlike an edit's fixed step, the move grows
        with how far the text's code lies on the wrong side.
        Directions apply in EDITS order, the rest of the code is unchanged.
        """
        directions = self.directions.to(codes.device)
        for k, name in enumerate(EDIT_NAMES):
            side = sides.get(name)
            if side is None:
                continue
            u = directions[k]
            t = codes @ u
            end = float(self.low[k]) if side < 0 else float(self.high[k])
            move = strength * (end - t)
            move = move.clamp(max=0.0) if side < 0 else move.clamp(min=0.0)
            codes = codes + move[:, None] * u
        return codes


def save_attribute_model(model: AttributeModel, folder: str | Path) -> Path:
    """Write ``attributes.safetensors`` and ``attributes.json`` into ``folder``; returns the tensor file."""
    from safetensors.torch import save_file  # only when writing: ``import t2f`` stays light

    folder = Path(folder)
    file = folder / ATTRIBUTES_NAME
    save_file(model.tensors(), str(file))
    info = {"format": FORMAT, **{k: v for k, v in model.info.items() if k != "format"}}
    (folder / ATTRIBUTES_CONFIG_NAME).write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
    return file


def load_attribute_model(folder: str | Path, config: ModelConfig) -> AttributeModel | None:
    """The attribute model saved in ``folder`` for a model of ``config``, None when the folder has none; a
    ValueError naming the file when it is broken or made for another text encoder."""
    folder = Path(folder)
    file, config_file = folder / ATTRIBUTES_NAME, folder / ATTRIBUTES_CONFIG_NAME
    if not file.is_file() and not config_file.is_file():
        return None
    if not config_file.is_file():
        raise FileNotFoundError(f"{config_file} is missing beside {file.name}: rebuild both with `{BUILD_COMMAND}`")
    info = read_json_object(config_file)
    if info.get("format") != FORMAT:
        raise ValueError(f"{config_file} is not a {FORMAT} file (format {info.get('format')!r}): rebuild it with `{BUILD_COMMAND}`")
    if info.get("text_encoder") != config.text_encoder:
        raise ValueError(
            f"{config_file} was built with the text encoder {info.get('text_encoder')!r}, these weights use "
            f"{config.text_encoder!r}: rebuild it with `{BUILD_COMMAND}`"
        )
    tensors = read_state_dict(file)
    text_dim, cond_dim = config.text_dim, config.cond_dim
    hidden = tensors.get("hidden_bias")
    a, h = len(READ_ATTRIBUTES), hidden.shape[0] if hidden is not None and hidden.dim() == 1 else 0
    shapes = {
        "hidden_weight": (h, text_dim), "hidden_bias": (h,), "probe_weight": (2 * a + 1, h), "probe_bias": (2 * a + 1,),
        "directions": (len(EDITS), cond_dim), "step": (len(EDITS),), "low": (len(EDITS),), "high": (len(EDITS),),
    }  # fmt: skip
    wrong = [
        f"{k}: {tuple(tensors[k].shape) if k in tensors else 'missing'} != {v}"
        for k, v in shapes.items()
        if k not in tensors or tuple(tensors[k].shape) != v
    ]
    if wrong or info.get("attributes") != list(READ_ATTRIBUTES) or info.get("edits") != list(EDIT_NAMES):
        raise ValueError(f"{file} does not fit these weights or this version ({wrong[:3]}): rebuild it with `{BUILD_COMMAND}`")
    return AttributeModel(**{k: tensors[k].float() for k in shapes}, info=info)
