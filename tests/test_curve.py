"""The learning curve of session-by-session training: points, stopping rule, plot, README and card."""

import json
import re

import pytest
from PIL import Image

from train.cli import main
from train.publish.curve import (
    ADHERENCE, DIVERSITY, FID128, FID128_FLOOR, FID64, FID64_FLOOR, FIRST_JUDGE_NOTE, JUDGE_F1, PRECISION, curve_markdown,
    curve_points, stop_rule,
)  # fmt: skip
from train.publish.model_card import render_model_card


def evaluation(fid128: float, adherence: float) -> dict:
    return {
        FID128: fid128, FID128_FLOOR: 36.3, FID64: fid128 * 0.7, FID64_FLOOR: 34.8,
        ADHERENCE: adherence, PRECISION: adherence * 0.7, DIVERSITY: 0.58, "Held-out images (N)": 500,
    }  # fmt: skip


def session(run: str, images: int, total: int, minutes: float, fid128: float | None = None, adherence: float = 0.5) -> dict:
    row = {"run": run, "date": "2026-11-28", "device": "CPU", "images_seen": images, "images_seen_total": total, "train_minutes": minutes}
    return row | ({"evaluation": evaluation(fid128, adherence)} if fid128 is not None else {})


SESSIONS = [session("s1", 80_000, 80_000, 90.0, 330.0, 0.92), session("s2", 140_000, 220_000, 128.0, 290.0, 0.95)]


def test_points_are_the_evaluated_sessions_with_running_totals():
    rows = [*SESSIONS, session("s3", 100_000, 320_000, 120.0)]  # trained, not evaluated yet
    points = curve_points(rows)
    assert [(p.session, p.run, p.images, p.minutes) for p in points] == [(1, "s1", 80_000, 90.0), (2, "s2", 220_000, 218.0)]
    assert points[1].fid128 == 290.0 and points[1].fid64_floor == 34.8 and points[1].adherence == 0.95
    broken = [session("s1", 1, 1, 1.0) | {"evaluation": {FID128: 300.0}}]
    with pytest.raises(ValueError, match="session 1 \\(s1\\).*lacks 'fid_128_floor'"):
        curve_points(broken)


@pytest.mark.parametrize(
    ("fids", "unevaluated", "minutes", "stop", "reason"),
    [
        ((330.0, 290.0), 0, 100.0, False, r"330.00 to 290.00 \(\+12.1% better\), at least the 3%"),
        ((330.0, 322.0), 0, 100.0, True, r"330.00 to 322.00 \(\+2.4% better\), under the 3%"),
        ((330.0, 340.0), 0, 100.0, True, r"\(-3.0% better\), under"),
        ((330.0, 200.0), 0, 240.0, True, "480 training minutes in 2 sessions \\(the budget is 480\\)"),
        ((330.0, 290.0), 1, 100.0, False, "last session has no evaluation"),
        ((330.0,), 0, 100.0, False, "last session has no evaluation"),
    ],
)
def test_stopping_rule(fids, unevaluated, minutes, stop, reason):
    rows = [session(f"s{i}", 10, 10 * i, minutes, fid) for i, fid in enumerate(fids, start=1)]
    rows += [session("later", 10, 10 * len(rows) + 10, 1.0)] * unevaluated
    verdict, why = stop_rule(curve_points(rows), rows)
    assert verdict is stop
    assert re.search(reason, why), why


def test_curve_command_draws_the_plot_and_rewrites_the_readme_block(tmp_path, capsys):
    weights = tmp_path / "weights"
    weights.mkdir()
    (weights / "training_record.json").write_text(json.dumps({"sessions": SESSIONS}))
    readme = tmp_path / "README.md"
    readme.write_text("# Top\n\n<!-- curve:start -->\nold\n<!-- curve:end -->\n\nTail\n")
    assert main(["curve", "--weights", str(weights), "--readme", str(readme)]) == 0
    with Image.open(weights / "learning_curve.png") as plot:
        assert plot.size == (1000, 400)
        assert len(set(plot.convert("RGB").getdata())) > 50  # drawn, not blank
    text = readme.read_text()
    assert text.startswith("# Top") and text.endswith("Tail\n") and "old" not in text
    assert "| 2 | s2 | 220,000 | 218.0 | 290.0 (36.3) | 203.0 (34.8) | 0.950 | 0.665 | 0.580 |" in text
    assert "**Stopping rule:** not met: session 2 took FID at 128 px from 330.00 to 290.00" in text
    assert "](weights/learning_curve.png)" in text
    assert "| 1 | s1 | 80,000 | 90.0 |" in capsys.readouterr().out


