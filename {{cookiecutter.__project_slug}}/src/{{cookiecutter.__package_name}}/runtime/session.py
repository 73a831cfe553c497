"""The Spark session: the cluster's on Databricks, a local Spark + Delta Lake one elsewhere."""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import engine, on_databricks, require_reachable

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from ..settings import Settings

# Overrides for corporate networks, read before conf/project.yml's `local:` section.
REPOSITORIES_VAR = "SPARK_JARS_REPOSITORIES"
IVY_SETTINGS_VAR = "SPARK_JARS_IVY_SETTINGS"


def get_spark(settings: Settings) -> SparkSession:
    """The active session on Databricks; otherwise the warm local engine's (engine.py) when one
    runs, or a local session of this process's own (created once per process)."""
    from pyspark.sql import SparkSession

    require_reachable(settings)
    if on_databricks():
        return SparkSession.builder.getOrCreate()
    active = SparkSession.getActiveSession()
    if active is not None:
        return active
    remote = engine.connect(settings)
    if remote is not None:
        return remote
    if engine.running(settings) is not None:  # engines are off for this command, yet one runs
        raise RuntimeError(f"the local engine holds this project's metastore: stop it (`engine stop`) or unset "
                           f"{engine.ENGINE_VAR} to use it")
    return local_session(settings)


def local_session(settings: Settings, connect_port: int | None = None) -> SparkSession:
    """Spark + Delta in this process; with ``connect_port``, also serving Spark Connect there
    (the warm engine of engine.py)."""
    from delta import configure_spark_with_delta_pip
    from pyspark.sql import SparkSession

    # Set by a Spark Connect session opened earlier (inherited by child processes too): they
    # would make the builder below ask for a remote session.
    os.environ.pop("SPARK_CONNECT_MODE_ENABLED", None)
    os.environ.pop("SPARK_REMOTE", None)
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
    jvm_options, archive_to_publish = _jvm_options(local)
    builder = (
        SparkSession.builder.master("local[*]")
        .appName(settings.project["package_name"])
        .config("spark.sql.extensions", "io.delta.sql.DeltaSparkSessionExtension")
        .config("spark.sql.catalog.spark_catalog", "org.apache.spark.sql.delta.catalog.DeltaCatalog")
        # Databricks' defaults: Delta is the table format, timestamps are UTC.
        .config("spark.sql.sources.default", "delta")
        .config("spark.sql.session.timeZone", "UTC")
        # A laptop, not a cluster: no UI, few partitions, small Delta log state (one task reads it).
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", str(local.get("shuffle_partitions", 2)))
        .config("spark.databricks.delta.snapshotPartitions", "1")
        # Spark keeps the code it compiles for 100 distinct queries; one loop step runs about 300
        # (Delta's own included), so every step compiled them all again: a quarter of a warm
        # engine's CPU. Measured in one process, 2,500-row steps: 22 s each with 100, 16.5 s with
        # 4,000, where later steps compile ~10 new queries instead of ~200.
        .config("spark.sql.codegen.cache.maxEntries", "4000")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        # Tables and views survive the process: a Derby metastore and a warehouse in .local/.
        .config("spark.sql.warehouse.dir", str(state / "warehouse"))
        .config("spark.hadoop.javax.jdo.option.ConnectionURL", f"jdbc:derby:;databaseName={metastore};create=true")
        # Hive's folder for downloaded resources (none are used): by default a new one in /tmp per
        # JVM, named by session and never removed, so every command left one behind.
        .config("spark.hadoop.hive.downloaded.resources.dir", str(state / "hive-resources"))
        .config("spark.driver.extraJavaOptions", " ".join([f"-Dderby.system.home={state}", *jvm_options]))
        .enableHiveSupport()
    )
    if connect_port is not None:
        builder = (
            builder.config("spark.plugins", "org.apache.spark.sql.connect.SparkConnectPlugin")
            .config("spark.connect.grpc.binding.address", "127.0.0.1")
            .config("spark.connect.grpc.binding.port", str(connect_port))
        )
    if local.get("driver_memory"):
        builder = builder.config("spark.driver.memory", str(local["driver_memory"]))
    # What one collect may bring into the driver: half its memory (Spark's default is as much as
    # the whole 1g heap). training.collect refuses a scikit-learn training set of more than half
    # this before collecting: a 10,000,000-row set killed the JVM (OutOfMemoryError) in the task
    # that serialised it, before any collect limit was checked.
    builder = builder.config("spark.driver.maxResultSize", half_of(str(local.get("driver_memory") or "1g")))
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
    atexit.register(_wait_for_jvm_exit, spark, spark.sparkContext._gateway, archive_to_publish)
    return spark


def size_in_bytes(size: str) -> int:
    """A JVM memory size as Spark writes them ("1g", "4096m", "512k", "8gb", plain bytes)."""
    units = {"k": 2**10, "m": 2**20, "g": 2**30, "t": 2**40}
    text = size.strip().lower().removesuffix("b")
    if text and text[-1] in units:
        return int(float(text[:-1]) * units[text[-1]])
    return int(text)


