"""Bad batches, in both pipelines: each kind of ``inside.KINDS`` landed as one batch of an otherwise
healthy feed, then run through the execution pipeline (``execute --batch``) and, as a batch of the
labelled history, through the training pipeline (``train``).

Every kind must be stopped in one line (nothing of the batch scored or ingested) or have its bad
rows quarantined (not scored, not in silver) with the batch's other rows kept — and be visible in
``monitoring_decisions`` (execution) or ``pipeline_runs`` (training).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from .inside import EXTRA, KINDS
from .project import Project

# The kinds whose batch cannot be read as declared: stopped whole.
STOPPED = ("missing_column", "string_in_numeric", "all_null_column", "bad_timestamp", "corrupt_file")
# Labels that cannot be read as declared: the batch is scored, its labels are not measured until
# fixed (execution); ingest stops on them (training).
BAD_LABELS = "bad_labels"
# The kinds with bad rows among good ones: how many rows are bad, and the rule that quarantines them.
QUARANTINED = {"duplicate_in_batch": (8, "key_unique_in_batch"),
               "duplicate_across_batches": (5, "key_unique_across_batches"),
               "out_of_range": (5, None)}
# The order they land in: a repeat of the batch before needs a healthy batch before it.
ORDER = ("extra_column", "duplicate_across_batches", "duplicate_in_batch", "out_of_range", "labels_never_scored",
         "empty", BAD_LABELS, *STOPPED)


@dataclass
class BatchCase:
    kind: str
    pipeline: str
    outcome: str = ""  # what happened, in words
    visible: str = ""  # where a person sees it
    bad_rows_used: int = 0  # bad rows scored (execution) or in silver (training)
    rows_lost: int = 0  # good rows of the batch not scored / not in silver
    as_expected: bool = False


_RUN_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


_VERSION = re.compile(r"version \d+")


def _general(text: str, batch: str) -> str:
    """``text`` without what differs from one measurement to the next: the batch's name, run ids and
    model versions (how many trainings ran before depends on the faults' retries). Run ids first: a
    random id may hold the batch's name ('…9b01b0013b8d…')."""
    return _VERSION.sub("version <n>", _RUN_ID.sub("<run id>", text).replace(batch, "<batch>"))


def _stopped(done, facts, batch, table) -> tuple[bool, str]:
    one_line = len(done.error_lines) == 1
    line = done.error_lines[-1] if done.error_lines else f"exit {done.returncode}"
    return one_line and done.returncode != 0 and not facts["rows"][table].get(batch), f"`{_general(line, batch)}`"


def execution_case(project: Project, kind: str) -> BatchCase:
    case = BatchCase(kind, "execution")
    landed = project.land(kind)
    batch, rows, bad = landed["batch"], landed["rows"], set(landed["bad_ids"])
    done = project.run("execute", "--batch", batch)
    facts = project.probe()
    scored = facts["ids"]["inference_log"].get(batch, [])
    decision = facts["decisions"].get(batch)
    inputs = decision["inputs"] if decision else {}
    case.bad_rows_used = len(bad & set(scored))
    rule = f"{decision['decision']} ({decision['rule']})" if decision else "no decision"
    if kind in STOPPED or kind == "empty":
        expected_rule = "schema_break" if kind in STOPPED else "empty_batch"
        stopped, line = _stopped(done, facts, batch, "inference_log")
        case.as_expected = stopped and decision is not None and decision["rule"] == expected_rule
        # What broke (the decision's inputs; `execute` prints it too), else the alert `execute` ends with.
        cause = f"`{_general(inputs['schema_break'], batch)}`" if inputs.get("schema_break") else line
        case.outcome, case.visible = "stopped: nothing scored", f"decision {rule}: {cause}"
        project.inside("remove", batch)  # as a person does after the alert
        return case
    failures = inputs.get("rule_failure_rates") or {}
    if kind in QUARANTINED:
        count, rule_name = QUARANTINED[kind]
        quarantined = {name: round(share * rows) for name, share in failures.items()}
        case.rows_lost = max(rows - count - len(scored), 0)
        case.as_expected = (done.returncode == 0 and len(scored) == rows - count and not case.bad_rows_used
                            and sum(quarantined.values()) >= count and (rule_name is None or rule_name in quarantined))
        case.outcome = f"{count} rows not scored, {len(scored)} scored"
        case.visible = "decision inputs: rows failing " + ", ".join(f"{k} ({v})" for k, v in sorted(quarantined.items()))
    elif kind == "extra_column":
        case.rows_lost = rows - len(scored)
        case.as_expected = done.returncode == 0 and len(scored) == rows and inputs.get("extra_columns") == EXTRA
        case.outcome = f"scored without it ({len(scored)} rows)"
        case.visible = f"decision inputs: extra_columns = {inputs.get('extra_columns')!r}"
    elif kind == BAD_LABELS:
        broken = facts["labels_schema_break"].get(batch)
        case.rows_lost = rows - len(scored)
        case.as_expected = (done.returncode == 0 and len(scored) == rows and broken is not None
                            and batch not in facts["rows"]["bronze"])
        case.outcome = f"all {len(scored)} rows scored; the labels not measured, nor taken into training"
        case.visible = f"metrics: labels_schema_break, `{_general(broken or '', batch)}`"
        project.inside("remove", batch)  # as a person does, to land the labels again fixed
    elif kind == "labels_never_scored":
        unscored = facts["labels_never_scored"].get(batch)
        case.rows_lost = rows - len(scored)
        case.as_expected = done.returncode == 0 and len(scored) == rows and unscored == 3
        case.outcome = f"all {len(scored)} rows scored; the 3 stray labels measured in nothing"
        case.visible = f"metrics: labels_never_scored = {unscored:g}" if unscored is not None else "not measured"
    return case


def training_cases(project: Project) -> list[BatchCase]:
    """The stopping kinds one at a time (ingest stops at the first), then the rest in one run."""
    cases = []
    for kind in (*STOPPED, BAD_LABELS):
        case = BatchCase(kind, "training")
        batch = project.land(kind)["batch"]
        done = project.run("train")
        facts = project.probe()
        stopped, line = _stopped(done, facts, batch, "bronze")
        case.as_expected = stopped and not facts["rows"]["silver"].get(batch)
        case.outcome, case.visible = "stopped at ingest: nothing ingested", f"`train` says {line}"
        cases.append(case)
        project.inside("remove", batch)
    landed = {kind: project.land(kind) for kind in ORDER if kind not in (*STOPPED, BAD_LABELS)}
    done = project.run("train")
    facts = project.probe()
    ingest = next((json.loads(r["output"] or "{}") for r in reversed(facts["stage_runs"]) if r["stage"] == "ingest"), {})
    for kind, info in landed.items():
        case = BatchCase(kind, "training")
        batch, rows, bad = info["batch"], info["rows"], set(info["bad_ids"])
        silver = facts["ids"]["silver"].get(batch, [])
        rules = facts["quarantined_rules"].get(batch, {})
        case.bad_rows_used = len(bad & set(silver))
        ok = done.returncode == 0
        if kind in QUARANTINED:
            count, rule_name = QUARANTINED[kind]
            case.rows_lost = max(rows - count - len(silver), 0)
            case.as_expected = ok and len(silver) == rows - count and not case.bad_rows_used and (
                rule_name is None or rules.get(rule_name) == count)
            case.outcome = f"{sum(rules.values())} rows quarantined, {len(silver)} to silver"
            case.visible = "quarantine: " + ", ".join(f"{k} ({v})" for k, v in sorted(rules.items()))
        elif kind == "extra_column":
            extra = (ingest.get("extra_columns") or {}).get(batch)
            case.rows_lost = rows - len(silver)
            case.as_expected = ok and len(silver) == rows and extra == EXTRA
            case.outcome = f"ingested without it ({len(silver)} rows to silver)"
            case.visible = f"pipeline_runs ingest output: extra_columns = {extra!r}"
        elif kind == "empty":
            case.as_expected = ok and not silver and batch in (ingest.get("batches") or [])
            case.outcome = "ingested as 0 rows; nothing to clean or train on"
            taken = batch in (ingest.get("batches") or [])
            case.visible = "pipeline_runs: ingest's output lists it" if taken else "**not listed by ingest**"
        elif kind == "labels_never_scored":
            case.rows_lost = rows - len(silver)
            case.as_expected = ok and len(silver) == rows
            case.outcome = f"the batch's {len(silver)} rows to silver; a label with no row has nothing to label"
            case.visible = "not counted (training joins labels to the batch's rows)"
        cases.append(case)
    return cases


def run(project: Project) -> list[BatchCase]:
    cases = [execution_case(project, kind) for kind in ORDER]
    return cases + training_cases(project)


def described(kind: str) -> str:
    return KINDS[kind]
