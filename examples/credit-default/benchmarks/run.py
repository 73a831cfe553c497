"""Benchmarks of the local runtime: how fast the loop is on this machine, and where time goes.

First, the commands as a person runs them, each a whole process (``python -m <package> …``) in a
state of its own: ``train`` on the simulated history, ``execute`` on one landed 5,000-row batch,
and ``status``; twice: each command starting its own Spark, then each reaching the warm engine
(``engine start``, timed apart). Then, in one process with one local Spark session (the project's defaults, driver
memory included) and a throw-away local state, so the project's own ``.local/`` is never touched:

1. Spark start-up: ``get_spark`` on a cold process. Every local command pays it once, so it is
   the yardstick the other wall times are compared with.
2. Scoring throughput of the champion on the same cached feature frame, three ways: our
   ``inference.score`` (Arrow iterator UDF, model deserialised once per Python worker), MLflow's
   ``spark_udf`` (the usual route) and plain pandas in one process (the ceiling without Spark).
   This is the claim ``inference.py`` makes; the ratios check it.
3. Execution pipeline wall time on one landed batch of each size: how it grows with the rows
   (about 10x per 10x rows means the fixed costs are already amortised). These batches go to a
   project of their own (schema, model, landing folder), trained on the same history: the
   loop's retrains never ingest them, and their healthy rows meet the champion they were
   drawn for, so the run measures the four stages and the Lookup, not a retraining. Training
   that project (the same 20,000 rows, in a process that has trained before) is timed too; a size
   given twice in a row (``5000,5000``) measures a second run of that size, the steady state.
4. The whole ``loop`` (batches, drift, retrain) against the Spark start-up time: how much of a
   local run is the work, not the session.
5. Online latency of the champion (``serving.py``): the project's API against MLflow's scoring
   server at 1, 8 and 32 concurrent clients (scikit-learn models: a Spark ML one is not served).
6. Training at scale (``training.py``): the training pipeline on histories of 100k, 1M and 10M
   rows with the project's model, and the driver's peak memory. ``--training-only`` runs this
   part alone.

Nothing is asserted on time: the figures depend on the machine. Usage::

    python benchmarks/run.py [--sizes 5000,5000,100000,1000000,10000000] [--scoring-rows 1000000]
                             [--loop-batches 5] [--loop-rows 5000] [--train-sizes 100000,1000000,10000000]
                             [--training-only] [--quick] [--json PATH] [--doc docs/performance.md]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

# Before anything reads the settings: every table, model and landing file goes here.
STATE = Path(tempfile.mkdtemp(prefix="mlops-bench-"))
os.environ["MLOPS_LOCAL_DIR"] = str(STATE)
# The simulator's sample data, shaped like the declared columns, whatever data_source.py reads.
os.environ["MLOPS_SAMPLE_DATA"] = "1"
# Runnable from a checkout without an install.
SOURCE = Path(__file__).resolve().parents[1] / "src"
sys.path.insert(0, str(SOURCE))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import mlflow  # noqa: E402
from mlflow import MlflowClient  # noqa: E402

from credit_default import features, inference, loop, modelling, registry, simulator, tables, training  # noqa: E402
from credit_default.orchestration.runner import run_execution, run_pipeline  # noqa: E402
from credit_default.runtime.engine import ENGINE_VAR  # noqa: E402
from credit_default.runtime.session import get_spark  # noqa: E402
from credit_default.runtime.tracking import configure_mlflow  # noqa: E402
from credit_default.settings import CONF_DIR_VAR, load_settings  # noqa: E402
from credit_default.stages.predict import checked_rows, scoring_rows  # noqa: E402
from serving import bench_serving  # noqa: E402
from training import bench_training  # noqa: E402

DEFAULTS = {"sizes": "5000,5000,100000,1000000,10000000", "scoring_rows": 1_000_000, "loop_batches": 5, "loop_rows": 5000,
            "train_sizes": "100000,1000000,10000000"}
QUICK = {"sizes": "2000,20000", "scoring_rows": 20_000, "loop_batches": 2, "loop_rows": 2000, "train_sizes": "20000"}
EXECUTE_ROWS = 5000
PACKAGE = "credit_default"
REPEATS = 2
DRIFT_AT = 3
# One partition per core (local[*]), as the pandas variant uses every core through its BLAS.
SCORING_PARTITIONS = os.cpu_count() or 2


def log(line: str) -> None:
    print(line, flush=True)


def timed(action) -> float:
    began = time.perf_counter()
    action()
    return time.perf_counter() - began


def best_of(action, repeats: int = REPEATS) -> float:
    return min(timed(action) for _ in range(repeats))


def evaluate(frame) -> None:
    """Compute every row of ``frame`` and discard it: no collect, no write cost."""
    frame.write.format("noop").mode("overwrite").save()


def land(settings, rows: int, scenario: simulator.Scenario = simulator.Scenario()) -> str:
    """Land one labelled batch of ``rows`` rows (10M rows: about 30 s and 2.5 GB in pandas)."""
    number = simulator.next_number(settings)
    return simulator.write_batch(settings, number, simulator.generate(settings, number, rows, scenario), labels=True)


def scoring_frame(spark, settings, rows: int):
    """The model inputs of a ``rows``-row batch, cached and counted, split over every core.

    The batch is set aside (features saved, landed files removed) so that the execution pipeline
    never picks it up; the repartition lets each Spark variant use every core, as pandas does."""
    # No dirty rows: cleaning would drop them, and every variant should score exactly ``rows``.
    batch = land(settings, rows, simulator.Scenario(dirty_fraction=0.0))
    saved = str(STATE / "scoring_features")
    scoring_rows(checked_rows(spark, settings, batch)[0], settings).write.mode("overwrite").parquet(saved)
    for landed in Path(settings.landing_path).glob(f"*/{batch}.parquet"):
        landed.unlink()
    frame = spark.read.parquet(saved).repartition(SCORING_PARTITIONS).cache()
    return frame, frame.count()


def bench_scoring(spark, settings, version: str, rows: int) -> dict:
    frame, count = scoring_frame(spark, settings, rows)
    names = list(features.FEATURE_COLUMNS)
    loaded = inference.load(settings, version)
    if loaded.library == modelling.SPARK_ML:
        # A Spark ML model is scored by its own transform: no Python UDF or pandas to compare with.
        seconds = {"ours": best_of(lambda: evaluate(inference.score(frame, loaded, settings)))}
        frame.unpersist()
        return {"rows": count, "partitions": SCORING_PARTITIONS, "seconds": seconds,
                "rows_per_second": {"ours": count / seconds["ours"]}, "ours_vs_spark_udf": None, "ours_vs_pandas": None}
    # A classifier's pyfunc answers the probability of each class (train.py logs it so): the
    # positive one is taken, as ours returns it.
    classes = settings.is_classification
    udf = mlflow.pyfunc.spark_udf(spark, f"models:/{settings.model_name}/{version}",
                                  result_type="array<double>" if classes else "double")
    pandas_frame = training.inputs(frame.toPandas())
    predict = loaded.model.predict_proba if settings.is_classification else loaded.model.predict
    seconds = {
        "ours": best_of(lambda: evaluate(inference.score(frame, loaded, settings))),
        "spark_udf": best_of(lambda: evaluate(frame.withColumn("prediction", udf(*names)[1] if classes else udf(*names)))),
        "pandas": best_of(lambda: predict(pandas_frame)),
    }
    frame.unpersist()
    result = {"rows": count, "partitions": SCORING_PARTITIONS, "seconds": seconds,
              "rows_per_second": {k: count / v for k, v in seconds.items()}}
    result["ours_vs_spark_udf"] = seconds["spark_udf"] / seconds["ours"]
    result["ours_vs_pandas"] = seconds["pandas"] / seconds["ours"]
    return result


def bench_execution(spark, settings, sizes: list[int], startup: float) -> list[dict]:
    results = []
    for rows in sizes:
        log(f"landing {rows:,} rows")
        land(settings, rows)
        began = time.perf_counter()
        executed = run_execution(spark, settings, echo=lambda line: log(f"  {line}"))
        seconds = time.perf_counter() - began
        decision = executed.decision.get("decision")
        growth = None
        # A size given twice in a row measures a second run of the same size: the steady state.
        again = bool(results) and results[-1]["rows"] == rows
        if results and not again:
            # Normalised to a 10x step, whatever the ratio between consecutive sizes.
            previous = results[-1]
            growth = (seconds / previous["seconds"]) ** (1 / math.log10(rows / previous["rows"]))
        results.append({"rows": rows, "seconds": seconds, "rows_per_second": rows / seconds,
                        "growth_per_10x_rows": growth, "decision": decision, "again": again,
                        "ratio_to_spark_startup": seconds / startup})
        log(f"execution, {rows:,} rows: {seconds:.1f}s, decision {decision}")
    return results


def command(*args: str, state: Path, engine: str) -> float:
    """Wall time of ``python -m <package> <args>`` as a whole process, in ``state``; fails loudly.
    ``engine`` "off": the command starts its own Spark even if an engine runs."""
    env = {**os.environ, "MLOPS_LOCAL_DIR": str(state), "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src"),
           ENGINE_VAR: engine}
    env.pop(CONF_DIR_VAR, None)
    began = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", PACKAGE, *args], env=env, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - began
    if done.returncode != 0:
        raise RuntimeError(f"`{' '.join(args)}` failed: {(done.stderr or done.stdout).strip()[-500:]}")
    log(f"  {' '.join(args):<10} {seconds:6.1f}s")
    return seconds


def bench_commands() -> dict:
    """The commands a person types, each a new process: what they wait for. Two ways, each in a
    state of its own: every command starting its own Spark, then every command reaching the warm
    engine (started once, first, and timed apart)."""
    result = {}
    for way, engine in (("own_spark", "off"), ("engine", "on")):
        log(f"commands, each a whole process: {way.replace('_', ' ')}")
        state = STATE / f"commands-{way}"
        seconds = {}
        if engine == "on":
            seconds["engine start"] = command("engine", "start", state=state, engine=engine)
        try:
            command("init", state=state, engine=engine)
            seconds["train"] = command("train", state=state, engine=engine)
            # One healthy 5,000-row batch, landed with its labels, for the next execute to take.
            os.environ["MLOPS_LOCAL_DIR"] = str(state)
            try:
                land(load_settings("local"), EXECUTE_ROWS)
            finally:
                os.environ["MLOPS_LOCAL_DIR"] = str(STATE)
            seconds["execute"] = command("execute", state=state, engine=engine)
            seconds["status"] = command("status", state=state, engine=engine)
        finally:
            if engine == "on":
                command("engine", "stop", state=state, engine=engine)
        result[way] = seconds
    return result


def prepare(spark, settings) -> float:
    """DDL, MLflow and the simulated history; then the training pipeline's time (first champion)."""
    tables.apply_ddl(spark, settings)
    configure_mlflow(settings)
    simulator.write_history(settings)
    return timed(lambda: run_pipeline(spark, settings, "training", echo=lambda line: log(f"  {line}")))


