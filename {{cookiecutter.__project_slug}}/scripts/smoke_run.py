"""Run one pipeline of a deployed Data Factory and wait for it: the CD's smoke run.

azure-pipelines/templates/deploy.yml runs it on the agent after deploying the factory, inside an
AzureCLI@2 step (the Azure CLI is signed in with the environment's service connection, and this
script borrows that sign-in). It starts the pipeline, prints each change of status, and

- exits 0 when the run succeeds;
- exits 1 when it fails or is cancelled, with the pipeline's own error message on one line (the
  message of its Fail activity, or of the activity that failed), also raised as an Azure DevOps
  error so that it heads the stage's summary;
- exits 1 when the run is still going after ``--timeout-minutes``, after cancelling it: a smoke run
  nobody waits for must not keep a cluster busy.

It needs ``azure-identity`` and ``azure-mgmt-datafactory`` (the ``deploy`` extra of pyproject.toml).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

# Statuses of a pipeline run (Data Factory's REST API: Queued, InProgress, Succeeded, Failed,
# Canceling, Cancelled). A run stops changing once it reaches one of these.
FINISHED = ("Succeeded", "Failed", "Cancelled")


class SmokeRunFailed(Exception):
    """The run did not succeed; the message is the one line the CD shows."""


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--subscription-id", required=True, help="subscription of the factory")
    parser.add_argument("--resource-group", required=True, help="resource group of the factory")
    parser.add_argument("--factory", required=True, help="name of the data factory")
    parser.add_argument("--pipeline", required=True, help="pipeline to run, e.g. pl_<package>_training")
    parser.add_argument("--timeout-minutes", type=float, default=60.0, help="cancel and fail after this long")
    parser.add_argument("--poll-seconds", type=float, default=30.0, help="time between two status checks")
    return parser.parse_args(argv)


def run_and_wait(
    client: Any,
    args: argparse.Namespace,
    *,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    say: Callable[[str], None] = print,
) -> str:
    """Start ``args.pipeline`` and wait for it to finish; returns the run id, raises SmokeRunFailed.

    ``client`` is a ``DataFactoryManagementClient``; ``clock`` and ``sleep`` are time's own.
    """
    where = (args.resource_group, args.factory)
    run_id = client.pipelines.create_run(*where, args.pipeline).run_id
    name = f"{args.pipeline} run {run_id} in {args.factory}"
    say(f"smoke run: {name} started")
    started, status = clock(), None
    while True:
        run = client.pipeline_runs.get(*where, run_id)
        minutes = (clock() - started) / 60
        if run.status != status:
            status = run.status
            say(f"smoke run: {name} {status} ({minutes:.1f} min)")
        if status == "Succeeded":
            return run_id
        if status in FINISHED:
            raise SmokeRunFailed(f"{name} {status}: {one_line(run.message) or 'no message'}")
        if minutes >= args.timeout_minutes:
            client.pipeline_runs.cancel(*where, run_id, is_recursive=True)
            raise SmokeRunFailed(
                f"{name} still {status} after {args.timeout_minutes:g} min: cancelled (raise --timeout-minutes "
                "if a first run on a new cluster needs longer)"
            )
        sleep(args.poll_seconds)


def one_line(message: str | None) -> str:
    return " ".join((message or "").split())


def smoke(client: Any, args: argparse.Namespace, **waiting: Any) -> int:
    """The exit code of the smoke run; a failure is printed as one line (``waiting``: run_and_wait's)."""
    try:
        run_and_wait(client, args, **waiting)
    except SmokeRunFailed as failure:
        # The logging command makes the message the stage's error in Azure DevOps, not a log line.
        print(f"##vso[task.logissue type=error]{failure}")
        print(f"error: {failure}", file=sys.stderr)
        return 1
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    # Imported here: the tests load this file without signing in anywhere.
    from azure.identity import AzureCliCredential
    from azure.mgmt.datafactory import DataFactoryManagementClient

    return smoke(DataFactoryManagementClient(AzureCliCredential(), args.subscription_id), args)


if __name__ == "__main__":
    raise SystemExit(main())