def test_the_table_says_which_sessions_changed_the_recipe():
    changed = [SESSIONS[0], SESSIONS[1] | {"changes": ["model.d_rgb_skips: false -> true", "lr_d: 0.002 -> 0.001"]}]
    points = curve_points(changed)
    assert points[0].changes == () and points[1].changes == ("model.d_rgb_skips: false -> true", "lr_d: 0.002 -> 0.001")
    text = curve_markdown(points, changed)
    assert "\n\nSession 2 changed the recipe: `model.d_rgb_skips: false -> true`; `lr_d: 0.002 -> 0.001`.\n\n" in text
    assert "Session 1 changed" not in text and "changed the recipe" not in curve_markdown(curve_points(SESSIONS), SESSIONS)


def test_curve_command_errors_are_one_line(tmp_path, capsys):
    assert main(["curve", "--weights", str(tmp_path)]) == 2
    assert "training_record.json does not exist" in capsys.readouterr().err
    (tmp_path / "training_record.json").write_text(json.dumps({"sessions": [session("s1", 1, 1, 1.0)]}))
    assert main(["curve", "--weights", str(tmp_path)]) == 2
    assert "no evaluated session to plot" in capsys.readouterr().err
    assert not (tmp_path / "learning_curve.png").exists()


def test_model_card_shows_the_sessions_once_there_are_several():
    from tests.test_hub import tiny_train_config, training_record

    record = training_record(tiny_train_config(), 120)
    assert "## Training sessions" not in render_model_card(record | {"sessions": SESSIONS[:1]})
    card = render_model_card(record | {"sessions": SESSIONS}, curve_file="learning_curve.png")
    assert "## Training sessions" in card and "| 2 | s2 | 220,000 |" in card
    assert "![Learning curve: FID and text adherence against images seen](learning_curve.png)" in card


def test_record_evaluation_files_a_report_under_the_session_whose_weights_it_measured(tmp_path, capsys):
    """A report of session 2's weights, recorded after session 3 exported into the folder, goes to
    session 2's row (not the last), and the card, which describes session 3's weights, does not show it;
    a report of weights no session ends with is refused in one line, nothing written."""
    from tests.test_hub import tiny_train_config, training_record

    weights = tmp_path / "weights"
    weights.mkdir()
    rows = [SESSIONS[0], session("s2", 140_000, 220_000, 128.0), session("s3", 100_000, 320_000, 120.0)]
    record = training_record(tiny_train_config(), 120) | {"sessions": rows}
    (weights / "training_record.json").write_text(json.dumps(record))
    summary = evaluation(fid128=250.0, adherence=0.96)
    (weights / "evaluation.json").write_text(json.dumps({"summary": summary, "images_seen": 220_000}))
    assert main(["record-evaluation", "--weights", str(weights)]) == 0
    sessions = json.loads((weights / "training_record.json").read_text())["sessions"]
    assert [s.get("evaluation") for s in sessions] == [SESSIONS[0]["evaluation"], summary, None]
    card = (weights / "README.md").read_text()
    assert "Not evaluated yet" in card and "| 2 | s2 | 220,000 | 218.0 | 250.0 (36.3) |" in card

    (weights / "evaluation.json").write_text(json.dumps({"summary": summary, "images_seen": 230_000}))
    before = (weights / "training_record.json").read_text()
    assert main(["record-evaluation", "--weights", str(weights)]) == 2
    assert "measured weights after 230,000 images, but no session" in capsys.readouterr().err
    assert (weights / "training_record.json").read_text() == before


def test_rows_read_by_the_first_judge_are_marked_when_judges_are_mixed():
    first = session("a", 100, 100, 10.0, fid128=100.0)
    calibrated = session("b", 100, 200, 10.0, fid128=90.0)
    calibrated["evaluation"][JUDGE_F1] = 0.82
    table = curve_markdown(curve_points([first, calibrated]), [first, calibrated])
    assert table.count(" \\*") == 3 and FIRST_JUDGE_NOTE in table  # session 1's adherence, precision, diversity
    alone = curve_markdown(curve_points([first]), [first])
    assert " \\*" not in alone and FIRST_JUDGE_NOTE not in alone