def own_settings(settings, name: str):
    """Settings of a project of its own in the benchmark's state: a copy of ``conf/`` with the
    schema, registered model, experiment and landing folder suffixed with ``name``; the notebooks
    read it through the conf-directory variable, as tests do."""
    conf = STATE / f"conf-{name}"
    shutil.copytree(settings.conf_dir, conf)
    project = yaml.safe_load((conf / "project.yml").read_text(encoding="utf-8"))
    project["registered_model_name"] += f"_{name}"
    local = project["environments"]["local"]
    local.update(schema=f"{local['schema']}_{name}", experiment=f"{local['experiment']}-{name}",
                 landing_path=str(STATE / f"landing-{name}"))
    (conf / "project.yml").write_text(yaml.safe_dump(project, sort_keys=False), encoding="utf-8")
    os.environ[CONF_DIR_VAR] = str(conf)
    own = load_settings("local")
    log(f"project {name}: schema {own.schema}, model {own.model_name}")
    return own


def own_project(spark, settings, name: str):
    """A project of its own prepared like the first one, and its training pipeline's time: the
    same 20,000 rows in a warm process."""
    own = own_settings(settings, name)
    return own, prepare(spark, own)


def scale_project(spark, settings):
    """For the training at scale: a fresh project's settings, its tables and MLflow set up."""
    def project(name: str):
        own = own_settings(settings, name)
        tables.apply_ddl(spark, own)
        configure_mlflow(own)
        return own
    return project


