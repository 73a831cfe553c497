"""What each CLI command does (kept apart from argument parsing so tests can call it)."""

from __future__ import annotations

import argparse
import json
import sys

from mlflow import MlflowClient

from . import registry, simulator, sources, tables
from .orchestration.runner import run_execution, run_pipeline
from .runtime import engine as runtime_engine
from .runtime.session import get_spark
from .runtime.tracking import configure_mlflow
from .settings import Settings

# The newest unfinished runs `status` lists (the journal keeps them all).
UNFINISHED_SHOWN = 3


def dispatch(args: argparse.Namespace, settings: Settings) -> int:
    commands = {"init": init, "train": train, "execute": execute, "loop": loop, "stage": stage, "status": status,
                "report": report, "rollback": rollback, "serve": serve, "engine": engine}
    return commands[args.command](args, settings)


def init(args: argparse.Namespace, settings: Settings) -> int:
    if settings.is_local and (settings.project.get("local") or {}).get("engine", True) and runtime_engine.enabled():
        info = runtime_engine.start(settings)
        print(f"engine: {runtime_engine.describe(info)}, for the commands that follow (`engine stop` ends it)")
    spark = get_spark(settings)
    applied = tables.apply_ddl(spark, settings)
    configure_mlflow(settings)
    created = tables.declared(settings)
    done = f"{len(applied)} statements applied" if applied else "already current"
    print(f"schema {settings.catalog}.{settings.schema}: {done} "
          f"(tables {', '.join(created['table'])}; views {', '.join(created['view'])})")
    if not sources.uses_sample_data():
        print(f"data: {_available(spark, settings)}")
    elif settings.is_local:
        seeded = simulator.write_history(settings)
        print(f"sample data: labelled history written as batch {seeded}" if seeded
              else "sample data: landing batches already present, left as they are")
    return 0


def _available(spark, settings: Settings) -> str:
    """What data_source.py finds now; `init` must not fail because the data is not there yet."""
    try:
        batches = sources.active().list_batches(spark, settings)
    except Exception as error:  # noqa: BLE001 - e.g. the source table is not created yet
        return f"data_source.py cannot list batches yet: {str(error).splitlines()[0]}"
    return f"data_source.py finds {len(batches)} batches" + (f", the newest {batches[-1]}" if batches else "")


def train(args: argparse.Namespace, settings: Settings) -> int:
    spark = get_spark(settings)
    tables.apply_ddl(spark, settings)
    outcomes = run_pipeline(spark, settings, "training")
    promote = outcomes[-1].output
    if promote.get("promoted"):
        print(f"@champion is now version {promote['champion_version']}")
    else:
        print(f"not promoted: {promote.get('reason')}")
    return 0


def execute(args: argparse.Namespace, settings: Settings) -> int:
    spark = get_spark(settings)
    tables.apply_ddl(spark, settings)
    run = run_execution(spark, settings, batch_id=args.batch)
    decision = run.decision
    print(f"decision for batch {decision.get('batch_id') or '(none: no new batch)'}: "
          f"{decision['decision']} ({decision['rule']})")
    for line in explain(decision, settings):
        print(f"  {line}")
    promotion = run.promotion
    if promotion is not None:
        print(f"@champion is now version {promotion['champion_version']}" if promotion.get("promoted")
              else f"retrained, not promoted: {promotion.get('reason')}")
    if run.alert:
        # The factory run fails on an alert so that its failed-run alerts reach a person: so does this.
        print(f"error: {run.alert}", file=sys.stderr)
        return 1
    return 0


def explain(decision: dict, settings: Settings) -> list[str]:
    """The numbers behind a decision: the batch's production metrics and the rules' evidence."""
    if not decision.get("batch_id"):
        return []
    production = decision.get("production") or {}
    primary = settings.primary_metric
    shown = sorted(production, key=lambda name: (name != primary, name))
    lines = [f"production metrics (labels of {decision['batch_id']}): "
             + ", ".join(f"{name}={production[name]:.4f}" for name in shown) if production
             else f"production metrics: the labels of {decision['batch_id']} have not arrived yet"]
    evidence = decision.get("evidence") or {}
    if evidence.get("schema_break"):
        lines.append(evidence["schema_break"])
    if evidence.get("features"):
        parts = [f"pass rate {evidence['pass_rate']:.1%}" if evidence.get("pass_rate") is not None else None,
                 f"{evidence['drifted_features']} of {evidence['features']} features drifted",
                 f"max PSI {evidence['max_psi']:.3f}" if evidence.get("max_psi") is not None else None,
                 f"prediction PSI {evidence['prediction_psi']:.3f}" if evidence.get("prediction_psi") is not None else None,
                 f"rules fired: {', '.join(evidence['fired']) or 'none'}"]
        lines.append("evidence: " + ", ".join(part for part in parts if part))
    if evidence.get("rule_failure_rates"):
        lines.append("rows not scored: " + ", ".join(f"{rule} {share:.1%}" for rule, share
                                                       in sorted(evidence["rule_failure_rates"].items())))
    if evidence.get("extra_columns"):
        lines.append(f"columns not declared, left out: {evidence['extra_columns']}")
    return lines


