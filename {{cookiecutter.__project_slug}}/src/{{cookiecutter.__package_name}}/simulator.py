"""The sample-data simulator: batches shaped like the data this project declares.

It writes landing batches the way an upstream system would — rows first, labels later — drawn from
what the project declares, never from one particular dataset, so it keeps working after the four
user files are rewritten for other data:

- the columns and types of ``data_source.SOURCE_COLUMNS`` and of the id, timestamp and target;
- the values ``cleaning.expectations`` allow: the simple rules' literals bound each column
  (``hr BETWEEN 0 AND 23``, ``price > 0``, ``season IN (1, 2, 3, 4)``, ``region IN ('N', 'S')``);
  a column no such rule names gets a generic domain (0–10 for integers, 0–100 for decimals,
  ``<column>_0`` … ``<column>_4`` for text);
- the target: a seeded relation with the columns that reach ``features.FEATURE_COLUMNS`` by name,
  a probability of the positive class for classification; for regression a value on the scale of
  the gate's error ceiling (``conf/training.yml``), so a good model can pass the gate.

Two knobs make a model go stale:

- ``covariate_drift`` (0 = none, 1 = strong): the inputs move (numbers towards the top of their
  range, categories towards the rarer ones); the relation with the target does not.
- ``concept_drift`` (0 = none, 1 = strong): the same inputs, another relation with the target.

``noise`` adds variation of the target that no input explains (a season the inputs do not
capture), so that even a retrained model misses the gate. ``dirty_fraction`` of the rows get a NULL in a column an expectation checks, so the quarantine
path runs on every batch; ``schema_break`` renames the first source column, the way an upstream
change breaks a feed. The same seed and batch number always give the same rows.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from . import cleaning, features, sources

if TYPE_CHECKING:
    from .settings import Settings

HISTORY_BATCH = "b0000"
EPOCH = datetime(2026, 1, 1, tzinfo=timezone.utc)
ROW_GROUP_ROWS = 100_000
# How far the classification target follows the inputs (logit slope) and its base rate (intercept).
_SLOPE, _INTERCEPT = 2.5, -1.2
# Regression: the noise a perfect model still gets wrong, in units of the gate's error ceiling.
_NOISE = 0.25

_INTEGERS = {"TINYINT": "Int8", "SMALLINT": "Int16", "INT": "Int32", "INTEGER": "Int32", "BIGINT": "Int64"}
_DECIMALS = {"FLOAT": "Float32", "REAL": "Float32", "DOUBLE": "Float64"}
_OTHERS = ("STRING", "BOOLEAN", "DATE", "TIMESTAMP")
_NUMBER = r"[-+]?\d+(?:\.\d+)?"


@dataclass(frozen=True)
class Scenario:
    """How one batch differs from the data the first model was trained on."""

    covariate_drift: float = 0.0
    concept_drift: float = 0.0
    dirty_fraction: float = 0.01
    schema_break: bool = False
    # Variation of the target that no input explains (0 = none, 1 = strong): beyond about 0.5, no
    # model meets the gate's default thresholds on such data (a season the inputs do not capture).
    noise: float = 0.0

    @classmethod
    def drifted(cls, strength: float, noise: float = 0.0) -> Scenario:
        """A new regime: other inputs (covariate drift) that also relate otherwise to the target."""
        return cls(covariate_drift=strength, concept_drift=strength, noise=noise)


@dataclass(frozen=True)
class Domain:
    """The values one column may take: a range [low, high], or a list of values (``choices``)."""

    name: str
    sql_type: str
    low: float = 0.0
    high: float = 0.0
    choices: tuple = ()

    @property
    def is_integer(self) -> bool:
        return self.sql_type in _INTEGERS

    @property
    def is_range(self) -> bool:
        return not self.choices and (self.is_integer or self.sql_type in _DECIMALS)


def batch_id(number: int) -> str:
    return f"b{number:04d}"


# -- what the rules allow ------------------------------------------------------------------------
def _literal(text: str) -> float | str:
    text = text.strip()
    if text.startswith("'") and text.endswith("'"):
        return text[1:-1].replace("''", "'")
    return float(text)


def _choices(listed: str) -> tuple:
    return tuple(_literal(item) for item in re.findall(rf"'(?:[^']|'')*'|{_NUMBER}", listed))


def _bounds(name: str, integer: bool, conditions: list[str]) -> tuple[float, float, tuple]:
    """(low, high, choices) the simple rules of ``conditions`` give ``name``; infinite when unbounded."""
    column = rf"\b{re.escape(name)}\b"
    low, high, choices = -np.inf, np.inf, ()
    step = 1 if integer else 0  # a strict bound on integers moves by one; on decimals a draw never hits it
    for condition in conditions:
        for found in re.finditer(rf"{column}\s+(NOT\s+)?BETWEEN\s+({_NUMBER})\s+AND\s+({_NUMBER})", condition, re.I):
            if not found.group(1):
                low, high = max(low, float(found.group(2))), min(high, float(found.group(3)))
        for found in re.finditer(rf"{column}\s+(NOT\s+)?IN\s*\(([^)]*)\)", condition, re.I):
            if not found.group(1):
                choices = _choices(found.group(2))
        for found in re.finditer(rf"{column}\s*(>=|<=|>|<|=)\s*('(?:[^']|'')*'|{_NUMBER})", condition, re.I):
            operator, value = found.group(1), _literal(found.group(2))
            if isinstance(value, str):
                choices = (value,) if operator == "=" else choices
            elif operator in (">", ">="):
                low = max(low, value + (step if operator == ">" else 0))
            elif operator in ("<", "<="):
                high = min(high, value - (step if operator == "<" else 0))
            else:
                low = high = value
        for found in re.finditer(rf"({_NUMBER})\s*(>=|<=|>|<)\s*{column}", condition, re.I):
            value, operator = float(found.group(1)), found.group(2)
            if operator in ("<", "<="):
                low = max(low, value + (step if operator == "<" else 0))
            else:
                high = min(high, value - (step if operator == ">" else 0))
    return low, high, choices


def domain(name: str, sql_type: str, conditions: list[str]) -> Domain:
    """The values ``conditions`` allow ``name`` (see the module docstring for the forms read)."""
    sql_type = sql_type.strip().upper()
    if sql_type not in _INTEGERS and sql_type not in _DECIMALS and sql_type not in _OTHERS:
        raise ValueError(f"the simulator cannot draw column {name!r} of type {sql_type}: "
                         f"declare it as one of {', '.join([*_INTEGERS, *_DECIMALS, *_OTHERS])}")
    low, high, choices = _bounds(name, sql_type in _INTEGERS, conditions)
    if sql_type == "STRING" and not choices:
        choices = tuple(f"{name}_{k}" for k in range(5))
    if sql_type == "BOOLEAN":
        choices = (True, False)
    span = 10.0 if sql_type in _INTEGERS else 100.0
    if np.isinf(low) and np.isinf(high):
        low, high = 0.0, span
    elif np.isinf(low):
        low = high - max(span, abs(high))
    elif np.isinf(high):
        high = low + max(span, abs(low))
    return Domain(name, sql_type, float(low), float(high), choices)


def _conditions(settings: Settings) -> list[str]:
    return list(cleaning.expectations(settings, labelled=True).values())


def domains(settings: Settings) -> list[Domain]:
    """The domain of every source column, in ``SOURCE_COLUMNS`` order."""
    conditions = _conditions(settings)
    return [domain(name, sql_type, conditions) for name, sql_type in sources.declared_columns().items()]


# -- drawing --------------------------------------------------------------------------------------
def _rng(settings: Settings, *keys: object) -> np.random.Generator:
    return np.random.default_rng([settings.seed, *(zlib.crc32(str(k).encode()) for k in keys)])


def _tilted(k: int, drift: float) -> np.ndarray:
    """Uneven probabilities of ``k`` choices; drift moves them towards the rarer ones."""
    healthy = 1 / np.arange(1, k + 1) ** 0.7
    healthy /= healthy.sum()
    return (1 - drift) * healthy + drift * healthy[::-1]


def _draw(rng: np.random.Generator, column: Domain, n: int, drift: float) -> tuple[np.ndarray, np.ndarray]:
    """(values, unit) for one column: ``unit`` is the draw on [0, 1] (ranges) or the choice index."""
    if column.is_range:
        unit = rng.beta(2 + 4 * drift, 2, n)  # drift piles values towards the top of the range
        if column.is_integer:
            values = np.minimum(column.low + np.floor(unit * (column.high - column.low + 1)), column.high)
        else:
            values = column.low + unit * (column.high - column.low)
        return values, unit
    if column.sql_type in ("DATE", "TIMESTAMP"):
        days = rng.uniform(0, 365, n)
        stamps = pd.to_datetime(EPOCH.timestamp() + days * 86400, unit="s", utc=True).floor("s")
        return (stamps.date if column.sql_type == "DATE" else stamps.to_numpy()), days / 365
    index = rng.choice(len(column.choices), n, p=_tilted(len(column.choices), drift))
    return np.asarray(column.choices, dtype=object)[index], index


def _signal_columns(columns: list[Domain]) -> list[Domain]:
    """The columns the target depends on: those the model sees under their own name, else all."""
    seen = [c for c in columns if c.name in features.FEATURE_COLUMNS and c.sql_type not in ("DATE", "TIMESTAMP")]
    return seen or [c for c in columns if c.sql_type not in ("DATE", "TIMESTAMP")]


def _effects(settings: Settings, column: Domain, variant: int) -> np.ndarray:
    """The standardised effect of each choice of ``column`` on the target (unit variance when healthy)."""
    effects = _rng(settings, "effects", column.name, variant).normal(0, 1, len(column.choices))
    p = _tilted(len(column.choices), 0.0)
    centred = effects - p @ effects
    spread = np.sqrt(p @ centred**2)
    return centred / spread if spread > 0 else centred


def _weight(settings: Settings, column: Domain, variant: int) -> float:
    """How much, and which way, ``column`` moves the target: variant 0 healthy, 1 after concept drift."""
    rng = _rng(settings, "weight", column.name, variant)
    return rng.choice([-1, 1]) * rng.uniform(0.5, 1.5)


def _score(settings: Settings, columns: list[Domain], units: dict[str, np.ndarray], concept: float) -> np.ndarray:
    """The latent score the target follows: unit variance on healthy data; concept drift changes it."""
    signal = _signal_columns(columns)
    total = np.zeros(len(next(iter(units.values()))) if units else 0)
    weights = []
    for column in signal:
        weight = (1 - concept) * _weight(settings, column, 0) + concept * _weight(settings, column, 1)
        if column.is_range:
            z = (units[column.name] - 0.5) / np.sqrt(1 / 20)  # Beta(2, 2): mean 1/2, variance 1/20
        else:
            healthy_z, changed_z = _effects(settings, column, 0), _effects(settings, column, 1)
            z = ((1 - concept) * healthy_z + concept * changed_z)[units[column.name]]
        total = total + weight * z
        weights.append(weight)
    norm = np.sqrt(np.sum(np.square(weights))) if weights else 1.0
    return total / (norm or 1.0)


def _regression_scale(settings: Settings) -> float:
    """The target's spread: the gate's ceiling for error metrics in the target's units (rmse, mae)."""
    gate = settings.training_rules.gate
    return float(gate.threshold) if gate.primary_metric in ("rmse", "mae") else 1000.0