def machine(spark, load: float) -> dict:
    return {
        "cores": os.cpu_count(),
        "memory_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "spark": spark.version,
        "driver_memory": spark.conf.get("spark.driver.memory", "1g (Spark default)"),
        # Other processes on the machine skew every figure: the load at the start and end tells.
        "load_average": [load, round(os.getloadavg()[0], 2)],
    }


def sizes(listed: str) -> list[int]:
    return [int(size) for size in listed.split(",") if size.strip()]


def start_spark(settings):
    """The session every later step runs on, and how long it took to start: the yardstick."""
    began = time.perf_counter()
    spark = get_spark(settings)
    startup = time.perf_counter() - began
    log(f"spark start-up: {startup:.1f}s")
    return spark, startup


def run_training_only(args) -> dict:
    settings = load_settings("local")
    load = round(os.getloadavg()[0], 2)
    spark, startup = start_spark(settings)
    scale = bench_training(spark, scale_project(spark, settings), sizes(args.train_sizes), log)
    return {"machine": machine(spark, load), "spark_startup_seconds": startup, "training_at_scale": scale}


def run(args) -> dict:
    settings = load_settings("local")
    load = round(os.getloadavg()[0], 2)
    commands = bench_commands()
    spark, startup = start_spark(settings)
    training_seconds = prepare(spark, settings)
    version = registry.champion(MlflowClient(), settings.model_name).version
    log(f"scoring {args.scoring_rows:,} rows with v{version}, best of {REPEATS}")
    scoring = bench_scoring(spark, settings, version, args.scoring_rows)
    log(f"loop: {args.loop_batches} batches of {args.loop_rows:,} rows, drift at {DRIFT_AT}")
    loop_seconds = timed(lambda: loop.run_loop(spark, settings, batches=args.loop_batches, drift_at=DRIFT_AT,
                                               rows=args.loop_rows, echo=lambda line: log(f"  {line}")))
    version = registry.champion(MlflowClient(), settings.model_name).version
    log(f"online: our API and MLflow's scoring server on v{version}, one-row requests")
    uri = f"models:/{settings.model_name}/{version}"
    serving = None
    if modelling.library_of_version(uri) == modelling.SPARK_ML:
        log("online: not measured, a Spark ML model is not served online")
    else:
        sample = (spark.table(settings.table("inference_log"))
                  .select(settings.id_column, settings.timestamp_column, *features.FEATURE_COLUMNS).limit(600).toPandas())
        serving = bench_serving(PACKAGE, SOURCE, uri, sample, list(features.FEATURE_COLUMNS), log=log)
    execution_project, warm_training_seconds = own_project(spark, settings, "execution")
    execution = bench_execution(spark, execution_project, sizes(args.sizes), startup)
    scale = bench_training(spark, scale_project(spark, settings), sizes(args.train_sizes), log)
    return {
        "machine": machine(spark, load),
        "spark_startup_seconds": startup,
        "training_pipeline_seconds": training_seconds,
        "training_ratio_to_spark_startup": training_seconds / startup,
        "warm_training_pipeline_seconds": warm_training_seconds,
        "warm_training_ratio_to_spark_startup": warm_training_seconds / startup,
        "commands": {way: {name: {"seconds": value, "ratio_to_spark_startup": value / startup}
                           for name, value in seconds.items()} for way, seconds in commands.items()},
        "scoring": scoring,
        "execution": execution,
        "loop": {"batches": args.loop_batches, "rows": args.loop_rows, "drift_at": DRIFT_AT,
                 "seconds": loop_seconds, "ratio_to_spark_startup": loop_seconds / startup},
        "serving": serving,
        "training_at_scale": scale,
    }


