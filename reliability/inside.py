"""Run inside a rendered project's environment (``python inside.py <package> land|probe ...``, or
``serve`` to answer such requests one per line, as the harness does): lands a batch of a given kind
of badness with the project's own simulator, or prints what the project's tables, registry and run
journal hold, as JSON.

It reads the tables with the project's own readers (delta-rs, no Spark), so a probe never competes
with a pipeline for the engine.
"""

from __future__ import annotations

import importlib
import json
import re
import sys
from pathlib import Path

import pandas as pd

ROWS = 1000
EXTRA = "unexpected_extra"
# The kinds of bad batch, and what a batch of each kind breaks.
KINDS = {
    "missing_column": "a declared column is missing",
    "extra_column": "a column nobody declared",
    "string_in_numeric": "text ('n/a') in a numeric column",
    "all_null_column": "a column with no value at all",
    "duplicate_in_batch": "4 rows repeat the id and timestamp of 4 others",
    "duplicate_across_batches": "5 rows repeat the id and timestamp of rows of the batch before",
    "empty": "an empty file",
    "out_of_range": "5 values outside a BETWEEN rule of cleaning.py",
    "bad_timestamp": "a timestamp that does not parse ('yesterday')",
    "labels_never_scored": "3 labels for ids the batch never had",
    "corrupt_file": "a file that is not Parquet at all",
    "bad_labels": "a label that is no class ('yes')",
    "healthy": "nothing (a healthy batch)",
}


def _project(package: str):
    names = ("simulator", "settings", "sources", "readers", "registry", "cleaning")
    modules = {name: importlib.import_module(f"{package}.{name}") for name in names}
    modules["journal"] = importlib.import_module(f"{package}.orchestration.journal")
    return modules, modules["settings"].load_settings("local")


def land(package: str, kind: str) -> dict:
    """Write one batch of ``kind`` (and its labels) into the landing folder; what it holds."""
    m, settings = _project(package)
    simulator = m["simulator"]
    # Never a number used before, even by a batch a person removed since (its records stay).
    used = settings.local_dir / "reliability-last-batch"
    number = max(simulator.next_number(settings), int(used.read_text()) + 1 if used.is_file() else 0)
    used.write_text(str(number))
    frame = simulator.generate(settings, number, ROWS, simulator.Scenario(dirty_fraction=0))
    name = simulator.batch_id(number)
    keys = [settings.id_column, settings.timestamp_column]
    declared = m["sources"].declared_columns()
    numeric = next(c for c, t in declared.items() if t.upper() in ("INT", "INTEGER", "BIGINT", "DOUBLE", "FLOAT"))
    labels = frame[[*keys, settings.target_column]]
    bad: list[str] = []  # ids of the rows that must be neither scored nor trained on
    csv = False
    if kind == "missing_column":
        frame = frame.drop(columns=[next(iter(declared))])
    elif kind == "extra_column":
        frame[EXTRA] = "x"
    elif kind == "string_in_numeric":
        frame[numeric] = frame[numeric].astype(object)
        frame.loc[0, numeric] = "n/a"
        csv = True
    elif kind == "all_null_column":
        frame[numeric] = None
    elif kind == "duplicate_in_batch":
        frame.loc[4:7, keys] = frame.loc[0:3, keys].to_numpy()
        labels = frame[[*keys, settings.target_column]].drop_duplicates(keys)
        bad = list(frame.loc[0:7, settings.id_column])
    elif kind == "duplicate_across_batches":
        before = _newest_batch(settings, name)
        frame.loc[0:4, keys] = before.loc[0:4, keys].to_numpy()
        labels = frame[[*keys, settings.target_column]]
        bad = list(frame.loc[0:4, settings.id_column])
    elif kind == "empty":
        frame, labels = frame.iloc[0:0], labels.iloc[0:0]
    elif kind == "out_of_range":
        column, high = _between_rule(m["cleaning"], settings)
        frame.loc[0:4, column] = high + 1
        bad = list(frame.loc[0:4, settings.id_column])
    elif kind == "bad_timestamp":
        frame[settings.timestamp_column] = frame[settings.timestamp_column].dt.strftime("%Y-%m-%d %H:%M:%S")
        frame.loc[0, settings.timestamp_column] = "yesterday"
        csv = True
    elif kind == "labels_never_scored":
        stray = labels.iloc[0:3].copy()
        stray[settings.id_column] = [f"never-scored-{i}" for i in range(3)]
        labels = pd.concat([labels, stray], ignore_index=True)
    elif kind not in ("healthy", "corrupt_file", "bad_labels"):
        raise SystemExit(f"unknown kind {kind!r}")
    if csv:
        folder = Path(settings.landing_path) / "batches"
        folder.mkdir(parents=True, exist_ok=True)
        frame.drop(columns=[settings.target_column]).to_csv(folder / f"{name}.csv", index=False)
    else:
        simulator.write_batch(settings, number, frame, labels=False)
    landing = Path(settings.landing_path)
    if kind == "corrupt_file":
        (landing / "batches" / f"{name}.parquet").write_bytes(b"this is not a parquet file\n" * 40)
    if kind == "bad_labels":
        labels = labels.astype({settings.target_column: object})
        labels.loc[0, settings.target_column] = "yes"
        labels.to_csv(landing / "labels" / f"{name}.csv", index=False)
    else:
        simulator.write_labels(settings, name, labels)
    return {"batch": name, "rows": len(frame), "bad_ids": [str(i) for i in bad]}


