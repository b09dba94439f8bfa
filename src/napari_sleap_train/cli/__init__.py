"""``napari-sleap-train`` command line.

Every widget action is also a command, so a run can move to a GPU workstation
or a cluster without napari. Each subcommand lives in its own module with
``add_parser(subparsers)`` and ``run(args) -> int``; modules are imported lazily
so ``--help`` stays fast and nothing pulls in TensorFlow or Qt by accident.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

#: subcommand name -> module (relative to this package)
COMMANDS: dict[str, str] = {
    "demo": ".demo",
    "sample": ".sample",
    "train": ".train",
    "predict": ".predict",
    "evaluate": ".evaluate",
    "track": ".track",
    "export-job": ".export_job",
}


def build_parser() -> argparse.ArgumentParser:
    """Build the top-level parser with one subparser per available command."""
    parser = argparse.ArgumentParser(
        prog="napari-sleap-train",
        description="Train SLEAP-style pose models, in napari or headless.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for _name, module in COMMANDS.items():
        try:
            mod = importlib.import_module(module, __name__)
        except ModuleNotFoundError as exc:
            if exc.name and exc.name.startswith(__name__):
                continue  # command not written yet
            raise
        mod.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``napari-sleap-train`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
