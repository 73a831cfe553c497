"""Production performance of a scored batch once its labels are in, computed in Spark.

The same metric names as the gate (``evaluation.py``), so a floor in ``conf/`` means the same
thing at training time and in production. Everything is a Spark aggregation; ROC AUC is the
Mann-Whitney statistic over the scores rounded to 1e-6 (ties count one half), which matches
scikit-learn to about 1e-6 without ever sorting the batch on the driver.

The frame is the batch's labels joined (left) with its scored rows: a label whose id and timestamp
match no scored row (a row quarantined before scoring, or one the batch never had) has no
``prediction``; it is counted as ``labels_never_scored`` in the same aggregation, and measured in
nothing else.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from pyspark.sql import Window
from pyspark.sql import functions as F

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

# Scores closer than this fall in one bucket of the AUC (and count as ties).
SCORE_RESOLUTION = 6
LOG_LOSS_CLIP = 1e-15
# scikit-learn's guard against a zero denominator in MAPE.
MAPE_EPSILON = 2.220446049250313e-16
# Labels of a batch that match no scored row of it (see the module docstring).
UNSCORED = "labels_never_scored"


def classification_metrics(frame: DataFrame, label: str) -> dict[str, float]:
    """roc_auc, log_loss, accuracy, precision, recall, f1 of ``prediction``/``probability`` vs ``label``."""
    y, p = F.col(label).cast("double"), F.col("prediction").cast("double")
    clipped = F.least(F.greatest(F.col("probability"), F.lit(LOG_LOSS_CLIP)), F.lit(1 - LOG_LOSS_CLIP))
    # A label with no prediction makes every condition below NULL: counted in no total but its own.
    totals = frame.agg(
        F.count(p).alias("n"),
        F.count("*").alias("labels"),
        F.sum(F.when((y == 1) & (p == 1), 1).otherwise(0)).alias("tp"),
        F.sum(F.when((y == 0) & (p == 1), 1).otherwise(0)).alias("fp"),
        F.sum(F.when((y == 1) & (p == 0), 1).otherwise(0)).alias("fn"),
        F.sum(F.when(y == p, 1).otherwise(0)).alias("correct"),
        # greatest() skips a NULL: the unscored are left out explicitly.
        F.avg(F.when(p.isNotNull(), -(y * F.log(clipped) + (1 - y) * F.log(1 - clipped)))).alias("log_loss"),
    ).first()
    n, tp, fp, fn = totals["n"], totals["tp"], totals["fp"], totals["fn"]
    unscored = {UNSCORED: float(totals["labels"] - n)}
    if not n:
        return unscored
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    return {
        **unscored,
        "roc_auc": roc_auc(frame.where(F.col("prediction").isNotNull()), label),
        "log_loss": float(totals["log_loss"]),
        "accuracy": totals["correct"] / n,
        "precision": precision,
        "recall": recall,
        "f1": 2 * precision * recall / (precision + recall) if precision + recall else 0.0,
    }


def roc_auc(frame: DataFrame, label: str) -> float:
    """P(score of a positive > score of a negative), ties one half; NaN with a single class."""
    buckets = frame.groupBy(F.round("probability", SCORE_RESOLUTION).alias("score")).agg(
        F.sum(F.col(label).cast("double")).alias("pos"),
        F.sum(1 - F.col(label).cast("double")).alias("neg"),
    )
    # One partition on purpose (a few thousand score buckets at most): said explicitly, so Spark
    # does not warn about moving all the data to one partition.
    below = Window.partitionBy(F.lit(0)).orderBy("score").rowsBetween(Window.unboundedPreceding, -1)
    result = (
        buckets.withColumn("neg_below", F.coalesce(F.sum("neg").over(below), F.lit(0.0)))
        .agg(
            F.sum(F.col("pos") * F.col("neg_below") + 0.5 * F.col("pos") * F.col("neg")).alias("wins"),
            F.sum("pos").alias("pos"),
            F.sum("neg").alias("neg"),
        )
        .first()
    )
    if not result["pos"] or not result["neg"]:
        return float("nan")
    return float(result["wins"] / (result["pos"] * result["neg"]))


def regression_metrics(frame: DataFrame, label: str) -> dict[str, float]:
    """rmse, mae, r2, mape of ``prediction`` vs ``label``."""
    y, p = F.col(label).cast("double"), F.col("prediction").cast("double")
    # A label with no prediction is NULL in every average below: counted in no total but its own.
    totals = frame.agg(
        F.count(p).alias("n"),
        F.count("*").alias("labels"),
        F.avg((y - p) * (y - p)).alias("mse"),
        F.avg(F.abs(y - p)).alias("mae"),
        F.avg(F.abs(y - p) / F.greatest(F.abs(y), F.lit(MAPE_EPSILON))).alias("mape"),
        F.var_pop(F.when(p.isNotNull(), y)).alias("variance"),
    ).first()
    unscored = {UNSCORED: float(totals["labels"] - totals["n"])}
    if not totals["n"]:
        return unscored
    variance = totals["variance"] or 0.0
    return {
        **unscored,
        "rmse": math.sqrt(totals["mse"]),
        "mae": float(totals["mae"]),
        "r2": 1 - totals["mse"] / variance if variance else float("nan"),
        "mape": float(totals["mape"]),
    }


def measure(frame: DataFrame, label: str, problem_type: str) -> dict[str, float]:
    """Every metric of the problem type over ``frame`` (labels joined with their scored rows), and
    ``labels_never_scored``."""
    if problem_type == "classification":
        return classification_metrics(frame, label)
    return regression_metrics(frame, label)
