"""`python -m credit_default init --env <env>` as a Databricks job task (the bundle's `init` job).

databricks.yml runs this file as a ``spark_python_task`` on a job cluster where the project's wheel is
installed. The package finds ``conf/`` and ``sql/`` in the project folder, searched upwards from the
current directory; on a job cluster that folder is the deployed bundle's files folder
(``${workspace.file_path}``), which the job passes as ``--project-root``. Everything else is the CLI's
own ``init``: one clear line on error and a non-zero exit code, which fails the task and the CD stage.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence

DATABRICKS_ENVIRONMENTS = ("dev", "uat", "prod")


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--env", required=True, choices=DATABRICKS_ENVIRONMENTS, help="the bundle target")
    parser.add_argument(
        "--project-root",
        default=None,
        help="folder holding conf/ and sql/ (on Databricks: the bundle's ${workspace.file_path})",
    )
    return parser.parse_args(argv)


def cli_arguments(args: argparse.Namespace) -> list[str]:
    """The package CLI's arguments for this task."""
    return ["init", "--env", args.env]


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.project_root:
        os.chdir(args.project_root)
    from credit_default import cli

    return cli.main(cli_arguments(args))


if __name__ == "__main__":
    exit_code = main()
    # A successful run simply ends; a failed one exits with the CLI's code, which fails the task.
    if exit_code:
        raise SystemExit(exit_code)
