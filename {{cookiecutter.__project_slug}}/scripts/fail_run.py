"""Fail a Databricks job run with a message: a Data Factory Fail activity, as a job task.

The jobs resources/ derives from adf/ run it where the pipeline has a Fail activity inside an If
Condition (a monitoring alert, a promotion with an alert), with the activity's message, its task
values filled in by Databricks, as the one argument. The task fails, so the run fails and its
failure notifications reach a person, with the message as the error.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> str:
    message = " ".join(sys.argv[1:] if argv is None else argv).strip()
    return message or "the run was failed on purpose, with no message"


if __name__ == "__main__":
    raise SystemExit(f"error: {main()}")
