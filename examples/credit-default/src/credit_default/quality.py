"""Data quality: the schema contract of a batch and the expectations of ``cleaning.py``."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pyspark.sql import functions as F

from . import cleaning

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame

    from .settings import Settings

# Spark SQL type names (as written in the column declarations) → Spark's simpleString().
_TYPE_NAMES = {"integer": "int", "long": "bigint", "real": "float", "short": "smallint", "byte": "tinyint"}
# A batch may carry a narrower type than declared: it is widened, not refused. An integer is read
# as its text where a STRING is declared (an id inferred as a number from a CSV file), a date as
# its midnight where a TIMESTAMP is.
_WIDENINGS = {
    ("int", "bigint"), ("int", "double"), ("bigint", "double"), ("float", "double"),
    ("smallint", "int"), ("tinyint", "int"), ("int", "float"),
    *((integer, "string") for integer in ("tinyint", "smallint", "int", "bigint")),
    ("date", "timestamp"),
}
FAILED_RULES = "_failed_rules"


class SchemaBreakError(ValueError):
    """A batch does not have the columns or types the data source promises."""


class DataQualityError(RuntimeError):
    """A batch has too few rows passing the expectations to be trusted."""


def _type_name(sql_type: str) -> str:
    name = sql_type.strip().lower()
    return _TYPE_NAMES.get(name, name)


def conform(df: DataFrame, columns: dict[str, str], what: str) -> DataFrame:
    """``df`` with exactly ``columns`` (in order, widened where safe; text read as the declared type
    when every value of it reads so), or a :class:`SchemaBreakError` listing every missing column,
    every type that cannot be read as declared and every column that holds no value at all."""
    actual = {field.name: field.dataType.simpleString() for field in df.schema.fields}
    problems, text = [], {}
    for name, sql_type in columns.items():
        expected = _type_name(sql_type)
        if name not in actual:
            problems.append(f"column {name!r} is missing")
        elif actual[name] == "void":  # Parquet's NULL type: written from a column with no value at all
            problems.append(_EMPTY.format(name=name))
        elif actual[name] == "string" and expected != "string":
            text[name] = expected
        elif actual[name] != expected and (actual[name], expected) not in _WIDENINGS:
            problems.append(f"column {name!r} is {actual[name]}, expected {expected}")
    problems += _values(df, [name for name in columns if actual.get(name, "void") != "void"], text)
    if problems:
        raise SchemaBreakError(f"schema break in {what}: " + "; ".join(problems))
    return df.select(*[F.col(name).cast(_type_name(t)).alias(name) for name, t in columns.items()])


_EMPTY = "column {name!r} holds no value at all (an empty or all-NULL column)"


def _values(df: DataFrame, names: list[str], text: dict[str, str]) -> list[str]:
    """What only the values show, in one Spark job: a column with no value in a batch that has rows
    (a feed that stopped filling it: every row would be scored or trained on without it), and text
    where a number or a time is declared (a CSV column with one "n/a", a timestamp in an unknown
    format) that does not all read as declared — read so when it does."""
    measures = [F.count(F.lit(1)).alias("_rows"), *(F.count(F.col(n)).alias(f"_n{i}") for i, n in enumerate(names))]
    for i, (name, expected) in enumerate(text.items()):
        value = F.col(name)
        bad = value.isNotNull() & value.try_cast(expected).isNull()
        measures += [F.count_if(bad).alias(f"_bad{i}"), F.first(F.when(bad, value), ignorenulls=True).alias(f"_eg{i}")]
    found = df.agg(*measures).first()
    if not found["_rows"]:
        return []  # an empty batch: evaluate_metrics alerts on it (empty_batch)
    problems = [_EMPTY.format(name=n) for i, n in enumerate(names) if not found[f"_n{i}"]]
    for i, (name, expected) in enumerate(text.items()):
        if found[f"_bad{i}"]:
            example = found[f"_eg{i}"] if len(found[f"_eg{i}"]) <= 40 else found[f"_eg{i}"][:40] + "…"
            problems.append(f"column {name!r} is string, expected {expected}: {found[f'_bad{i}']} value(s) cannot be "
                            f"read as {expected}, e.g. {example!r}")
    return problems


# The pipeline's own rules, checked besides cleaning.py's, on the key of the feature table (id and
# timestamp). A key that another row of the same batch repeats: every copy is quarantined — which of
# them is right is for a person to say, not for the model to guess. A key an earlier batch already
# brought (a resent or overlapping extract): the later copy is quarantined, so no row is trained on
# or scored twice.
KEY_UNIQUE = "key_unique_in_batch"
KEY_NEW = "key_unique_across_batches"
# The first batch that holds a row's key ("" for a table of earlier batches): the helper column
# KEY_NEW reads, dropped once the rules are checked.
_FIRST_BATCH = "_key_first_batch"


def expectations(settings: Settings, labelled: bool = True) -> dict[str, str]:
    """cleaning.py's expectations and the pipeline's own, as every stage applies them (through
    :func:`flag`, which adds the column the cross-batch rule reads)."""
    rules = cleaning.expectations(settings, labelled)
    for own in (KEY_UNIQUE, KEY_NEW):
        if own in rules:
            raise ValueError(f"cleaning.py names a rule {own!r}: the pipeline uses that name itself")
    key = f"`{settings.id_column}`, `{settings.timestamp_column}`"
    return {**rules, KEY_UNIQUE: f"count(*) OVER (PARTITION BY batch_id, {key}) = 1",
            KEY_NEW: f"{_FIRST_BATCH} IS NULL OR {_FIRST_BATCH} = batch_id"}


def flag(rows: DataFrame, settings: Settings, earlier: DataFrame | None, labelled: bool = True) -> DataFrame:
    """``rows`` (with their ``batch_id``) and ``_failed_rules`` under every expectation of
    :func:`expectations`; ``earlier`` is a table of the batches already taken (silver, the
    inference log) without the ones being checked, whose keys a row may not bring again. Among
    ``rows`` themselves, the earliest batch keeps a key."""
    keys = [settings.id_column, settings.timestamp_column]
    holders = rows.select(*keys, "batch_id")
    if earlier is not None:
        holders = holders.unionByName(earlier.select(*keys, F.lit("").alias("batch_id")))
    first = holders.groupBy(*keys).agg(F.min("batch_id").alias(_FIRST_BATCH))
    checked = flag_failures(rows.join(first, keys, "left"), expectations(settings, labelled))
    return checked.select(*rows.columns, FAILED_RULES)


def flag_failures(df: DataFrame, expectations: dict[str, str]) -> DataFrame:
    """Add ``_failed_rules``: the names of the expectations each row fails (NULL counts as failed)."""
    checks = [
        F.when(~F.coalesce(F.expr(condition), F.lit(False)), F.lit(name))
        for name, condition in expectations.items()
    ]
    return df.withColumn(FAILED_RULES, F.filter(F.array(*checks), lambda rule: rule.isNotNull()))


@dataclass(frozen=True)
class BatchQuality:
    batch_id: str
    rows: int
    passed: int
    rule_failures: dict[str, int]

    @property
    def pass_rate(self) -> float:
        return self.passed / self.rows if self.rows else 0.0


def _counts(rules: list[str]) -> list[Column]:
    """What a BatchQuality holds, as aggregates: rows, rows passing, rows failing each rule."""
    return [F.count(F.lit(1)).alias("_rows"), F.count_if(F.size(FAILED_RULES) == 0).alias("_passed"),
            *(F.count_if(F.array_contains(FAILED_RULES, rule)).alias(f"_rule{i}") for i, rule in enumerate(rules))]


def _quality(batch: str, counts: dict[str, int], rules: list[str]) -> BatchQuality:
    failures = {rule: counts[f"_rule{i}"] for i, rule in enumerate(rules) if counts[f"_rule{i}"]}
    return BatchQuality(batch, counts["_rows"], counts["_passed"], failures)


def summarize(flagged: DataFrame, rules: Iterable[str]) -> list[BatchQuality]:
    """Per-batch counts of rows, of good rows and of failures per rule (those of ``rules`` that
    failed at least once), in one Spark job."""
    rules = list(rules)
    found = flagged.groupBy("batch_id").agg(*_counts(rules)).collect()
    return sorted((_quality(row["batch_id"], row.asDict(), rules) for row in found), key=lambda q: q.batch_id)