def _target(settings: Settings, rng: np.random.Generator, score: np.ndarray, noise: float) -> np.ndarray:
    if settings.is_classification:
        # Noise weakens the relation: the inputs explain less of who turns out positive.
        probability = 1 / (1 + np.exp(-(_SLOPE * (1 - 0.7 * noise) * score + _INTERCEPT)))
        return (rng.random(len(score)) < probability).astype("int32")
    low, high, _ = _bounds(settings.target_column, False, _conditions(settings))
    scale = _regression_scale(settings)
    # Inside the rules' bounds, and far from zero so that relative errors (mape) stay meaningful.
    if np.isfinite(low) and np.isfinite(high):
        level = (low + high) / 2
    else:
        level = low + 5 * scale if np.isfinite(low) else high - 5 * scale if np.isfinite(high) else 5 * scale
    spread = np.hypot(_NOISE, 1.2 * noise) * scale
    values = level + scale * score + spread * rng.normal(0, 1, len(score))
    return np.round(np.clip(values, low, high), 2)


def _with_nulls(values: np.ndarray, column: Domain) -> pd.Series:
    """A column that can hold NULL (written as a Parquet null, never as NaN)."""
    if column.is_integer:
        return pd.Series(values, dtype="float64").astype(_INTEGERS[column.sql_type])
    if column.sql_type in _DECIMALS:
        return pd.Series(values, dtype="float64").astype(_DECIMALS[column.sql_type])
    if column.sql_type == "BOOLEAN":
        return pd.Series(values, dtype="boolean")
    return pd.Series(values, dtype="datetime64[us, UTC]" if column.sql_type == "TIMESTAMP" else object)


