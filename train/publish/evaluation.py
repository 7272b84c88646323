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

    The session that trained the weights (the record's last row) gets the report's summary (so does
    the training state, which the next session's record starts from); the learning curve is redrawn
    when any session is evaluated; the model card is rewritten. With ``readme``, the blocks it has of
    the two (``evaluation``, ``curve``; see :mod:`train.publish.readme`) are rewritten too. Raises
    FileNotFoundError when the folder lacks the report or the training record.
    """
    folder = Path(folder)
    report = read_json_object(folder / EVALUATION_NAME)
    record = read_json_object(folder / RECORD_NAME)
    written = []
    sessions = record.get("sessions", [])
    if sessions:
        sessions[-1]["evaluation"] = report["summary"]
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
    written.append(write_model_card(folder, record, report))
    return written
