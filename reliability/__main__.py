"""``python -m reliability --doc docs/reliability.md``: try the template and a rendered project the
way a hostile user and a bad day would, and write what happened as docs/reliability.md.

1. Answers: every text prompt × every hostile string (``answers.py``), in a process of their own
   while the rest runs.
2. Faults: the elected example rendered, initialised and trained; its command killed in each stage
   in turn, each run killed being the rerun of the one before, then two executions at once
   (``faults.py``).
3. Bad batches: each kind through both pipelines of the same project (``batches.py``).

``--check FILE`` compares the result with FILE instead of writing it (the template's test does, so
the committed figures are the ones this code produces). Exits 1 when a render broke, a bad batch
was not stopped or quarantined as it must, a fault was not survived, a row was lost or a wrong
version was promoted.
"""

from __future__ import annotations

import argparse
import difflib
import multiprocessing
import sys
import tempfile
import time
from pathlib import Path

from . import answers, batches, faults
from .inside import ROWS
from .project import Project


def _yes(flag: bool) -> str:
    return "yes" if flag else "**no**"


def _answers_section(cases: list[answers.Case]) -> list[str]:
    return ["## Answers", "",
            "Every text prompt of `cookiecutter.json` × every hostile string of `reliability/answers.py` "
            "(injections for YAML, JSON, Data Factory, bundles, Azure Pipelines, SQL and Markdown; names that "
            "shadow a library or a pipeline column; numeric edge cases; blank and overlong answers). A refused "
            "answer must be refused by the pre-generation hook in one line naming the field; an accepted one must "
            "render a project whose every YAML/JSON/TOML file parses, with the default render's expressions only, "
            "and whose `conf/` reads the answer back as typed.", "", answers.markdown(cases), ""]


