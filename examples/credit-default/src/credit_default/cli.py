"""Command line of the project: ``python -m credit_default <command> [--env ENV]``.

init    create the schema, tables and view (and, locally, the simulator's labelled history)
train   run the training pipeline (ingest → clean → features → train → evaluate → promote)
status  champion / challenger versions, last runs, row counts (``--json`` for machines)

Errors are one line on stderr and exit code 1; nothing half-written is left behind by a stage
that fails (its run is recorded as failed in ``pipeline_runs``).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from .settings import ENVIRONMENTS, load_settings

DEBUG_VAR = "MLOPS_DEBUG"


def one_line(error: BaseException) -> str:
    """First meaningful line of an error (Spark's carry a query plan after it)."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    text = lines[0] if lines else error.__class__.__name__
    return f"{text} (set {DEBUG_VAR}=1 for the traceback)" if len(lines) > 1 else text


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m credit_default", description=__doc__.split("\n\n")[0])
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--env", choices=ENVIRONMENTS, default="local", help="environment (default: local)")
    commands = parser.add_subparsers(dest="command", required=True, metavar="command")
    commands.add_parser("init", parents=[common], help="create schema and tables; seed local sample data")
    commands.add_parser("train", parents=[common], help="run the training pipeline")
    status = commands.add_parser("status", parents=[common], help="champion, challenger, last runs, row counts")
    status.add_argument("--json", action="store_true", help="print JSON instead of text")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = load_settings(args.env)
        from . import commands  # Spark and MLflow load only once the arguments are valid

        return commands.dispatch(args, settings)
    except Exception as error:  # one line for people; the traceback on request
        if os.environ.get(DEBUG_VAR):
            raise
        print(f"error: {one_line(error)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
