"""The Spark session: the cluster's on Databricks, a local Spark + Delta Lake one elsewhere."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from . import on_databricks

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from ..settings import Settings

# Overrides for corporate networks, read before conf/project.yml's `local:` section.
REPOSITORIES_VAR = "SPARK_JARS_REPOSITORIES"
IVY_SETTINGS_VAR = "SPARK_JARS_IVY_SETTINGS"


def get_spark(settings: Settings) -> SparkSession:
    """The active session on Databricks; otherwise a local one (created once per process)."""
    from pyspark.sql import SparkSession

    if on_databricks():
        return SparkSession.builder.getOrCreate()
    if not settings.is_local:
        raise RuntimeError(
            f"environment {settings.env!r} runs on Databricks; locally use --env local"
        )
    active = SparkSession.getActiveSession()
    if active is not None:
        return active
    return _local_session(settings)


def _local_session(settings: Settings) -> SparkSession:
    from delta import configure_spark_with_delta_pip
    from pyspark.sql import SparkSession

    # Workers must run the driver's interpreter, or UDFs cannot import this package.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    # ...and see its source folder even when the project is not pip-installed (pytest's
    # `pythonpath = src` reaches the driver only): the JVM hands PYTHONPATH on to every worker.
    source = str(Path(__file__).resolve().parents[2])
    paths = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    if source not in paths:
        os.environ["PYTHONPATH"] = os.pathsep.join([source, *paths])
    local = settings.project.get("local") or {}
    state = settings.local_dir
    state.mkdir(parents=True, exist_ok=True)
    metastore = state / "metastore_db"
    builder = (
        SparkSession.builder.master("local[*]")
        .appName(settings.project["package_name"])
        .config("spark.sql.extensions", "io.delta.sql.DeltaSparkSessionExtension")
        .config("spark.sql.catalog.spark_catalog", "org.apache.spark.sql.delta.catalog.DeltaCatalog")
        # Databricks' defaults: Delta is the table format, timestamps are UTC.
        .config("spark.sql.sources.default", "delta")
        .config("spark.sql.session.timeZone", "UTC")
        # A laptop, not a cluster: no UI, few partitions, small Delta log state.
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", str(local.get("shuffle_partitions", 4)))
        .config("spark.databricks.delta.snapshotPartitions", "2")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        # Tables and views survive the process: a Derby metastore and a warehouse in .local/.
        .config("spark.sql.warehouse.dir", str(state / "warehouse"))
        .config("spark.hadoop.javax.jdo.option.ConnectionURL", f"jdbc:derby:;databaseName={metastore};create=true")
        .config("spark.driver.extraJavaOptions", f"-Dderby.system.home={state}")
        .enableHiveSupport()
    )
    if local.get("driver_memory"):
        builder = builder.config("spark.driver.memory", str(local["driver_memory"]))
    repositories = os.environ.get(REPOSITORIES_VAR) or local.get("maven_repository")
    if repositories:
        builder = builder.config("spark.jars.repositories", repositories)
    ivy_settings = os.environ.get(IVY_SETTINGS_VAR) or local.get("ivy_settings")
    if ivy_settings:
        builder = builder.config("spark.jars.ivySettings", str(Path(ivy_settings).resolve()))
    log = state / "spark.log"
    try:
        with _output_to(log):
            spark = configure_spark_with_delta_pip(builder).getOrCreate()
    except Exception as error:
        raise RuntimeError(
            f"local Spark could not start ({' '.join(str(error).split())[:300]}); its output is in {log}. "
            f"If the Delta Lake jars could not be downloaded, point {REPOSITORIES_VAR} (or conf/project.yml "
            "local.maven_repository) at a reachable Maven repository"
        ) from error
    spark.sparkContext.setLogLevel("ERROR")
    return spark


@contextlib.contextmanager
def _output_to(log: Path) -> Iterator[None]:
    """Send the JVM's console output (jar resolution, warnings) to ``log`` instead of the terminal.

    The JVM is a child process started inside this block: it keeps the log file as its stdout
    and stderr for its whole life, while Python's own streams are restored on exit.
    """
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with open(log, "ab") as sink:
        os.dup2(sink.fileno(), 1)
        os.dup2(sink.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])
