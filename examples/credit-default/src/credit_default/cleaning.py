"""EDIT ME (2 of 4) — the cleaning rules (Limpeza).

``expectations`` are declarative, like Databricks' expectations: a name and a SQL condition every
good row satisfies. A row failing any of them goes to the ``quarantine`` table with the names of
the rules it failed; the others go to ``silver``. A condition that evaluates to NULL counts as a
failure. If a batch has fewer good rows than ``conf/training.yml`` → ``clean.min_pass_rate``, the
training pipeline stops before training: a feed that broken needs a person, not a model.

``standardize`` runs before the expectations: fix what can be fixed (trim, case, units) there.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pyspark.sql import functions as F

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

    from .settings import Settings


def expectations(settings: Settings, labelled: bool = True) -> dict[str, str]:
    """Rule name → SQL condition. ``labelled`` adds the rules about the target."""
    rules = {
        "id_present": f"{settings.id_column} IS NOT NULL",
        "timestamp_present": f"{settings.timestamp_column} IS NOT NULL",
        "age_in_range": "age BETWEEN 18 AND 100",
        "income_positive": "income > 0",
        "debt_ratio_non_negative": "debt_ratio >= 0",
        "utilization_in_range": "utilization BETWEEN 0 AND 2",
        "counts_non_negative": "credit_lines >= 0 AND late_payments_12m >= 0",
        "region_known": "region IN ('N', 'NE', 'CO', 'SE', 'S')",
    }
    if labelled:
        target = settings.target_column
        rules["target_present"] = f"{target} IS NOT NULL"
        rules["target_valid"] = (
            f"{target} IN (0, 1)" if settings.is_classification else f"{target} >= 0"
        )
    return rules


def standardize(df: DataFrame) -> DataFrame:
    """Normalise text columns so that ' se' and 'SE' are one region."""
    return df.withColumn("region", F.upper(F.trim("region"))).withColumn(
        "product", F.lower(F.trim("product"))
    )
