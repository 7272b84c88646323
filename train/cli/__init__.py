"""Command line: python -m train {prepare,fit,export,...} --help.

Each command is an ``add_*_parser(subparsers)`` function in a module of this package that sets
``func``; the library modules it calls know nothing of argparse; errors a user can fix print one line and exit with status 2, no traceback.
"""

from __future__ import annotations

import argparse
import sys

from train.cli import data, evaluate, fit, publish

PARSERS = (
    data.add_prepare_parser, fit.add_fit_parser, publish.add_export_parser, publish.add_push_parser,
    evaluate.add_classifier_parser, evaluate.add_evaluate_parser, publish.add_record_evaluation_parser,
    publish.add_attributes_parser, publish.add_sheet_parser, publish.add_curve_parser,
)  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m train", description="Train, export and evaluate T2F-MSGGAN.")
    subparsers = parser.add_subparsers(dest="command", required=True)
    for add in PARSERS:
        add(subparsers)
    args = parser.parse_args(argv)
    try:
        return args.func(args) or 0
    except (ValueError, FileNotFoundError, FileExistsError, PermissionError, ConnectionError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