def loop(args: argparse.Namespace, settings: Settings) -> int:
    from .loop import run_loop, table

    if not settings.is_local:
        raise RuntimeError("loop feeds simulated batches: it runs locally only (--env local)")
    if not sources.uses_sample_data():
        raise RuntimeError(
            "loop feeds simulated batches, and this project reads its own data (data_source.py has no "
            f"SAMPLE_DATA = True): run `execute` as batches land, or try the loop on sample data apart with "
            f"{sources.SAMPLE_DATA_VAR}=1 MLOPS_LOCAL_DIR=.local-sample"
        )
    spark = get_spark(settings)
    tables.apply_ddl(spark, settings)
    configure_mlflow(settings)
    simulator.write_history(settings)
    steps = run_loop(
        spark, settings, batches=args.batches, drift_at=args.drift_at, strength=args.drift, rows=args.rows,
        label_delay=args.label_delay, break_schema_at=args.break_schema_at, noise=args.noise,
        stage_echo=print if args.verbose else (lambda line: None),
    )
    print()
    print(table(steps, settings.primary_metric))
    return 0


def stage(args: argparse.Namespace, settings: Settings) -> int:
    """One stage, in this process: its parameters checked against its notebook's widgets first."""
    from .orchestration import stage as declared_stage
    from .stages import run_stage

    declared = declared_stage(settings.root, args.name)
    params = dict(args.param)
    if args.batch:
        params["batch_id"] = args.batch
    own = [p for p in declared.parameters if p not in ("env", "pipeline_run_id", "trigger_time")]
    unknown = sorted(set(params) - set(own))
    if unknown:
        raise ValueError(f"stage {declared.name} has no parameter {', '.join(unknown)}; "
                         f"its parameters are {', '.join(own) or 'none'}")
    spark = get_spark(settings)
    tables.apply_ddl(spark, settings)
    result = run_stage(declared.name, spark, env=settings.env, **params)
    print(json.dumps(result, indent=2, default=str))
    return 0


def report(args: argparse.Namespace, settings: Settings) -> int:
    from .report import write_report
    from .runtime import require_reachable

    require_reachable(settings)  # before MLflow is pointed anywhere
    configure_mlflow(settings)
    path, run_id = write_report(settings, args.output)
    print(f"report written to {path} (and logged to MLflow run {run_id})")
    return 0


def rollback(args: argparse.Namespace, settings: Settings) -> int:
    configure_mlflow(settings)
    result = registry.rollback(MlflowClient(), settings.model_name)
    print(f"@champion is version {result.champion} again (was {result.previous_champion})")
    return 0


def serve(args: argparse.Namespace, settings: Settings) -> int:
    from .runtime import api, on_databricks
    from .runtime.tracking import use_store

    if on_databricks():
        raise RuntimeError("serve runs the project's API off Databricks; there, deploy points the serving endpoint")
    if not settings.is_local and args.request_log == "table":
        raise RuntimeError(f"serve --env {settings.env} cannot write inference_log from here: "
                           "use --request-log stdout (the container does)")
    use_store(settings)  # the registry is all it reads; off Databricks, dev / uat / prod come from the environment
    return api.serve(settings, host=args.host, port=args.port, poll_seconds=args.poll_seconds,
                     version=None if args.model_version is None else str(args.model_version),
                     request_log=args.request_log)


def status(args: argparse.Namespace, settings: Settings) -> int:
    from .status import collect

    state = collect(settings)
    if args.json:
        print(json.dumps(state, indent=2, default=str))
        return 0
    aliases = state["aliases"]
    print(f"model {state['model_name']} ({state['env']})")
    for alias, version in aliases.items():
        print(f"  @{alias:<18} {'v' + version if version else '-'}")
    if state["champion_metrics"]:
        shown = ", ".join(f"{k}={v:.4f}" for k, v in sorted(state["champion_metrics"].items()))
        print(f"  champion holdout metrics: {shown}")
    production = state["champion_production"]
    if production:
        shown = ", ".join(f"{k}={v:.4f}" for k, v in sorted(production["metrics"].items()))
        print(f"  champion production metrics (batch {production['batch_id']}): {shown}")
    last = state["last_stage_run"]
    if last:
        print(f"  last stage run: {last['pipeline']}/{last['stage']} {last['status']} at {last['started_at']}")
    decision = state["last_decision"]
    print(f"  last decision: {decision['decision'] + ' (' + decision['rule'] + ')' if decision else 'none yet'}")
    print("  rows: " + ", ".join(f"{t}={n}" for t, n in state["row_counts"].items()))
    for run in state["unfinished_runs"][:UNFINISHED_SHOWN]:
        where = f"at {run['activity']}" if run["activity"] else "before its first activity"
        how = ("still running" if run["running"] else
               f"never finished (its process ended); a later {run['pipeline']} run completed" if run["completed_since"]
               else "never finished (its process ended): run the command again")
        print(f"  unfinished run: {run['pipeline']} {run['run_id']} started {run['started']}, {where}, {how}")
    return 0


def engine(args: argparse.Namespace, settings: Settings) -> int:
    if not settings.is_local:
        raise RuntimeError("the warm engine is local; on Databricks commands use the cluster's session")
    if args.action == "start":
        print(f"engine: {runtime_engine.describe(runtime_engine.start(settings))}")
    elif args.action == "stop":
        print("engine: stopped" if runtime_engine.stop(settings) else "engine: none was running")
    else:
        info = runtime_engine.running(settings)
        print(f"engine: {runtime_engine.describe(info)}" if info
              else "engine: not running (commands start their own Spark)")
    return 0
