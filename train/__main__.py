"""Command line: python -m train {prepare,fit,export,...} --help.

Each command lives with its code (an ``add_parser(subparsers)`` function in its module that sets
``func``); errors a user can fix print one line and exit with status 2, no traceback.
"""

from __future__ import annotations

import argparse
import sys

from train import attributes, classifier, curve, evaluate, export, loop, prepare, push, samples

PARSERS = (
    prepare.add_parser, loop.add_parser, export.add_parser, push.add_parser, classifier.add_parser, evaluate.add_parser,
    attributes.add_parser, samples.add_parser, curve.add_parser,
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


if __name__ == "__main__":
    sys.exit(main())