def summary(r: dict) -> str:
    m = r["machine"]
    lines = [
        "=" * 72,
        "BENCHMARK SUMMARY",
        f"machine            {m['cores']} cores, {m['memory_gb']} GiB, Spark {m['spark']}, "
        f"driver memory {m['driver_memory']}, load average {m['load_average'][0]} at start, {m['load_average'][1]} at end",
        f"spark start-up     {r['spark_startup_seconds']:8.1f} s",
    ]
    if "scoring" in r:
        lines += summary_of_the_loop(r)
    lines += summary_of_training(r["training_at_scale"])
    lines.append("=" * 72)
    return "\n".join(lines)


def megabytes(value: float | None) -> str:
    return "n/a" if value is None else f"{value:,.0f} MB"


def summary_of_training(results: list[dict]) -> list[str]:
    lines = ["", "training at scale: the training pipeline on a history of each size, the project's model",
             f"  {'rows':>12}  {'library':<12}  {'pipeline s':>10}  {'train s':>8}  {'JVM peak':>10}  {'Python peak':>11}"]
    for t in results:
        train = "-" if t["train_seconds"] is None else f"{t['train_seconds']:.1f}"
        lines.append(f"  {t['rows']:>12,}  {t['library']:<12}  {t['seconds']:>10.1f}  {train:>8}  "
                     f"{megabytes(t['peak_jvm_mb']):>10}  {megabytes(t['peak_python_mb']):>11}")
        if t["error"]:
            lines.append(f"  {'':>12}  failed: {t['error']}")
    return lines