def _newest_batch(settings, before: str) -> pd.DataFrame:
    folder = Path(settings.landing_path) / "batches"
    newest = sorted(p for p in folder.glob("*.parquet") if p.stem < before)[-1]
    return pd.read_parquet(newest)


def _between_rule(cleaning, settings) -> tuple[str, float]:
    """A column of cleaning.py's with a ``<column> BETWEEN <low> AND <high>`` rule, and its high."""
    for condition in cleaning.expectations(settings).values():
        found = re.search(r"(\w+)\s+BETWEEN\s+(-?[\d.]+)\s+AND\s+(-?[\d.]+)", condition, re.IGNORECASE)
        if found:
            return found.group(1), float(found.group(3))
    raise SystemExit("cleaning.py has no BETWEEN rule to break")


def remove(package: str, batch: str) -> dict:
    """Take a batch out of the landing folder, as a person does with a broken feed."""
    _, settings = _project(package)
    removed = [str(p) for p in Path(settings.landing_path).glob(f"*/{batch}.*")]
    for path in removed:
        Path(path).unlink()
    return {"removed": removed}


def probe(package: str) -> dict:
    """What the tables, the registry and the run journal hold now."""
    m, settings = _project(package)
    readers = m["readers"]
    keys = [settings.id_column, settings.timestamp_column]
    facts: dict = {"rows": {}, "duplicates": {}, "ids": {}}
    for table in ("bronze", "silver", "features", "quarantine", "inference_log"):
        columns = [settings.id_column, "batch_id"] + ([] if table == "quarantine" else [settings.timestamp_column])
        frame = readers.read_table(settings, table, columns)
        frame = frame if frame is not None else pd.DataFrame(columns=columns)
        facts["rows"][table] = {str(b): int(n) for b, n in frame.groupby("batch_id").size().items()}
        if table != "quarantine":
            # bronze keeps what each batch brought (a key may come twice); the others hold it once
            key = ["batch_id", *keys] if table == "bronze" else keys
            facts["duplicates"][table] = int(frame.duplicated(key).sum())
            facts["ids"][table] = {str(b): sorted(map(str, g[settings.id_column])) for b, g in frame.groupby("batch_id")}
    quarantine = readers.read_table(settings, "quarantine", ["batch_id", "failed_rules"])
    facts["quarantined_rules"] = {}
    if quarantine is not None:
        for row in quarantine.itertuples():
            rules = facts["quarantined_rules"].setdefault(str(row.batch_id), {})
            for rule in row.failed_rules:
                rules[rule] = rules.get(rule, 0) + 1
    decisions = readers.read_view(settings, "monitoring_decisions")
    facts["decisions"] = {}
    if decisions is not None:
        for row in decisions.sort_values("decided_at").itertuples():
            facts["decisions"][str(row.batch_id)] = {"decision": row.decision, "rule": row.rule,
                                                     "inputs": json.loads(row.inputs)}
    metrics = readers.read_view(settings, "metrics")
    facts["labels_never_scored"], facts["labels_schema_break"] = {}, {}
    if metrics is not None:
        unscored = metrics[metrics.metric_name == "labels_never_scored"]
        facts["labels_never_scored"] = {str(r.batch_id): r.metric_value for r in unscored.itertuples()}
        broken = metrics[metrics.metric_name == "labels_schema_break"]
        facts["labels_schema_break"] = {str(r.batch_id): r.details for r in broken.itertuples()}
    runs = readers.read_view(settings, "pipeline_runs")
    facts["stage_runs"] = [] if runs is None else [
        {"pipeline_run_id": r.pipeline_run_id, "stage": r.stage, "status": r.status, "output": r.output,
         "seconds": r.duration_s} for r in runs.itertuples()]
    from mlflow import MlflowClient

    importlib.import_module(f"{package}.runtime.tracking").use_store(settings)
    client = MlflowClient()
    registry = m["registry"]
    champion = registry.version_by_alias(client, settings.model_name, registry.CHAMPION)
    facts["champion"] = champion.version if champion else None
    facts["champion_gate"] = champion.tags.get(registry.TAG_GATE) if champion else None
    facts["unfinished"] = m["journal"].unfinished(settings)
    return facts


def stages(package: str) -> list[list[str]]:
    """[stage, pipeline] of every stage, in the order the factory's JSON runs them."""
    m, settings = _project(package)
    orchestration = importlib.import_module(f"{package}.orchestration")
    return [[s.name, s.pipeline] for s in orchestration.stages(settings.root)]


HANDLERS = {"land": land, "probe": probe, "remove": remove, "stages": stages}


def serve(package: str) -> None:
    """Answer requests until stdin closes: one JSON list ``[action, *args]`` per line in, one JSON
    object per line out (``{"result": …}`` or ``{"error": …}``). One process for the whole harness:
    MLflow, pandas and the project import once, not at each of its hundred-odd probes (~3 s each)."""
    import contextlib
    import traceback

    answers = sys.stdout
    for line in sys.stdin:
        action, *args = json.loads(line)
        try:
            with contextlib.redirect_stdout(sys.stderr):  # what a handler prints is not an answer
                reply = {"result": HANDLERS[action](package, *args)}
        except (Exception, SystemExit):  # noqa: BLE001 - the harness reports it with the request
            reply = {"error": traceback.format_exc()}
        answers.write(json.dumps(reply, default=str) + "\n")
        answers.flush()


def main(argv: list[str]) -> None:
    package, action, *rest = argv
    if action == "serve":
        serve(package)
    else:
        print(json.dumps(HANDLERS[action](package, *rest), default=str))


if __name__ == "__main__":
    main(sys.argv[1:])
