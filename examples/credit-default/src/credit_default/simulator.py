"""The sample-data simulator: the default data source of a fresh project.

It writes landing batches the way an upstream system would — rows first, labels later — from a
seeded generator of credit applicants, with knobs for the two ways a model goes stale:

- ``covariate_drift`` (0 = none, 1 = strong): the applicants change (lower income, more debt,
  more late payments, another regional mix); the relation between inputs and target does not.
- ``concept_drift`` (0 = none, 1 = strong): the same applicants, but what leads to the target
  changes (utilisation stops mattering, late payments matter much more).

``dirty_fraction`` of the rows break an expectation of ``cleaning.py`` on purpose, so the
quarantine path is exercised on every run; ``schema_break`` renames a column, the way an upstream
change breaks a feed. The same seed and batch number always give the same
rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from .settings import Settings

REGIONS = ("N", "NE", "CO", "SE", "S")
PRODUCTS = ("card", "personal_loan", "payroll_loan")
HISTORY_BATCH = "b0000"
EPOCH = datetime(2026, 1, 1, tzinfo=timezone.utc)
ROW_GROUP_ROWS = 100_000


@dataclass(frozen=True)
class Scenario:
    """How one batch differs from the data the first model was trained on."""

    covariate_drift: float = 0.0
    concept_drift: float = 0.0
    dirty_fraction: float = 0.01
    schema_break: bool = False

    @classmethod
    def drifted(cls, strength: float) -> Scenario:
        """A new regime: other applicants (covariate drift) who also behave differently (concept drift)."""
        return cls(covariate_drift=strength, concept_drift=strength)


def batch_id(number: int) -> str:
    return f"b{number:04d}"


def _applicants(rng: np.random.Generator, n: int, drift: float) -> pd.DataFrame:
    region_p = np.array([0.08, 0.27, 0.08, 0.42, 0.15])
    region_p = (1 - drift) * region_p + drift * np.array([0.25, 0.40, 0.10, 0.15, 0.10])
    return pd.DataFrame(
        {
            "age": np.clip(rng.normal(42 - 6 * drift, 12, n), 18, 85).astype("int32"),
            "income": np.round(rng.lognormal(np.log(5200) - 0.6 * drift, 0.5, n), 2),
            "debt_ratio": np.round(np.clip(rng.gamma(2.0, 0.18, n) + 0.35 * drift, 0, 3), 4),
            "credit_lines": rng.poisson(4 + 2 * drift, n).astype("int32"),
            "late_payments_12m": rng.poisson(0.4 + 1.4 * drift, n).astype("int32"),
            "utilization": np.round(np.clip(rng.beta(2, 3, n) + 0.3 * drift, 0, 1.5), 4),
            "employment_years": np.round(np.clip(rng.exponential(6 - 3 * drift, n), 0, 45), 1),
            "region": rng.choice(REGIONS, n, p=region_p / region_p.sum()),
            "product": rng.choice(PRODUCTS, n, p=[0.5, 0.3, 0.2]),
        }
    )


def _risk(x: pd.DataFrame, concept: float) -> np.ndarray:
    """Latent risk score; concept drift changes which inputs drive it."""
    product = x["product"].map({"card": 0.3, "personal_loan": 0.1, "payroll_loan": -0.6}).to_numpy()
    return (
        1.8 * (x["debt_ratio"] - 0.36)
        + (1 - 1.8 * concept) * 2.4 * (x["utilization"] - 0.4)
        + (0.5 + 1.5 * concept) * x["late_payments_12m"]
        - (1 - 2 * concept) * 0.6 * np.log(x["income"] / 5200)
        - 0.025 * (x["age"] - 42)
        - 0.05 * x["employment_years"]
        + concept * 1.2 * (x["credit_lines"] - 4) / 2
        + product
    ).to_numpy()


def _target(rng: np.random.Generator, x: pd.DataFrame, classification: bool, concept: float) -> np.ndarray:
    risk = _risk(x, concept)
    if classification:
        probability = 1 / (1 + np.exp(-(1.8 * risk - 2.9)))
        return (rng.random(len(x)) < probability).astype("int32")
    # The loss amount: the exposure (1.5 monthly incomes, capped) times the share of it lost. A
    # bounded share keeps a drifted regime's losses within a few times the healthy ones, so a
    # retrained model can meet an error ceiling that was set on healthy data.
    exposure = np.minimum(1.5 * x["income"].to_numpy(), 25_000)
    lost_share = 1 / (1 + np.exp(-(1.2 * risk - 1.0)))
    return np.round(exposure * lost_share * np.exp(rng.normal(0, 0.15, len(x))), 2)


def _dirty(rng: np.random.Generator, x: pd.DataFrame, fraction: float) -> pd.DataFrame:
    """Break a few rows the way real feeds do: impossible ages, negative incomes, unknown regions."""
    x = x.copy()
    x["age"] = x["age"].astype("Int32")
    rows = np.flatnonzero(rng.random(len(x)) < fraction)
    kinds = rng.integers(0, 3, len(rows))
    # Whole columns at once (a row at a time is quadratic in the batch size).
    x.loc[rows[kinds == 0], "age"] = pd.NA
    negative = rows[kinds == 1]
    x.loc[negative, "income"] = -x.loc[negative, "income"].abs()
    x.loc[rows[kinds == 2], "region"] = "??"
    return x


def generate(
    settings: Settings, number: int, rows: int, scenario: Scenario = Scenario(), days: int = 1
) -> pd.DataFrame:
    """Batch ``number``: ``rows`` labelled rows spread over ``days`` days ending on its date."""
    rng = np.random.default_rng([settings.seed, number])
    x = _applicants(rng, rows, scenario.covariate_drift)
    target = _target(rng, x, settings.is_classification, scenario.concept_drift)
    x = _dirty(rng, x, scenario.dirty_fraction)
    end = EPOCH + timedelta(days=90 + number)
    offsets = np.sort(rng.uniform(0, days * 86400, rows))
    stamps = pd.to_datetime(end.timestamp() - days * 86400 + offsets, unit="s", utc=True).floor("s")
    ids = [f"{number:04d}-{i:07d}" for i in range(rows)]
    frame = pd.DataFrame({settings.id_column: ids, settings.timestamp_column: stamps})
    frame = pd.concat([frame, x], axis=1)
    frame[settings.target_column] = target
    if scenario.schema_break:
        frame = frame.rename(columns={"income": "monthly_income"})
    return frame


def write_batch(settings: Settings, number: int, frame: pd.DataFrame, labels: bool = True) -> str:
    """Land a batch's rows, and its labels unless ``labels`` is False (they arrive later)."""
    landing = Path(settings.landing_path)
    name = batch_id(number)
    keys = [settings.id_column, settings.timestamp_column]
    rows = frame.drop(columns=[settings.target_column])
    _write_parquet(rows, landing / "batches" / f"{name}.parquet")
    if labels:
        write_labels(settings, name, frame[[*keys, settings.target_column]])
    return name