def summary_of_the_loop(r: dict) -> list[str]:
    s, lp = r["scoring"], r["loop"]
    lines = [
        f"training pipeline  {r['training_pipeline_seconds']:8.1f} s   (history, first champion) "
        f"= {r['training_ratio_to_spark_startup']:.1f}x start-up",
        f"training pipeline  {r['warm_training_pipeline_seconds']:8.1f} s   (same history, warm process) "
        f"= {r['warm_training_ratio_to_spark_startup']:.1f}x start-up",
        "",
    ]
    for way, figures in r["commands"].items():
        lines.append(f"commands, each a whole process: {COMMAND_WAYS[way]}")
        for name, figure in figures.items():
            what = {"execute": f"one {EXECUTE_ROWS:,}-row batch", "train": "history, first champion",
                    "status": "no JVM", "engine start": "once, before init"}.get(name, "")
            lines.append(f"  {name:<22}{figure['seconds']:8.1f} s  = {figure['ratio_to_spark_startup']:5.1f}x start-up"
                         f"  ({what})")
    lines += [
        "",
        f"scoring {s['rows']:,} cached rows, {s['partitions']} partitions, best of {REPEATS}",
    ]
    labels = {"ours": "ours (inference.score)", "spark_udf": "mlflow spark_udf", "pandas": "pandas, one process"}
    for key, label in labels.items():
        if key not in s["seconds"]:
            lines.append(f"  {label:<24}     n/a    (a Spark ML model is scored by its own transform)")
            continue
        lines.append(f"  {label:<24}{s['seconds'][key]:8.2f} s  {s['rows_per_second'][key]:>14,.0f} rows/s")
    for key, label in (("ours_vs_spark_udf", "ours vs spark_udf"), ("ours_vs_pandas", "ours vs pandas")):
        if s[key] is not None:
            lines.append(f"  {label:<24}{s[key]:8.2f}x  (speed-up)")
    lines += [
        "",
        "execution pipeline, one landed batch (+: the same size again, the steady state)",
        f"  {'rows':>12}  {'seconds':>9}  {'x start-up':>10}  {'rows/s':>12}  {'growth per 10x rows':>20}  decision",
    ]
    for e in r["execution"]:
        growth = "-" if e["growth_per_10x_rows"] is None else f"{e['growth_per_10x_rows']:.2f}x"
        lines.append(f"  {e['rows']:>12,}{'+' if e['again'] else ' '} {e['seconds']:>9.1f}  {e['ratio_to_spark_startup']:>9.1f}x  "
                     f"{e['rows_per_second']:>12,.0f}  {growth:>20}  {e['decision']}")
    lines += [
        "",
        f"loop, {lp['batches']} batches x {lp['rows']:,} rows, drift at batch {lp['drift_at']}",
        f"  wall time               {lp['seconds']:8.1f} s",
        f"  vs spark start-up       {lp['ratio_to_spark_startup']:8.1f}x",
        "",
    ]
    if r["serving"] is None:
        return [*lines, "online: not measured (a Spark ML model is not served online)"]
    lines += [
        "online, one-row requests: ours / MLflow's scoring server (req/s: above 1 is faster; latency: below 1)",
        f"  {'clients':>7}  {'req/s':>15}  {'p50 ms':>15}  {'p95 ms':>15}  {'p99 ms':>15}",
    ]
    for ours, theirs, ratio in zip(r["serving"]["ours"], r["serving"]["mlflow"], r["serving"]["ratios"]):
        cells = [f"{ours[k]:.0f}/{theirs[k]:.0f} {ratio[k]:.2f}x"
                 for k in ("requests_per_second", "p50_ms", "p95_ms", "p99_ms")]
        lines.append(f"  {ours['clients']:>7}  " + "  ".join(f"{cell:>15}" for cell in cells))
    return lines


