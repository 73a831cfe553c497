"""Command line of the project: ``python -m {{ cookiecutter.__package_name }} <command> [--env ENV]``.

init      create the schema, tables and views (and, with sample data, the simulator's labelled history)
train     run the training pipeline (ingest → clean → features → train → evaluate → promote)
execute   run the execution pipeline (deploy → predict → metrics → evaluate_metrics) on the next
          batch (or ``--batch``), then the training pipeline if the decision is retrain
loop      simulate N new batches through execute (drift from a chosen batch), then print a table
          (on sample data: data_source.SAMPLE_DATA, or MLOPS_SAMPLE_DATA=1)
stage     run one stage by name, in this process and without the Data Factory runner (iterating
          on cleaning or features: ``stage clean``, ``stage predict --batch b0003``)
status    champion / challenger versions, last runs, row counts (``--json`` for machines)
report    HTML report: metric per batch, drift per feature, champion timeline (logged to MLflow)
rollback  make @previous_champion the @champion again
serve     serve @champion over HTTP: every request logged, promotions followed (or one pinned version)
engine    start, stop or show the warm local engine (one Spark + Delta that later commands reuse)

Errors are one line on stderr and exit code 1; nothing half-written is left behind by a stage
that fails (its run is recorded as failed in ``pipeline_runs``).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from .settings import ConfigError, environments, load_settings

DEBUG_VAR = "MLOPS_DEBUG"
# serve's defaults in a container: the environment it runs in, and the version it is pinned to.
SERVE_ENV_VAR = "MLOPS_SERVE_ENV"
SERVE_VERSION_VAR = "MLOPS_SERVE_MODEL_VERSION"


def one_line(error: BaseException) -> str:
    """First meaningful line of an error (Spark's carry a query plan after it)."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    text = lines[0] if lines else error.__class__.__name__
    return f"{text} (set {DEBUG_VAR}=1 for the traceback)" if len(lines) > 1 else text


def _number(kind, test, what):
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {what}") from None
        if not test(value):
            raise argparse.ArgumentTypeError(f"{text!r} is not {what}")
        return value

    return parse


_positive = _number(int, lambda v: v > 0, "a positive whole number")
_non_negative = _number(int, lambda v: v >= 0, "a whole number >= 0")
_strength = _number(float, lambda v: 0 <= v <= 1, "a number between 0 and 1")


def _parameter(text: str) -> tuple[str, str]:
    name, equals, value = text.partition("=")
    if not equals or not name.strip():
        raise argparse.ArgumentTypeError(f"{text!r} is not NAME=VALUE")
    return name.strip(), value


def _environments() -> tuple[str, ...] | None:
    """The environments of conf/project.yml (None without one: load_settings then says what is wrong)."""
    try:
        return environments()
    except (ConfigError, OSError):
        return None


def _stage_list() -> str:
    """The stages there are, per pipeline, as the factory JSON declares them."""
    from .orchestration import pipelines
    from .settings import find_project_root

    try:
        declared = pipelines(find_project_root())
    except (ConfigError, OSError, ValueError):
        return "Run one stage of the project by name."
    return "Stages: " + "; ".join(f"{pipeline}: {', '.join(names)}" for pipeline, names in declared.items()) + "."


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m {{ cookiecutter.__package_name }}", description=__doc__.split("\n\n")[0])
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--env", choices=_environments(), default="local", help="environment (default: local)")
    commands = parser.add_subparsers(dest="command", required=True, metavar="command")
    commands.add_parser("init", parents=[common], help="create schema and tables; land sample data if the source is the simulator")
    commands.add_parser("train", parents=[common], help="run the training pipeline")
    execute = commands.add_parser("execute", parents=[common],
                                  help="run the execution pipeline (and retrain if it decides so)")
    execute.add_argument("--batch", default="",
                         help="the batch to score (the pipeline's batch_id parameter; default: the oldest not yet decided)")
    loop = commands.add_parser("loop", parents=[common], help="simulate new batches through the closed loop")
    loop.add_argument("--batches", type=_positive, default=5, help="new batches to simulate (default: 5)")
    loop.add_argument("--drift-at", type=_non_negative, default=3,
                      help="batch (1-based) from which the data drifts; 0 for none (default: 3)")
    loop.add_argument("--drift", type=_strength, default=0.5, help="drift strength, 0 to 1 (default: 0.5)")
    loop.add_argument("--noise", type=_strength, default=0.0,
                      help="target variation no input explains, 0 to 1, in the drifted batches: from about 0.5 "
                           "no model meets the gate (default: 0)")
    loop.add_argument("--rows", type=_positive, default=5000, help="rows per batch (default: 5000)")
    loop.add_argument("--label-delay", type=_non_negative, default=0,
                      help="batches before a batch's labels arrive (default: 0, with the batch)")
    loop.add_argument("--break-schema-at", type=_non_negative, default=0,
                      help="batch (1-based) whose feed renames a column; 0 for none (default: 0)")
    loop.add_argument("--verbose", action="store_true", help="print every stage of every pipeline run")
    stage = commands.add_parser("stage", parents=[common], help="run one stage by name (no Data Factory runner)",
                                description=_stage_list())
    stage.add_argument("name", help="the stage to run (listed above)")
    stage.add_argument("--batch", help="batch id, for the stages that take one (predict, metrics, evaluate_metrics)")
    stage.add_argument("--param", action="append", default=[], type=_parameter, metavar="NAME=VALUE",
                       help="another parameter of the stage (its notebook's widgets), repeatable")
    status = commands.add_parser("status", parents=[common], help="champion, challenger, last runs, row counts")
    status.add_argument("--json", action="store_true", help="print JSON instead of text")
    report = commands.add_parser("report", parents=[common], help="write the HTML monitoring report")
    report.add_argument("--output", help="file to write (default: .local/reports/report.html)")
    commands.add_parser("rollback", parents=[common], help="restore @previous_champion as @champion")
    # serve's own --env: in a container its default comes from the environment (an action shared
    # through `common` would carry that default to every command).
    serve_env = argparse.ArgumentParser(add_help=False)
    serve_env.add_argument("--env", choices=_environments(), default=os.environ.get(SERVE_ENV_VAR) or "local",
                           help=f"environment (default: ${SERVE_ENV_VAR}, else local)")
    serve = commands.add_parser("serve", parents=[serve_env],
                                help="serve @champion over HTTP (requests logged, promotions followed)")
    serve.add_argument("--host", default="127.0.0.1", help="interface to listen on (default: 127.0.0.1)")
    serve.add_argument("--port", type=_positive, default=5001, help="port (default: 5001)")
    serve.add_argument("--poll-seconds", type=float, default=5.0,
                       help="how often @champion is checked for a new version (default: 5)")
    # The container (deploy/) is configured by environment: the same image runs in every environment.
    serve.add_argument("--model-version", type=_positive, default=os.environ.get(SERVE_VERSION_VAR) or None,
                       help=f"serve this registered version and never follow @champion (default: ${SERVE_VERSION_VAR}, "
                            "else @champion)")
    serve.add_argument("--request-log", choices=("table", "stdout"), default="table",
                       help="where scored rows go: inference_log (table, default), or one JSON line each on stdout")
    engine = commands.add_parser("engine", parents=[common],
                                 help="start, stop or show the warm local engine that commands reuse")
    engine.add_argument("action", choices=("start", "stop", "status"))
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
