"""``loop``: the closed loop on simulated data, one execution run per new batch.

Each step lands a batch (healthy, or from a drifted regime from ``drift_at`` on), delivers the
labels that are due, runs the execution pipeline and, when it decides ``retrain``, the training
pipeline — exactly what the factory does on its daily trigger. It ends with the table of what
happened: batch, decision, champion version, primary metric, largest feature PSI.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from mlflow import MlflowClient
from pyspark.sql import functions as F

from . import registry, simulator
from .orchestration.runner import run_execution, run_pipeline
from .simulator import Scenario

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from .settings import Settings


@dataclass
class Step:
    batch: str
    data: str  # what the simulator sent: healthy, drifted <strength>, schema break
    decision: str
    rule: str
    scored_by: str | None
    champion: str | None  # after the step (a retrain may have promoted a new version)
    seconds: float
    metric: float | None = None  # primary metric on the batch's labels, once they arrived
    max_psi: float | None = None
    alert: str | None = None  # what the run asked a person to look at (the factory run failed on purpose)


def scenario_for(step: int, drift_at: int, strength: float, break_schema_at: int,
                 noise: float = 0.0) -> tuple[Scenario, str]:
    scenario, label = Scenario(), "healthy"
    if drift_at and step >= drift_at:
        scenario = Scenario.drifted(strength, noise)
        label = f"drifted {strength:g}" + (f", noise {noise:g}" if noise else "")
    if break_schema_at and step == break_schema_at:
        scenario, label = replace(scenario, schema_break=True), "schema break"
    return scenario, label


def run_loop(
    spark: SparkSession,
    settings: Settings,
    *,
    batches: int,
    drift_at: int = 0,
    strength: float = 0.5,
    rows: int = 5000,
    label_delay: int = 0,
    break_schema_at: int = 0,
    noise: float = 0.0,
    echo: Callable[[str], None] = print,
    stage_echo: Callable[[str], None] = lambda line: None,
) -> list[Step]:
    """Simulate ``batches`` new batches through the execution pipeline; return one Step each."""
    client = MlflowClient()
    if registry.version_by_alias(client, settings.model_name, registry.CHAMPION) is None:
        echo("no @champion yet: running the training pipeline on the history first")
        run_pipeline(spark, settings, "training", echo=stage_echo)
    keys = [settings.id_column, settings.timestamp_column, settings.target_column]
    start = simulator.next_number(settings)
    due: list[tuple[str, object]] = []  # labels waiting to arrive, oldest first
    steps: list[Step] = []
    for step in range(1, batches + 1):
        began = time.monotonic()
        number = start + step - 1
        scenario, label = scenario_for(step, drift_at, strength, break_schema_at, noise)
        frame = simulator.generate(settings, number, rows, scenario)
        name = simulator.write_batch(settings, number, frame, labels=False)
        # A broken feed delivers no usable ground truth either: a person re-lands it after the alert.
        if not scenario.schema_break:
            due.append((name, frame[keys]))
        while len(due) > label_delay:
            labelled, labels = due.pop(0)
            simulator.write_labels(settings, labelled, labels)
        run = run_execution(spark, settings, echo=stage_echo)
        decision = run.decision
        champion = registry.version_by_alias(client, settings.model_name, registry.CHAMPION)
        # The run takes the oldest batch without a decision: the one just landed, unless an
        # earlier run failed before deciding on its batch (then that one first).
        steps.append(Step(decision.get("batch_id") or name, label, decision["decision"], decision["rule"],
                          decision.get("model_version"),
                          champion.version if champion else None, time.monotonic() - began, alert=run.alert))
        echo(_line(steps[-1], run.promotion))
    _fill_measures(spark, settings, steps)
    return steps


def _line(step: Step, promotion: dict | None) -> str:
    after = ""
    if promotion is not None:
        after = (f" → v{promotion['champion_version']} promoted" if promotion.get("promoted")
                 else f" → not promoted ({promotion.get('reason')})")
        after += " with an alert: it misses the gate, the champion it replaced missed it further" \
            if promotion.get("alert") else ""
    return (f"{step.batch}  {step.data:<12}  {step.decision} ({step.rule}){after}  "
            f"champion v{step.champion}  {step.seconds:.0f}s")


def _fill_measures(spark: SparkSession, settings: Settings, steps: list[Step]) -> None:
    """Primary metric and largest feature PSI of each batch, as the metrics table holds them now."""
    names = [s.batch for s in steps]
    rows = (
        spark.table(settings.table("metrics"))
        .where((F.col("stage") == "metrics") & F.col("batch_id").isin(names))
        .where(((F.col("dataset") == "production") & (F.col("metric_name") == settings.primary_metric))
               | ((F.col("metric_name") == "population_stability_index") & (F.col("feature") != "prediction")))
        .groupBy("batch_id", "model_version", "metric_name")
        .agg(F.max("metric_value").alias("value"))
        .collect()
    )
    found = {(r["batch_id"], r["model_version"], r["metric_name"]): r["value"] for r in rows}
    for step in steps:
        step.metric = found.get((step.batch, step.scored_by, settings.primary_metric))
        step.max_psi = found.get((step.batch, step.scored_by, "population_stability_index"))


def table(steps: list[Step], metric: str) -> str:
    """The loop's summary as a fixed-width text table."""
    header = ("batch", "data", "decision", "rule", "champion", metric, "max PSI")
    lines = [header]
    for s in steps:
        moved = s.scored_by and s.champion and s.scored_by != s.champion
        lines.append((
            s.batch, s.data, s.decision, s.rule,
            f"v{s.scored_by} → v{s.champion}" if moved else f"v{s.champion}" if s.champion else "-",
            "-" if s.metric is None else f"{s.metric:.4f}",
            "-" if s.max_psi is None else f"{s.max_psi:.3f}",
        ))
    widths = [max(len(str(row[i])) for row in lines) for i in range(len(header))]
    return "\n".join("  ".join(str(v).ljust(w) for v, w in zip(row, widths)).rstrip() for row in lines)