COMMAND_WAYS = {"own_spark": "each starts its own Spark", "engine": "through the warm engine"}
# The page's two generated blocks: every figure of a whole run, and the training at scale (which
# ``--training-only`` rewrites alone).
DOC_BLOCKS = {"bench": ("<!-- bench:begin -->", "<!-- bench:end -->"),
              "training": ("<!-- bench:training:begin -->", "<!-- bench:training:end -->")}


def markdown(r: dict) -> str:
    """The figures of one run as the table of docs/performance.md."""
    m, s, lp, c = r["machine"], r["scoring"], r["loop"], r["commands"]
    rows = [
        ("Machine", f"{m['cores']} cores, {m['memory_gb']} GiB, Spark {m['spark']}, driver memory "
                    f"{m['driver_memory']}, load average {m['load_average'][0]} at start, {m['load_average'][1]} at end"),
        ("Spark session start-up (in-process)", f"{r['spark_startup_seconds']:.1f} s"),
        ("Training pipeline, history of 20,000 rows (in-process, first champion)",
         f"{r['training_pipeline_seconds']:.1f} s = {r['training_ratio_to_spark_startup']:.1f}× start-up"),
        ("Training pipeline, the same 20,000 rows (in-process, a warm process, another project)",
         f"{r['warm_training_pipeline_seconds']:.1f} s = {r['warm_training_ratio_to_spark_startup']:.1f}× start-up"),
        ("`engine start` (once; later commands reuse it)", f"{c['engine']['engine start']['seconds']:.1f} s"),
        *((f"`train` command (whole process, {COMMAND_WAYS[way]})",
           f"{c[way]['train']['seconds']:.1f} s = {c[way]['train']['ratio_to_spark_startup']:.1f}× start-up")
          for way in COMMAND_WAYS),
        *((f"`execute` command, one {EXECUTE_ROWS:,}-row batch (whole process, {COMMAND_WAYS[way]})",
           f"{c[way]['execute']['seconds']:.1f} s = {c[way]['execute']['ratio_to_spark_startup']:.1f}× start-up")
          for way in COMMAND_WAYS),
        ("`status` command (whole process, no JVM)", f"{c['engine']['status']['seconds']:.1f} s"),
        (f"`loop`, {lp['batches']} batches × {lp['rows']:,} rows, drift from batch {lp['drift_at']} (in-process)",
         f"{lp['seconds']:.1f} s = {lp['ratio_to_spark_startup']:.1f}× start-up"),
        *scoring_rows_of(s),
    ]
    for e in r["execution"]:
        growth = "" if e["growth_per_10x_rows"] is None else f", {e['growth_per_10x_rows']:.2f}× per 10× rows"
        again = ", again: the steady state" if e["again"] else ""
        rows.append((f"Execution pipeline, {e['rows']:,} rows (in-process{again})",
                     f"{e['seconds']:.1f} s = {e['ratio_to_spark_startup']:.1f}× start-up{growth}, {e['decision']}"))
    if r["serving"] is None:
        rows.append(("Online requests", "not measured: a Spark ML model is not served online"))
    for ours, theirs, ratio in zip(*((r["serving"] or {}).get(k, ()) for k in ("ours", "mlflow", "ratios"))):
        rows.append((f"Online, {ours['clients']} concurrent client{'s' if ours['clients'] > 1 else ''}, one-row "
                     "requests: ours / MLflow's scoring server (req/s; p50 / p95 / p99 ms)",
                     f"{ours['requests_per_second']:.0f} / {theirs['requests_per_second']:.0f} req/s "
                     f"= {ratio['requests_per_second']:.2f}×; "
                     + "; ".join(f"{ours[k]:.1f} / {theirs[k]:.1f} ms = {ratio[k]:.2f}×" for k in ("p50_ms", "p95_ms", "p99_ms"))))
    return "\n".join(["| What | Measured |", "| --- | --- |", *(f"| {what} | {value} |" for what, value in rows)])