def half_of(size: str) -> str:
    """Half of a JVM memory size, in megabytes as Spark writes them."""
    return f"{max(1, size_in_bytes(size) // 2**21)}m"


def _wait_for_jvm_exit(spark: SparkSession, gateway: Any, archive_to_publish: tuple[Path, Path] | None) -> None:
    """End the JVM with the command and wait for it, instead of leaving it to die after we return.

    Until it has exited it holds Derby's lock on the metastore (the next command could not open
    it) and it may still be writing the class-data-sharing archive."""
    try:
        spark.stop()
    except Exception:  # noqa: BLE001 - exiting anyway; the JVM is ended below
        pass
    jvm: subprocess.Popen | None = getattr(gateway, "proc", None)
    # From here the JVM is gone: the Java objects Python frees while it exits must not try to tell
    # it (py4j would print a "connection reset" traceback for each).
    client = getattr(gateway, "_gateway_client", None)
    if client is not None:
        client.is_connected = False
    if jvm is not None and jvm.poll() is None:
        with contextlib.suppress(OSError):
            jvm.stdin.close()  # the gateway exits on end of input
        try:
            jvm.wait(timeout=180)
        except subprocess.TimeoutExpired:
            jvm.kill()
    if archive_to_publish is not None and archive_to_publish[0].is_file():
        os.replace(*archive_to_publish)


# Three times HotSpot's defaults (5,000 / 600 / 15,000 / 40,000); see _jvm_options.
C2_THRESHOLDS = ["-XX:Tier4InvocationThreshold=15000", "-XX:Tier4MinInvocationThreshold=1800",
                 "-XX:Tier4CompileThreshold=45000", "-XX:Tier4BackEdgeThreshold=120000"]


def _jvm_options(local: dict) -> tuple[list[str], tuple[Path, Path] | None]:
    """JVM flags for a fast start, where commands are short and a JVM lives for one command, and
    for two cores.

    A class-data-sharing archive of the classes Spark loads, written by the first JVM at exit and
    mapped by every later one, skips most class loading. The archive is per user, pyspark
    installation and Java installation; an unusable one is ignored by the JVM. (C1-only JIT,
    ``-XX:TieredStopAtLevel=1``, starts a second faster still but made every warm Delta operation
    and a 10M-row predict slower: measured, a net loss even for one ``execute``.)

    Returns the options and, when this JVM writes the archive, (the file it writes, the archive's
    place) for _wait_for_jvm_exit to move it into place."""
    # The throughput collector instead of G1 (Java 17's default): on two cores G1's concurrent
    # threads compete with the work. Measured in fresh processes, alternating: a 1,000,000-row
    # execution run 35.2/38.1 s against 45.6/41.7 s; 5,000-row loop steps after the first 5.2–5.5 s
    # against 6.2–6.6 s.
    # The optimising compiler (C2) only for code run three times as often as Java's default asks.
    # Spark generates and loads new classes for its queries, and most run a few thousand times:
    # an engine through the loop's tests spent 2 min 48 s compiling (68,000 methods, JFR) in a
    # 219 s run. Measured on those tests (wall, busy CPU): 163–174 s and 249–270 core-seconds with
    # these thresholds, 189–197 s and 308–327 with the defaults, 196 s and 276 at ten times them
    # (the code stays slow too long), 273 s and 413 with C1 alone.
    options = ["-XX:+UseParallelGC", *C2_THRESHOLDS]
    archive = _class_archive() if local.get("jvm_class_archive", True) else None
    if archive is None:
        return options, None
    if archive.is_file():
        return [*options, f"-XX:SharedArchiveFile={archive}"], None
    # Written under a name of this process's own and moved into place once the JVM has exited
    # (see _wait_for_jvm_exit), so a concurrent command never maps a half-written archive.
    _remove_abandoned(archive)
    pending = archive.with_name(f"{archive.name}.{os.getpid()}.tmp")
    return [*options, f"-XX:ArchiveClassesAtExit={pending}"], (pending, archive)


def _remove_abandoned(archive: Path) -> None:
    """Archives left half-written by processes that were killed (they are large)."""
    for pending in archive.parent.glob(f"{archive.name}.*.tmp"):
        pid = pending.name.removeprefix(f"{archive.name}.").removesuffix(".tmp")
        if not pid.isdigit() or not engine.alive(int(pid)):
            pending.unlink(missing_ok=True)


def _class_archive() -> Path | None:
    """Where the archive of this Java and this pyspark installation lives (shared by every project
    that uses them: the archive is valid only for the class path it was written with)."""
    import pyspark

    home = os.environ.get("JAVA_HOME")
    java = shutil.which("java", path=os.path.join(home, "bin")) if home else shutil.which("java")
    if java is None:
        return None
    installation = f"{Path(java).resolve()}|{Path(pyspark.__file__).resolve().parent}"
    digest = hashlib.sha256(installation.encode()).hexdigest()[:12]
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "pyspark-class-archives"
    try:
        cache.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return cache / f"spark-{pyspark.__version__}-{digest}.jsa"


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