def breakable_columns(settings: Settings) -> list[str]:
    """The source columns some expectation checks: a NULL there quarantines the row."""
    conditions = _conditions(settings)
    return [name for name in sources.declared_columns()
            if any(re.search(rf"\b{re.escape(name)}\b", c) for c in conditions)]


def generate(
    settings: Settings, number: int, rows: int, scenario: Scenario = Scenario(), days: int = 1
) -> pd.DataFrame:
    """Batch ``number``: ``rows`` labelled rows spread over ``days`` days ending on its date."""
    rng = _rng(settings, "batch", number)
    columns = domains(settings)
    drawn = {c.name: _draw(rng, c, rows, scenario.covariate_drift) for c in columns}
    score = _score(settings, columns, {name: unit for name, (_, unit) in drawn.items()}, scenario.concept_drift)
    target = _target(settings, rng, score, scenario.noise)
    frame = pd.DataFrame({c.name: _with_nulls(drawn[c.name][0], c) for c in columns})
    breakable = breakable_columns(settings)
    if breakable and scenario.dirty_fraction > 0:
        dirty = np.flatnonzero(rng.random(rows) < scenario.dirty_fraction)
        which = rng.integers(0, len(breakable), len(dirty))
        for k, name in enumerate(breakable):
            frame.loc[dirty[which == k], name] = None
    end = EPOCH + timedelta(days=90 + number)
    offsets = np.sort(rng.uniform(0, days * 86400, rows))
    stamps = pd.to_datetime(end.timestamp() - days * 86400 + offsets, unit="s", utc=True).floor("s")
    keys = pd.DataFrame({settings.id_column: [f"{number:04d}-{i:07d}" for i in range(rows)],
                         settings.timestamp_column: stamps})
    frame = pd.concat([keys, frame], axis=1)
    frame[settings.target_column] = target
    if scenario.schema_break:
        first = columns[0].name
        frame = frame.rename(columns={first: f"{first}_renamed"})
    return frame


# -- landing --------------------------------------------------------------------------------------
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
