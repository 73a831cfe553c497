"""Drift of a scored batch against the champion's baseline, with the metric names Databricks
Lakehouse Monitoring uses: ``population_stability_index`` (the primary signal for numeric
features and the prediction), ``js_distance`` (categorical features) and ``ks_test`` (the KS
statistic, reported for numeric features).

The batch is reduced in Spark, in one pass, to counts per (feature, bin) using the baseline's
own bin edges; the statistics are then computed from those few hundred counts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..tables import sql_string
from .baseline import NULL_BIN, PREDICTION, Baseline

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

# Smoothing for empty bins: PSI and Jensen-Shannon are undefined on a zero share.
EPSILON = 1e-4


@dataclass(frozen=True)
class FeatureDrift:
    feature: str
    kind: str  # numeric, categorical or prediction
    psi: float
    js_distance: float | None = None
    ks_statistic: float | None = None
    drifted: bool = False
    threshold: float | None = None  # the limit its deciding statistic was compared with

    @property
    def deciding_metric(self) -> str:
        return "js_distance" if self.kind == "categorical" else "population_stability_index"


def psi(expected: dict, actual: dict) -> float:
    """Population stability index: sum over bins of (actual - expected) * ln(actual / expected)."""
    total = 0.0
    for key in set(expected) | set(actual):
        e, a = max(expected.get(key, 0.0), EPSILON), max(actual.get(key, 0.0), EPSILON)
        total += (a - e) * math.log(a / e)
    return total


def js_distance(expected: dict, actual: dict) -> float:
    """Jensen-Shannon distance in base 2 (0: same distribution, 1: disjoint)."""
    keys = set(expected) | set(actual)
    p_total, q_total = sum(expected.values()) or 1.0, sum(actual.values()) or 1.0
    divergence = 0.0
    for key in keys:
        p, q = expected.get(key, 0.0) / p_total, actual.get(key, 0.0) / q_total
        m = (p + q) / 2
        if p > 0:
            divergence += 0.5 * p * math.log2(p / m)
        if q > 0:
            divergence += 0.5 * q * math.log2(q / m)
    return math.sqrt(max(divergence, 0.0))


def ks_statistic(baseline_cdf: list[float], batch_cdf: list[float]) -> float:
    """Largest gap between the two cumulative distributions at the baseline's percentiles."""
    return max((abs(b - a) for a, b in zip(baseline_cdf, batch_cdf)), default=0.0)


def _bin(column: str, edges: list[float]) -> str:
    """SQL for the index of the bin holding the value: how many upper edges (sorted) lie strictly
    below it.

    A binary search written as nested CASE WHEN: log2(edges) comparisons a row, compiled by Spark's
    code generation, where filtering an array of every edge cost an array and a lambda call per
    edge, row and feature (the percentile points are a hundred edges). Written as SQL text, one
    call to the JVM, where building it with the Column API made thousands."""

    def search(low: int, high: int) -> str:
        # The answer lies in [low, high]: edges[:low] are below the value, edges[high:] are not.
        if low == high:
            return str(low)
        middle = (low + high) // 2
        return (f"CASE WHEN {column} > {_double(edges[middle])} THEN {search(middle + 1, high)} "
                f"ELSE {search(low, middle)} END")

    return f"CASE WHEN {column} IS NULL THEN {NULL_BIN} ELSE {search(0, len(edges))} END"


def _double(value: float) -> str:
    value = float(value)
    return f"{value!r}D" if math.isfinite(value) else f"CAST('{value}' AS DOUBLE)"


def _name(column: str) -> str:
    return "`" + column.replace("`", "``") + "`"


def _cell(feature: str, kind: str, value_sql: str) -> str:
    return f"named_struct('feature', {sql_string(feature)}, 'kind', '{kind}', 'cell', CAST({value_sql} AS STRING))"


def bin_counts(frame: DataFrame, baseline: Baseline, prediction_column: str) -> dict[tuple[str, str], dict]:
    """(feature, kind) -> {bin or category: rows}, for every feature of the baseline, in one pass."""
    cells = []
    for name, numeric in baseline.numeric.items():
        column = f"CAST({_name(prediction_column if name == PREDICTION else name)} AS DOUBLE)"
        cells.append(_cell(name, "bin", _bin(column, numeric.edges)))
        cells.append(_cell(name, "cdf", _bin(column, numeric.cdf_points)))
    for name in baseline.categorical:
        cells.append(_cell(name, "category", _name(name)))
    counted = (
        frame.selectExpr(f"explode(array({', '.join(cells)})) AS c")
        .groupBy("c.feature", "c.kind", "c.cell")
        .count()
        .collect()
    )
    result: dict[tuple[str, str], dict] = {}
    for row in counted:
        key = row["cell"] if row["kind"] == "category" else int(row["cell"])
        result.setdefault((row["feature"], row["kind"]), {})[key] = row["count"]
    return result


def _shares(counts: dict) -> dict:
    total = sum(counts.values())
    return {k: v / total for k, v in counts.items()} if total else {}


def cumulative_shares(fine_counts: dict, points: int) -> list[float]:
    """Share of non-null values at or below each percentile point (bin j holds values up to point j)."""
    present = {k: v for k, v in fine_counts.items() if k != NULL_BIN}
    total = sum(present.values())
    running, cdf = 0, []
    for j in range(points):
        running += present.get(j, 0)
        cdf.append(running / total if total else 0.0)
    return cdf


def measure(
    frame: DataFrame, baseline: Baseline, prediction_column: str, psi_threshold: float,
    js_threshold: float, prediction_psi_threshold: float,
) -> list[FeatureDrift]:
    """Drift of every feature and of the prediction of ``frame`` (a scored batch)."""
    counts = bin_counts(frame, baseline, prediction_column)
    results = []
    for name, numeric in baseline.numeric.items():
        value = psi(numeric.proportions, _shares(counts.get((name, "bin"), {})))
        ks = ks_statistic(numeric.cdf, cumulative_shares(counts.get((name, "cdf"), {}), len(numeric.cdf_points)))
        limit = prediction_psi_threshold if name == PREDICTION else psi_threshold
        results.append(FeatureDrift(name, "prediction" if name == PREDICTION else "numeric", value,
                                    ks_statistic=ks, drifted=value > limit, threshold=limit))
    for name, shares in baseline.categorical.items():
        observed = _shares(counts.get((name, "category"), {}))
        distance = js_distance(shares, observed)
        results.append(FeatureDrift(name, "categorical", psi(shares, observed), js_distance=distance,
                                    drifted=distance > js_threshold, threshold=js_threshold))
    return results