def write_labels(settings: Settings, name: str, labels: pd.DataFrame) -> None:
    _write_parquet(labels, Path(settings.landing_path) / "labels" / f"{name}.parquet")


def _write_parquet(frame: pd.DataFrame, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    # Microsecond UTC timestamps: what Spark reads as TIMESTAMP (pandas' nanoseconds it refuses).
    temporary = path.with_suffix(".tmp")
    # Spark splits a parquet file by row group: pyarrow's default (1M rows) would make a 1M-row
    # batch one task on one core; 100k-row groups let every core read a share.
    frame.to_parquet(
        temporary, index=False, coerce_timestamps="us", allow_truncated_timestamps=True, row_group_size=ROW_GROUP_ROWS
    )
    temporary.replace(path)  # a reader never sees half a batch


def next_number(settings: Settings) -> int:
    """The number of the batch after the newest one landed."""
    landed = [p.stem for p in (Path(settings.landing_path) / "batches").glob("b*.parquet")]
    numbers = [int(name[1:]) for name in landed if name[1:].isdigit()]
    return max(numbers, default=0) + 1


def write_history(settings: Settings, rows: int = 20_000) -> str | None:
    """The labelled history the first model is trained on (90 days); skipped if any batch exists."""
    if any((Path(settings.landing_path) / "batches").glob("*.parquet")):
        return None
    return write_batch(settings, 0, generate(settings, 0, rows, days=90))
