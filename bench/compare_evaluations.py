"""Evaluation reports side by side: the numbers pilots and sessions are judged by, one column a report.

    python bench/compare_evaluations.py NAME=PATH/evaluation.json [NAME=PATH/evaluation.json ...]

Reads the reports ``python -m train evaluate`` writes (with their ``summary``) and the training record beside
each, when there is one, for the images seen; prints one Markdown table.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from t2f.files import RECORD_NAME, read_json_object  # noqa: E402
from train.eval.report import summary_label  # noqa: E402

ROWS = (
    "n", "fid_128", "fid_128_floor", "fid_64", "fid_64_floor", "scale_gap_4", "scale_gap_8", "scale_gap_16",
    "scale_gap_32", "scale_gap_64", "adherence", "adherence_normalized", "people_adherence", "people_vs_template",
    "negation_excess", "dilution_cost_points", "diversity_ratio",
)  # fmt: skip


def _cell(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.3f}" if abs(value) < 10 else f"{value:.1f}"
    return "-" if value is None else str(value)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("reports", nargs="+", metavar="NAME=PATH", help="a column name and an evaluation.json")
    args = parser.parse_args()
    columns = []
    for item in args.reports:
        name, _, path = item.rpartition("=")
        report = read_json_object(Path(path))
        record_file = Path(path).parent / RECORD_NAME
        images = read_json_object(record_file).get("images_seen") if record_file.is_file() else None
        columns.append((name, report["summary"], images))
    print("| | " + " | ".join(name for name, _, _ in columns) + " |")
    print("|---|" + "---|" * len(columns))
    print("| images seen | " + " | ".join(_cell(images) for _, _, images in columns) + " |")
    for key in ROWS:
        print(f"| {summary_label(key)} | " + " | ".join(_cell(summary.get(key)) for _, summary, _ in columns) + " |")


if __name__ == "__main__":
    main()
