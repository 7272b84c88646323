"""Carrying an evaluation report into a weights folder: the session's row of the training record (and
of the training state), the learning curve, the model card, and README's blocks.

``python -m train evaluate`` only measures and writes its report; this is the separate, named step
(``python -m train record-evaluation``) that changes what a reader of the weights folder and README sees.
"""

from __future__ import annotations

from pathlib import Path

from t2f.files import EVALUATION_NAME, RECORD_NAME, STATE_NAME, read_json_object, write_json
from train.eval.report import results_markdown
from train.fit.state import update_state_sessions
from train.publish.curve import curve_points, refresh_curve
from train.publish.model_card import write_model_card
from train.publish.readme import readme_blocks, update_readme_block


def record_evaluation(folder: str | Path, readme: Path | None = None) -> list[Path]:
    """Carry ``folder/evaluation.json`` into the weights folder ``folder``; returns the files written.

    The session that trained the evaluated weights gets the report's summary (so does the training
    state, which the next session's record starts from): the one whose images seen in all equal the
    report's ``images_seen``, so a report still counts for its own session after a later run has exported
    into the folder (reports without the field, older than it: the record's last row). The learning curve
    is redrawn when any session is evaluated; the model card is rewritten, with the report only when it
    measured the folder's weights. With ``readme``, the blocks it has of the two (``evaluation``,
    ``curve``; see :mod:`train.publish.readme`) are rewritten too. Raises FileNotFoundError when the
    folder lacks the report or the training record, ValueError when the report measured weights that no
    session of the record ends with.
    """
    folder = Path(folder)
    report = read_json_object(folder / EVALUATION_NAME)
    record = read_json_object(folder / RECORD_NAME)
    written = []
    sessions = record.get("sessions", [])
    current = report  # the card describes the folder's weights: not a report of an earlier session's
    if sessions:
        row = _evaluated_session(sessions, report, folder)
        row["evaluation"] = report["summary"]
        current = report if row is sessions[-1] else None
        written.append(write_json(folder / RECORD_NAME, record))
        if (folder / STATE_NAME).is_file():
            written.append(update_state_sessions(folder, sessions))
    blocks = readme_blocks(readme) if readme is not None else set()
    if "evaluation" in blocks:
        update_readme_block(readme, "evaluation", results_markdown(report))
    if curve_points(sessions):
        refresh_curve(folder, sessions, readme if "curve" in blocks else None)
    if blocks:
        written.append(readme)
    written.append(write_model_card(folder, record, current))
    return written


def _evaluated_session(sessions: list[dict], report: dict, folder: Path) -> dict:
    """The row of ``sessions`` that ends with the weights ``report`` measured (see record_evaluation)."""
    if "images_seen" not in report:
        return sessions[-1]
    for row in sessions:
        if row.get("images_seen_total") == report["images_seen"]:
            return row
    ends = ", ".join(str(row.get("images_seen_total")) for row in sessions)
    raise ValueError(
        f"{folder / EVALUATION_NAME} measured weights after {report['images_seen']:,} images, but no session in "
        f"{folder / RECORD_NAME} ends there (they end at {ends}): evaluate the folder's weights again"
    )