def scoring_rows_of(s: dict) -> list[tuple[str, str]]:
    if s["ours_vs_spark_udf"] is None:
        return [(f"Scoring {s['rows']:,} cached rows with the Spark ML model's own transform (rows/s)",
                 f"{s['rows_per_second']['ours']:,.0f} (no `spark_udf` or pandas to compare with)")]
    return [(f"Scoring {s['rows']:,} cached rows: ours / `spark_udf` / pandas (rows/s)",
             " / ".join(f"{s['rows_per_second'][k]:,.0f}" for k in ("ours", "spark_udf", "pandas"))),
            ("Ours vs `spark_udf`; ours vs single-process pandas",
             f"{s['ours_vs_spark_udf']:.2f}×; {s['ours_vs_pandas']:.2f}×")]


def markdown_training(r: dict) -> str:
    """The training at scale as the second table of docs/performance.md."""
    m = r["machine"]
    rows = []
    for t in r["training_at_scale"]:
        train = "" if t["train_seconds"] is None else f"; `train` {t['train_seconds']:.1f} s"
        done = f"failed: {t['error']}" if t["error"] else "first champion registered"
        rows.append(f"| {t['rows']:,} | {t['library']} | {t['seconds']:.1f} s{train} | "
                    f"{megabytes(t['peak_jvm_mb'])} / {megabytes(t['peak_python_mb'])} | {done} |")
    return "\n".join([
        f"Spark start-up {r['spark_startup_seconds']:.1f} s; {m['cores']} cores, driver memory {m['driver_memory']}, "
        f"load average {m['load_average'][0]} at start, {m['load_average'][1]} at end.",
        "",
        "| History rows | Model library | Training pipeline (six notebooks) | Driver peak memory: Spark JVM / Python | Outcome |",
        "| --- | --- | --- | --- | --- |",
        *rows,
    ])


def write_doc(path: Path, r: dict) -> None:
    """Replace the generated blocks of ``path`` (between their markers) with this run's figures:
    both after a whole run, the training one alone after ``--training-only``."""
    text = path.read_text(encoding="utf-8")
    blocks = {"training": markdown_training(r)} | ({"bench": markdown(r)} if "scoring" in r else {})
    for name, table in blocks.items():
        begin, end = DOC_BLOCKS[name]
        head, found, rest = text.partition(begin)
        _, ended, tail = rest.partition(end)
        if not found or not ended:
            raise ValueError(f"{path}: no {begin} … {end} block to replace")
        text = f"{head}{begin}\n{table}\n{end}{tail}"
    path.write_text(text, encoding="utf-8")


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", help=f"execution batch sizes, comma separated (default {DEFAULTS['sizes']})")
    parser.add_argument("--scoring-rows", type=int, help=f"rows scored (default {DEFAULTS['scoring_rows']})")
    parser.add_argument("--loop-batches", type=int, help=f"loop batches (default {DEFAULTS['loop_batches']})")
    parser.add_argument("--loop-rows", type=int, help=f"rows per loop batch (default {DEFAULTS['loop_rows']})")
    parser.add_argument("--train-sizes",
                        help=f"training histories' rows, comma separated (default {DEFAULTS['train_sizes']})")
    parser.add_argument("--training-only", action="store_true",
                        help="only the training at scale (the figures a model change needs)")
    parser.add_argument("--quick", action="store_true", help="tiny sizes, a couple of minutes: a smoke test")
    parser.add_argument("--json", type=Path, help="also write the figures as JSON to this path")
    parser.add_argument("--doc", type=Path, help="rewrite the figures table of this page (docs/performance.md)")
    args = parser.parse_args(argv)
    # Explicit options win over --quick, which wins over the defaults.
    for name, value in (QUICK if args.quick else DEFAULTS).items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    return args


def main(argv: list[str] | None = None) -> int:
    try:
        args = parse(argv)
        results = run_training_only(args) if args.training_only else run(args)
        log(summary(results))
        if args.json:
            args.json.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
        if args.doc:
            write_doc(args.doc, results)
        return 0
    finally:
        from pyspark.sql import SparkSession

        if (active := SparkSession.getActiveSession()) is not None:
            active.stop()
        shutil.rmtree(STATE, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
