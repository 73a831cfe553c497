"""The drift baseline of a registered version: the distribution of each feature and of the
prediction on the version's holdout, written by ``train`` to the ``drift_baselines`` table.

Why the holdout: it is the newest, out-of-time slice of the data the version was trained and
validated on, and its predictions are honest (not fitted). After a retrain on drifted data the
new champion's baseline describes the new data, so the next batch is judged against it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from pyspark.sql import functions as F
from pyspark.sql import types as T

from .. import features, tables

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

    from ..settings import Settings

PREDICTION = "prediction"
NULL_BIN = -1
# Percentiles at which the KS statistic is evaluated (exact to one percentile).
CDF_POINTS = np.arange(1, 100) / 100
SCHEMA = T.StructType(
    [
        T.StructField("model_name", T.StringType(), False),
        T.StructField("model_version", T.StringType(), False),
        T.StructField("feature", T.StringType(), False),
        T.StructField("kind", T.StringType(), False),
        T.StructField("bin", T.IntegerType(), False),
        T.StructField("upper_edge", T.DoubleType(), True),
        T.StructField("category", T.StringType(), True),
        T.StructField("proportion", T.DoubleType(), False),
        T.StructField("rows", T.LongType(), False),
        T.StructField("recorded_at", T.TimestampType(), False),
    ]
)


class MissingBaselineError(LookupError):
    """The version has no drift baseline (it was registered before baselines existed)."""


@dataclass
class NumericBaseline:
    edges: list[float]  # upper edges of the quantile bins; the last bin is open
    proportions: dict[int, float]  # bin (NULL_BIN for nulls) -> share of rows
    cdf_points: list[float] = field(default_factory=list)
    cdf: list[float] = field(default_factory=list)  # share of non-null values <= each point


@dataclass
class Baseline:
    model_version: str
    rows: int
    numeric: dict[str, NumericBaseline]
    categorical: dict[str, dict[str | None, float]]


def numeric_baseline(values: Iterable[float], bins: int) -> NumericBaseline:
    """Quantile bins (deduplicated: a feature with few values gets fewer bins) and percentiles."""
    array = np.asarray(pd.to_numeric(pd.Series(values), errors="coerce"), dtype="float64")
    present = array[~np.isnan(array)]
    total = len(array)
    if not len(present):
        return NumericBaseline([], {NULL_BIN: 1.0} if total else {})
    edges = np.unique(np.quantile(present, np.linspace(0, 1, bins + 1)[1:-1]))
    counts = np.bincount(np.searchsorted(edges, present, side="left"), minlength=len(edges) + 1)
    proportions = {i: float(count / total) for i, count in enumerate(counts)}
    if len(present) < total:
        proportions[NULL_BIN] = float((total - len(present)) / total)
    points = np.unique(np.quantile(present, CDF_POINTS))
    cdf = np.searchsorted(np.sort(present), points, side="right") / len(present)
    return NumericBaseline([float(e) for e in edges], proportions, [float(p) for p in points], [float(c) for c in cdf])


def categorical_baseline(values: Iterable[object]) -> dict[str | None, float]:
    series = pd.Series(list(values), dtype="object")
    shares = series.where(series.notna(), None).value_counts(normalize=True, dropna=False)
    return {(None if pd.isna(k) else str(k)): float(v) for k, v in shares.items()}


def compute(frame: pd.DataFrame, prediction: np.ndarray, model_version: str, bins: int) -> Baseline:
    """The baseline of ``model_version`` from its holdout ``frame`` and its predictions on it."""
    numeric = {
        name: numeric_baseline(frame[name], bins)
        for name in features.FEATURE_COLUMNS
        if name not in features.CATEGORICAL_FEATURES
    }
    numeric[PREDICTION] = numeric_baseline(prediction, bins)
    categorical = {name: categorical_baseline(frame[name]) for name in features.CATEGORICAL_FEATURES}
    return Baseline(str(model_version), len(frame), numeric, categorical)


def compute_in_spark(frame: DataFrame, prediction_column: str, model_version: str, bins: int) -> Baseline:
    """:func:`compute` without collecting the holdout (a Spark ML model's): the quantile edges and
    percentile points from ``percentile_approx`` (to 1/10,000 of the rows), then every share counted
    in one pass with the bins production batches are measured by (``drift.bin_counts``)."""
    from .drift import bin_counts, cumulative_shares

    numeric_names = [n for n in features.FEATURE_COLUMNS if n not in features.CATEGORICAL_FEATURES]
    columns = {name: prediction_column if name == PREDICTION else name for name in [*numeric_names, PREDICTION]}
    edges_at, points_at = list(np.linspace(0, 1, bins + 1)[1:-1]), list(CDF_POINTS)
    quantiles = frame.agg(
        F.count(F.lit(1)).alias("rows"),
        *[F.percentile_approx(F.col(column).cast("double"), [*edges_at, *points_at], 10_000).alias(name)
          for name, column in columns.items()],
    ).first()
    skeleton = Baseline(str(model_version), quantiles["rows"], {}, {n: {} for n in features.CATEGORICAL_FEATURES})
    for name in columns:
        found = quantiles[name] or []
        skeleton.numeric[name] = NumericBaseline(
            [float(e) for e in np.unique(found[: len(edges_at)])], {}, [float(p) for p in np.unique(found[len(edges_at):])])
    counts = bin_counts(frame, skeleton, prediction_column)
    total = skeleton.rows
    for name, numeric in skeleton.numeric.items():
        numeric.proportions = {b: n / total for b, n in sorted(counts.get((name, "bin"), {}).items())}
        numeric.cdf = cumulative_shares(counts.get((name, "cdf"), {}), len(numeric.cdf_points))
        if not numeric.edges and not numeric.cdf_points:  # a column of nulls only, as numeric_baseline says
            numeric.proportions, numeric.cdf_points, numeric.cdf = ({NULL_BIN: 1.0} if total else {}), [], []
    for name in skeleton.categorical:
        skeleton.categorical[name] = {k: n / total for k, n in counts.get((name, "category"), {}).items()}
    return skeleton


def _rows(settings: Settings, baseline: Baseline, recorded_at) -> list[tuple]:
    key = (settings.model_name, baseline.model_version)
    rows = []
    for name, numeric in baseline.numeric.items():
        for bin_, share in sorted(numeric.proportions.items()):
            upper = numeric.edges[bin_] if 0 <= bin_ < len(numeric.edges) else None
            rows.append((*key, name, "bin", bin_, upper, None, share, baseline.rows, recorded_at))
        for i, (point, share) in enumerate(zip(numeric.cdf_points, numeric.cdf)):
            rows.append((*key, name, "cdf", i, point, None, share, baseline.rows, recorded_at))
    for name, shares in baseline.categorical.items():
        for i, (category, share) in enumerate(sorted(shares.items(), key=lambda kv: (kv[0] is None, kv[0] or ""))):
            rows.append((*key, name, "category", NULL_BIN if category is None else i, None, category, share,
                         baseline.rows, recorded_at))
    return rows


def write(spark: SparkSession, settings: Settings, baseline: Baseline, recorded_at) -> None:
    """Replace the version's baseline rows (a rerun of train for the same version rewrites them)."""
    frame = tables.local_frame(spark, _rows(settings, baseline, recorded_at), SCHEMA)
    predicate = (
        f"model_name = {tables.sql_string(settings.model_name)} "
        f"AND model_version = {tables.sql_string(baseline.model_version)}"
    )
    tables.replace_where(frame, settings.table("drift_baselines"), predicate)


def load(spark: SparkSession, settings: Settings, model_version: str) -> Baseline:
    rows = (
        spark.table(settings.table("drift_baselines"))
        .where((F.col("model_name") == settings.model_name) & (F.col("model_version") == str(model_version)))
        .collect()
    )
    if not rows:
        raise MissingBaselineError(
            f"version {model_version} of {settings.model_name} has no drift baseline in "
            f"{settings.table('drift_baselines')}: retrain (the train stage writes it)"
        )
    numeric: dict[str, NumericBaseline] = {}
    categorical: dict[str, dict[str | None, float]] = {}
    for row in sorted(rows, key=lambda r: (r["feature"], r["kind"], r["bin"])):
        name, kind = row["feature"], row["kind"]
        if kind == "category":
            categorical.setdefault(name, {})[row["category"]] = row["proportion"]
            continue
        entry = numeric.setdefault(name, NumericBaseline([], {}))
        if kind == "bin":
            entry.proportions[row["bin"]] = row["proportion"]
            if row["upper_edge"] is not None:
                entry.edges.append(row["upper_edge"])
        else:
            entry.cdf_points.append(row["upper_edge"])
            entry.cdf.append(row["proportion"])
    return Baseline(str(model_version), rows[0]["rows"], numeric, categorical)
