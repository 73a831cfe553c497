"""``report``: one HTML file with what the loop did, read back from the Delta tables — the primary
metric per batch against its threshold, drift of each feature per batch, the champion over time,
every decision with its rule, and every candidate the gate judged (its metric, the champion's on the
same holdout, promoted or not, why) — also logged to MLflow as an artifact of a ``report`` run.
"""

from __future__ import annotations

import base64
import html
import io
import json
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import matplotlib

matplotlib.use("Agg")  # no display: files only
import matplotlib.pyplot as plt  # noqa: E402
import mlflow  # noqa: E402

from . import readers  # noqa: E402

if TYPE_CHECKING:
    from .settings import Settings

DECISION_COLOURS = {"satisfactory": "#2e7d32", "retrain": "#ef6c00", "alert": "#c62828"}
STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 1100px; color: #222; }
h1 { margin-bottom: 0; } .meta { color: #666; margin-top: .3rem; }
table { border-collapse: collapse; margin: 1rem 0; font-size: .9rem; }
th, td { border-bottom: 1px solid #ddd; padding: .3rem .7rem; text-align: left; }
td.satisfactory { color: #2e7d32; } td.retrain { color: #ef6c00; } td.alert { color: #c62828; font-weight: bold; }
img { max-width: 100%; }
"""


class NothingToReport(LookupError):
    """No execution run has written a decision yet."""


def gather(settings: Settings) -> dict[str, Any]:
    """The report's data, small by construction (one row per batch, or per batch and feature)."""
    name = settings.model_name
    decisions = readers.read_view(settings, "monitoring_decisions")
    if decisions is not None:
        decisions = decisions[decisions.model_name == name].sort_values("decided_at")
    if decisions is None or decisions.empty:
        raise NothingToReport("nothing to report yet: run `execute` or `loop` first")
    every = readers.read_view(settings, "metrics")
    every = every[every.model_name == name]
    metrics = every[every.stage == "metrics"]
    performance = metrics[(metrics.dataset == "production") & (metrics.metric_name == settings.primary_metric)]
    drift = metrics[metrics.metric_name.isin(["population_stability_index", "js_distance"]) & metrics.threshold.notna()]
    return {
        "decisions": _records(decisions),
        "performance": _records(performance.sort_values("batch_id")[["batch_id", "model_version", "metric_value",
                                                                      "threshold"]]),
        "drift": _records(drift.sort_values(["batch_id", "feature"])[["batch_id", "feature", "metric_name",
                                                                      "metric_value", "threshold"]]),
        "gates": gate_history(every[every.stage == "evaluate"], settings.primary_metric),
    }


def gate_history(evaluated, metric: str) -> list[dict[str, Any]]:
    """Every candidate the gate judged, oldest first: its primary metric on its holdout, the
    champion's on the same holdout, whether it passed (and so was promoted) and the gate's words."""
    gates = evaluated[evaluated.metric_name == "gate"].sort_values("recorded_at")
    scores = evaluated[evaluated.metric_name == metric]
    history = []
    for gate in gates.itertuples():
        mine = scores[scores.model_version == gate.model_version]
        candidate, champion = mine[mine.dataset == "holdout"], mine[mine.dataset == "champion_on_holdout"]
        champion_of = _last(champion, "feature")
        history.append({
            "model_version": gate.model_version,
            "recorded_at": gate.recorded_at,
            "candidate": _last(candidate, "metric_value"),
            "threshold": _last(candidate, "threshold"),
            "champion": _last(champion, "metric_value"),
            "champion_version": champion_of.removeprefix("champion_v") if champion_of else None,
            "passed": bool(gate.passed),
            "reason": gate.details or "",
        })
    return history


def _last(frame, column: str) -> Any:
    """The column's value in the frame's last row; None for no row or a missing value."""
    if frame.empty:
        return None
    value = frame[column].iloc[-1]
    return None if value is None or value != value else value


def _records(frame) -> list[dict[str, Any]]:
    """Rows as dicts, with a missing number as None (not NaN)."""
    return [{k: None if v != v else v for k, v in row.items()} for row in frame.to_dict("records")]


def _png(figure) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    plt.close(figure)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def performance_chart(data: dict[str, Any], metric: str) -> str | None:
    points = data["performance"]
    if not points:
        return None
    figure, axis = plt.subplots(figsize=(9, 3.2))
    batches = [p["batch_id"] for p in points]
    axis.plot(batches, [p["metric_value"] for p in points], marker="o", color="#1565c0", label=metric)
    for p in points:
        axis.annotate(f"v{p['model_version']}", (p["batch_id"], p["metric_value"]), textcoords="offset points",
                      xytext=(0, 7), ha="center", fontsize=8)
    threshold = next((p["threshold"] for p in reversed(points) if p["threshold"] is not None), None)
    if threshold is not None:
        axis.axhline(threshold, color="#c62828", linestyle="--", label=f"threshold {threshold:g}")
    axis.set_title(f"{metric} per batch (labels joined to predictions)")
    axis.legend(loc="best", fontsize=8)
    axis.tick_params(axis="x", rotation=45)
    return _png(figure)


def drift_chart(data: dict[str, Any]) -> str | None:
    cells = data["drift"]
    if not cells:
        return None
    batches = sorted({c["batch_id"] for c in cells})
    features = sorted({c["feature"] for c in cells}, key=lambda f: (f == "prediction", f))
    ratio = [[float("nan")] * len(batches) for _ in features]
    for c in cells:
        ratio[features.index(c["feature"])][batches.index(c["batch_id"])] = c["metric_value"] / (c["threshold"] or 1)
    figure, axis = plt.subplots(figsize=(9, 0.35 * len(features) + 1.5))
    image = axis.imshow(ratio, aspect="auto", cmap="RdYlGn_r", vmin=0, vmax=2)
    axis.set_xticks(range(len(batches)), batches, rotation=45)
    axis.set_yticks(range(len(features)), features)
    for i, row in enumerate(ratio):
        for j, value in enumerate(row):
            if value == value:  # not NaN
                axis.text(j, i, f"{value:.1f}", ha="center", va="center", fontsize=7)
    figure.colorbar(image, ax=axis, label="statistic / its threshold (above 1: drifted)")
    axis.set_title("Drift per feature: PSI (numeric, prediction) or Jensen-Shannon (categorical)")
    return _png(figure)


def champion_chart(data: dict[str, Any]) -> str:
    decisions = data["decisions"]
    figure, axis = plt.subplots(figsize=(9, 2.6))
    labels = [d["batch_id"] or "(no batch)" for d in decisions]
    versions = [int(d["model_version"]) for d in decisions]
    axis.step(range(len(decisions)), versions, where="post", color="#555")
    axis.scatter(range(len(decisions)), versions, c=[DECISION_COLOURS[d["decision"]] for d in decisions], zorder=3)
    axis.set_xticks(range(len(decisions)), labels, rotation=45)
    axis.set_yticks(sorted(set(versions)), [f"v{v}" for v in sorted(set(versions))])
    axis.set_title("Champion that scored each batch (dot: decision — green satisfactory, orange retrain, red alert)")
    return _png(figure)


def render(settings: Settings, data: dict[str, Any]) -> str:
    metric = settings.primary_metric
    charts = [
        performance_chart(data, settings.primary_metric),
        drift_chart(data),
        champion_chart(data),
    ]
    rows = []
    for d in data["decisions"]:
        fired = json.loads(d["inputs"]).get("fired") or []
        rows.append(
            "<tr><td>{}</td><td>{}</td><td class='{}'>{}</td><td>{}</td><td>v{}</td><td>{}</td></tr>".format(
                html.escape(d["batch_id"] or "-"), html.escape(str(d["decided_at"])[:19]), d["decision"],
                d["decision"], html.escape(d["rule"]), html.escape(d["model_version"]),
                html.escape(", ".join(fired)),
            )
        )
    images = "".join(f"<p><img alt='chart' src='data:image/png;base64,{c}'></p>" for c in charts if c)
    gates = "".join(
        "<tr><td>v{}</td><td>{}</td><td>{}</td><td>{}</td><td class='{}'>{}</td><td>{}</td></tr>".format(
            html.escape(g["model_version"]), html.escape(str(g["recorded_at"])[:19]), _number(g["candidate"], g["threshold"]),
            f"{_number(g['champion'])} (v{html.escape(g['champion_version'])})" if g["champion_version"] else "no champion yet",
            "satisfactory" if g["passed"] else "alert", "promoted" if g["passed"] else "not promoted",
            html.escape(g["reason"]),
        )
        for g in data["gates"]
    )
    generated = datetime.now(timezone.utc).isoformat(timespec="seconds")
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>{html.escape(settings.project['model_display_name'])} — monitoring report</title>"
        f"<style>{STYLE}</style></head><body>"
        f"<h1>{html.escape(settings.project['model_display_name'])} — monitoring report</h1>"
        f"<p class='meta'>model {html.escape(settings.model_name)} · environment {settings.env} · "
        f"generated {generated}</p>{images}"
        "<h2>Decisions</h2><table><tr><th>batch</th><th>decided at</th><th>decision</th><th>rule</th>"
        "<th>champion</th><th>retrain rules that fired</th></tr>" + "".join(rows) + "</table>"
        f"<h2>Gate history</h2><table><tr><th>candidate</th><th>evaluated at</th><th>{html.escape(metric)} (threshold)</th>"
        "<th>champion on the same holdout</th><th>outcome</th><th>why</th></tr>" + gates + "</table></body></html>"
    )


def _number(value: float | None, threshold: float | None = None) -> str:
    shown = "-" if value is None else f"{value:.4f}"
    return f"{shown} ({threshold:g})" if threshold is not None else shown


def write_report(settings: Settings, output: Path | None = None) -> tuple[Path, str]:
    """Write the report (default ``.local/reports/report.html``) and log it to MLflow; (path, run id)."""
    path = Path(output) if output else settings.local_dir / "reports" / "report.html"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(settings, gather(settings)), encoding="utf-8")
    with mlflow.start_run(run_name="report") as run:
        mlflow.set_tags({"stage": "report", "env": settings.env})
        mlflow.log_artifact(str(path), artifact_path="report")
    return path, run.info.run_id