def _faults_section(cases: list[faults.FaultCase]) -> list[str]:
    lines = ["## Faults", "",
             "The example project (`examples/credit-default.json`), initialised and trained, on its warm engine. "
             "The kills of each pipeline form one chain: a healthy labelled batch lands, `train` (training) or "
             "`execute --batch` (execution) starts and is killed with SIGKILL in the pipeline's first stage, once "
             "the run journal shows the stage under way and half of the stage's earlier duration has passed; the "
             "same command runs again and is killed in the second stage, and so on (a new batch lands before each "
             "`train`; every `execute` reruns the same batch). The run after the kill in the last stage is left to "
             "finish. A kill that came after the stage had recorded its end is tried again, sooner, by the next "
             "run.", "",
             "| fault | pipeline | hit mid-stage | champion right | rows twice | shown unfinished "
             "| next run completed it | rows lost |", "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for case in cases:
        lines.append(f"| {case.fault} | {case.pipeline} | {_yes(case.hit)} | {_yes(case.champion_ok)} | "
                     f"{case.duplicates} | {_yes(case.shown_unfinished)} | {_yes(case.rerun_completed)} | "
                     f"{case.rows_lost} |")
    lines += ["", "*champion right*: unchanged, unless promote had moved it, and always a version that passed the "
              "gate. *shown unfinished*: `status` lists the killed run as started and never finished. *next run "
              "completed it*: the run after the kill recorded the killed stage as succeeded (after the last kill: "
              "the whole pipeline succeeded). *rows twice*, *champion right*: checked after the kill and after the "
              "chain's last run; *rows lost*: rows of the batches landed for that fault missing from silver "
              "(training) or the inference log (execution) after the chain's last run. "
              "*two executions at once*: `execute --batch` on two batches started together; a run that fails "
              "must fail in one line and complete when run again.", ""]
    return lines


def _batches_section(cases: list[batches.BatchCase]) -> list[str]:
    lines = ["## Bad batches", "",
             f"Each kind is one batch of {ROWS} rows of an otherwise healthy feed, landed in the example "
             "project after the faults above: scored with `execute --batch`, then ingested with `train` as labelled "
             "history (the kinds that stop ingest one run each, the others together).", "",
             "| kind | pipeline | what happened | where it shows | bad rows used | good rows lost | as required |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    for case in cases:
        lines.append(f"| {batches.described(case.kind)} | {case.pipeline} | {case.outcome} | {case.visible} | "
                     f"{case.bad_rows_used} | {case.rows_lost} | {_yes(case.as_expected)} |")
    lines += ["", "*bad rows used*: rows of the kind's bad rows scored (execution) or written to silver "
              "(training). *as required*: stopped in one line with nothing of the batch kept, or its bad rows "
              "quarantined and every other row kept, and visible where the table says.", ""]
    return lines


def figures(answer_cases, fault_cases, batch_cases) -> tuple[list[str], bool]:
    """The summary table, and whether everything held."""
    outcome = {kind: sum(c.outcome == kind for c in answer_cases) for kind in ("rejected", "rendered", "broken")}
    survived = sum(c.survived for c in fault_cases)
    handled = sum(c.as_expected for c in batch_cases)
    lost = sum(c.rows_lost for c in fault_cases) + sum(c.rows_lost for c in batch_cases)
    wrong = sum(not c.champion_ok for c in fault_cases)
    bad_used = sum(c.bad_rows_used for c in batch_cases)
    ok = (not outcome["broken"] and survived == len(fault_cases) and handled == len(batch_cases) and not lost
          and not wrong and not bad_used)
    return ["| what | figure |", "| --- | --- |",
            f"| answers tried | {len(answer_cases)} |",
            f"| rejected cleanly (one line naming the field) | {outcome['rejected']} |",
            f"| accepted and rendered safely | {outcome['rendered']} |",
            f"| broken renders | {outcome['broken']} |",
            f"| bad-batch cases (kinds × pipelines) handled as required | {handled} of {len(batch_cases)} |",
            f"| bad rows scored or trained on | {bad_used} |",
            f"| faults survived | {survived} of {len(fault_cases)} |",
            f"| rows lost | {lost} |",
            f"| wrong promotions | {wrong} |"], ok


def document(answer_cases, fault_cases, batch_cases) -> tuple[str, bool]:
    summary, ok = figures(answer_cases, fault_cases, batch_cases)
    lines = ["# Reliability", "",
             "What the template and a rendered project do with bad answers, bad batches and killed runs, as "
             "measured by `make reliability` (`python -m reliability --doc docs/reliability.md`), which wrote this "
             "file; `make test` checks that it is current. Each section below says how its cases were made.", "",
             *summary, "", *_answers_section(answer_cases), *_faults_section(fault_cases),
             *_batches_section(batch_cases),
             "## Not covered here", "",
             "What cookiecutter does before the hook runs (an invalid choice, an answer that is Jinja) is in "
             "`docs/options.md`. Faults in Azure and Databricks (a cluster lost mid-stage, a Data Factory run "
             "cancelled) are not reproduced on this machine: there the factory's monitoring shows the run as "
             "failed or cancelled, and the same reruns apply.", ""]
    return "\n".join(lines), ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m reliability", description=__doc__.split("\n\n")[0])
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--doc", type=Path, help="write the result to this file")
    target.add_argument("--check", type=Path, help="compare the result with this file")
    parser.add_argument("--workdir", type=Path, help="where to render (default: a temporary folder)")
    args = parser.parse_args(argv)
    if args.workdir is None:
        with tempfile.TemporaryDirectory(prefix="reliability-") as temporary:
            return measure(args, Path(temporary))
    return measure(args, args.workdir)


def measure(args: argparse.Namespace, workdir: Path) -> int:
    began = time.monotonic()
    # The answers are rendered by a process of their own meanwhile: they need one core for about two
    # minutes (825 answers, 140 s alone), and the project's commands below mostly wait on its engine.
    spawning = multiprocessing.get_context("spawn")
    receiving, sending = spawning.Pipe(duplex=False)
    answering = spawning.Process(target=answers.run_all_into, args=(workdir / "answers", sending), name="answers")
    answering.start()
    sending.close()  # the worker's end only: a worker that dies unanswered ends recv() with EOFError
    try:
        project = Project.render(workdir / "project")
        try:
            project.must("init")
            project.must("train")
            # One execution first: the execution stages' durations, which the kills are timed by.
            project.must("execute", "--batch", project.land("healthy")["batch"])
            fault_cases = faults.run(project)
            print(f"faults: {len(fault_cases)} ({time.monotonic() - began:.0f} s)", flush=True)
            batch_cases = batches.run(project)
            print(f"bad batches: {len(batch_cases)} ({time.monotonic() - began:.0f} s)", flush=True)
        finally:
            project.run("engine", "stop")
            project.close()
        try:
            answer_cases = receiving.recv()
        except EOFError:
            answering.join()
            raise RuntimeError(f"the answers' process died (exit code {answering.exitcode})") from None
        if isinstance(answer_cases, str):
            raise RuntimeError(f"the answers' process failed: {answer_cases}")
        print(f"answers: {len(answer_cases)} tried ({time.monotonic() - began:.0f} s)", flush=True)
    finally:
        answering.terminate()  # interrupted: the answers stop too, before their folder is removed
        answering.join()
    text, ok = document(answer_cases, fault_cases, batch_cases)
    for case in fault_cases:
        if case.notes:
            print(f"{case.fault}: " + "; ".join(case.notes))
    if args.doc:
        args.doc.write_text(text, encoding="utf-8")
        print(f"wrote {args.doc}")
    else:
        current = args.check.read_text(encoding="utf-8") if args.check.is_file() else ""
        if current != text:
            print(f"{args.check} is not what this code measures; run `make reliability`:", file=sys.stderr)
            sys.stderr.writelines(difflib.unified_diff(current.splitlines(True), text.splitlines(True),
                                                       str(args.check), "measured"))
            return 1
    if not ok:
        print("reliability: something did not hold (see the tables)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
