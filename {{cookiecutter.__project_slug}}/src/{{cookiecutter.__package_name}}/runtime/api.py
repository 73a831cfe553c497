"""The champion behind an HTTP API, locally: ``python -m {{ cookiecutter.__package_name }} serve``.

- ``POST /invocations`` takes rows as MLflow's scoring server does (``{"dataframe_records": [...]}``
  or ``{"dataframe_split": {"columns": [...], "data": [...]}}``): the id column, the model's input
  columns (``features.FEATURE_COLUMNS``) and, optionally, the timestamp column (default: when the
  request arrived). It answers ``{"model_version": ..., "predictions": [{<id>, "prediction",
  "probability"}]}``, the probability null for a regressor.
- A request that does not fit gets a 4xx and ``{"error": "<one line>"}``, never a traceback.
- ``GET /health``: the process answers. ``GET /ready`` (and ``/ping``, MLflow's name): 200 with the
  version once a champion is loaded.
- Every scored row goes to ``inference_log`` like a batch's (batch ``online-<UTC date>``, run
  ``serve-<id>``), buffered: appended every ``flush_seconds`` or ``flush_rows`` rows, and at a clean
  stop (Ctrl-C, SIGTERM). A crash loses at most the rows of the last ``flush_seconds``.
- A new ``@champion`` is served without a restart: a watcher reads the alias every
  ``poll_seconds``, loads the new version beside the old one, then swaps; a request scores with the
  version it started with, so none fails during a promotion.
- Pinned (``version``: the container of ``deploy/``, where git says which version runs), it serves
  that version only and never follows the alias; the scored rows go to stdout, one JSON line each
  (``request_log="stdout"``), since no warehouse is written from there.
"""

from __future__ import annotations

import gc
import json
import math
import os
import signal
import sys
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

import pandas as pd

from .. import features, inference, modelling, warehouse

if TYPE_CHECKING:
    from ..settings import Settings

MAX_BODY_BYTES = 16 * 1024 * 1024


class BadRequest(ValueError):
    """A request the API refuses: its message is the one line the client gets."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Champion:
    version: str
    model: Any


class Champions:
    """The version being served, swapped whole when @champion moves; or one pinned version, loaded
    once, whatever the alias says."""

    def __init__(self, settings: Settings, pinned: str | None = None) -> None:
        self.settings, self.pinned = settings, pinned
        self.current: Champion | None = None

    def refresh(self) -> bool:
        """Load the version to serve if it is not the one served; True if it changed."""
        from mlflow import MlflowClient

        from .. import registry

        client = MlflowClient()
        if self.pinned is None:
            version = registry.champion(client, self.settings.model_name).version
        else:  # a version that does not exist fails here, in one line, before the port opens
            version = registry.get_version(client, self.settings.model_name, self.pinned).version
        if self.current is not None and self.current.version == version:
            return False
        if modelling.library_of_version(f"models:/{self.settings.model_name}/{version}") == modelling.SPARK_ML:
            # A request would wait on a Spark job; Spark ML versions are scored in batches (execute).
            raise RuntimeError(f"version {version} of {self.settings.model_name} is a Spark ML model: the API "
                               "serves scikit-learn models only; score it with `execute` (docs/serving.md)")
        self.current = Champion(version, inference.load(self.settings, version).model)
        return True

    @property
    def source(self) -> str:
        return "pinned" if self.pinned is not None else "@champion"


class RequestLog:
    """Scored rows waiting for their one Delta commit into inference_log."""

    def __init__(self, settings: Settings, run_id: str, flush_rows: int = 1000) -> None:
        self.settings, self.run_id, self.flush_rows = settings, run_id, flush_rows
        self.columns = inference.log_columns(settings)
        self.rows: list[tuple] = []
        self.written = 0
        self._buffer = threading.Lock()
        self._commit = threading.Lock()  # one flush at a time: commits stay in arrival order

    def add(self, frame: pd.DataFrame, version: str) -> None:
        rows = log_rows(self.settings, self.columns, self.run_id, frame, version)
        with self._buffer:
            self.rows.extend(rows)
            full = len(self.rows) >= self.flush_rows
        if full:
            self.flush()

    def flush(self) -> int:
        with self._commit:
            with self._buffer:
                rows, self.rows = self.rows, []
            if rows:
                try:
                    warehouse.append(self.settings, "inference_log", rows, self.columns)
                except Exception:
                    with self._buffer:  # kept for the next flush, ahead of the newer rows
                        self.rows[:0] = rows
                    raise
                self.written += len(rows)
            return len(rows)


def log_rows(settings: Settings, columns: list[str], run_id: str, frame: pd.DataFrame, version: str) -> list[tuple]:
    """The scored rows as inference_log rows: ``columns``' values, in that order."""
    now = datetime.now(timezone.utc)
    extra = {"model_name": settings.model_name, "model_version": version,
             "batch_id": inference.online_batch(now.date()), "pipeline_run_id": run_id, "scored_at": now}
    values = [frame[c].tolist() if c in frame.columns else [extra[c]] * len(frame) for c in columns]
    return list(zip(*values))


def _json_value(value: Any) -> Any:
    if isinstance(value, float) and value != value:  # NaN: null, as in the table
        return None
    return value.isoformat() if hasattr(value, "isoformat") else value


class StdoutLog:
    """The scored rows as JSON lines on stdout, ``{"inference_log": {<column>: value, ...}}``, one per
    row, written as each request is answered: where no warehouse can be written (the container), the
    platform's log collector keeps them. The one key keeps them apart from the server's text lines."""

    def __init__(self, settings: Settings, run_id: str, stream: Any = None) -> None:
        self.settings, self.run_id = settings, run_id
        self.stream = stream or sys.stdout
        self.columns = inference.log_columns(settings)
        self.written = 0
        self._lock = threading.Lock()

    def add(self, frame: pd.DataFrame, version: str) -> None:
        rows = log_rows(self.settings, self.columns, self.run_id, frame, version)
        lines = "".join(json.dumps({"inference_log": {c: _json_value(v) for c, v in zip(self.columns, row)}},
                                   default=str) + "\n" for row in rows)
        with self._lock:  # one request's lines together, never interleaved with another's
            self.stream.write(lines)
            self.stream.flush()
            self.written += len(rows)

    def flush(self) -> int:
        return 0


def parse(body: bytes, settings: Settings) -> pd.DataFrame:
    """The request's rows, checked and typed as the model and the inference log need them: the id,
    the time and the model's inputs (other columns are left out).

    Checked column by column on plain lists, and one frame built at the end: a request is usually a
    row or a few, where pandas' per-column conversions would cost more than the model."""
    try:
        payload = json.loads(body or b"null")
    except ValueError as error:
        raise BadRequest(f"the body is not JSON ({error})") from None
    columns = _columns(payload)
    count = len(next(iter(columns.values()), []))
    if not count:
        raise BadRequest("no rows to score")
    missing = [c for c in (settings.id_column, *features.FEATURE_COLUMNS) if c not in columns]
    if missing:
        raise BadRequest(f"missing column{'s' if len(missing) > 1 else ''}: {', '.join(missing)}", 422)
    ids = columns[settings.id_column]
    empty = sum(_absent(value) for value in ids)
    if empty:
        raise BadRequest(f"{settings.id_column} is empty in {empty} row(s)", 422)
    typed = {settings.id_column: [str(value) for value in ids]}
    for name, sql_type in features.FEATURE_COLUMNS.items():
        typed[name] = _numbers(name, columns[name]) if sql_type.upper().startswith(inference.NUMERIC_TYPES) else columns[name]
    stamp = settings.timestamp_column
    arrived = pd.Timestamp.now(tz="UTC")
    given = columns.get(stamp, [None] * count)
    times = pd.to_datetime(pd.Series(given, dtype=object), utc=True, errors="coerce", format="ISO8601")
    unread = [value for value, time in zip(given, times) if pd.isna(time) and not _absent(value)]
    if unread:
        raise BadRequest(f"{stamp} must be an ISO 8601 time: {unread[0]!r}", 422)
    typed[stamp] = times.fillna(arrived)
    return pd.DataFrame(typed)


def _columns(payload: Any) -> dict[str, list]:
    """Column name -> values, from either of MLflow's two table formats."""
    if isinstance(payload, dict) and isinstance(payload.get("dataframe_records"), list):
        records = payload["dataframe_records"]
        if not all(isinstance(record, dict) for record in records):
            raise BadRequest("dataframe_records: every row must be an object of column: value")
        names = dict.fromkeys(name for record in records for name in record)
        return {name: [record.get(name) for record in records] for name in names}
    if isinstance(payload, dict) and isinstance(payload.get("dataframe_split"), dict):
        split = payload["dataframe_split"]
        names, data = split.get("columns"), split.get("data")
        if not isinstance(names, list) or not isinstance(data, list) or not all(isinstance(r, list) for r in data):
            raise BadRequest("dataframe_split: columns must be a list of names and data a list of rows")
        if any(len(values) != len(names) for values in data):
            raise BadRequest(f"dataframe_split: every row must have {len(names)} values, one per column")
        return {str(name): [values[i] for values in data] for i, name in enumerate(names)}
    raise BadRequest('send {"dataframe_records": [{...}, ...]} or {"dataframe_split": {"columns": [...], "data": [...]}}')


def _absent(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _numbers(name: str, values: list) -> list[float]:
    """``values`` as floats (a missing one as NaN, for the model to refuse or accept); text that is
    not a number is a 422 naming the first one and how many there are."""
    converted, bad = [], []
    for value in values:
        if _absent(value):
            converted.append(math.nan)
            continue
        try:
            if isinstance(value, bool) or not isinstance(value, (int, float, str)):
                raise ValueError
            converted.append(float(value))
        except ValueError:
            bad.append(value)
    if bad:
        raise BadRequest(f"{name} must be a number: {bad[0]!r} in {len(bad)} row(s)", 422)
    return converted


def score(frame: pd.DataFrame, champion: Champion, settings: Settings) -> pd.DataFrame:
    from ..training import predict

    try:
        prediction, probability = predict(champion.model, frame, settings)
    except (ValueError, TypeError) as error:  # what the estimator refuses (e.g. a missing value)
        raise BadRequest(f"v{champion.version} cannot score these rows: {str(error).splitlines()[0]}", 422) from None
    frame = frame.assign(prediction=pd.Series(prediction, index=frame.index).astype("float64"))
    return frame.assign(probability=None if probability is None else pd.Series(probability, index=frame.index))


class Handler(BaseHTTPRequestHandler):
    server: ApiServer
    # The answer leaves in two writes (headers, then body): with Nagle's algorithm the body waits
    # for the client's delayed ACK of the headers, up to 40 ms (the p95 of one client, before).
    disable_nagle_algorithm = True

    def do_GET(self) -> None:  # noqa: N802 - http.server's spelling
        if self.path == "/health":
            self._answer(200, {"status": "alive"})
        elif self.path in ("/ready", "/ping"):
            champion = self.server.champions.current
            if champion is None:
                self._answer(503, {"status": "loading"})
            else:
                self._answer(200, {"status": "ready", "model_version": champion.version})
        else:
            self._answer(404, {"error": f"no {self.path}: POST /invocations, GET /health, GET /ready"})

    def do_POST(self) -> None:  # noqa: N802
        if self.path != "/invocations":
            self._answer(404, {"error": f"no {self.path}: POST /invocations"})
            return
        settings = self.server.settings
        try:
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY_BYTES:
                raise BadRequest(f"the body is larger than {MAX_BODY_BYTES // (1024 * 1024)} MiB", 413)
            champion = self.server.champions.current  # this request's version, whatever happens meanwhile
            if champion is None:
                raise BadRequest("no champion loaded yet", 503)
            frame = parse(self.rfile.read(length), settings)
            scored = self.server.scoring.submit(score, frame, champion, settings).result()
        except BadRequest as refused:
            self._answer(refused.status, {"error": str(refused)})
            return
        except Exception as error:  # noqa: BLE001 - a bug or a broken model: one line, not a traceback
            self._answer(500, {"error": f"{type(error).__name__}: {(str(error).splitlines() or [''])[0]}"})
            return
        try:
            self.server.log.add(scored, champion.version)
        except Exception as error:  # noqa: BLE001 - the rows stay buffered; the answer is still right
            print(f"warning: inference_log not written yet: {(str(error).splitlines() or [''])[0]}", flush=True)
        columns = (scored[settings.id_column].tolist(), scored["prediction"].tolist(), scored["probability"].tolist())
        predictions = [{settings.id_column: id_, "prediction": prediction, "probability": None if _absent(probability) else probability}
                       for id_, prediction, probability in zip(*columns)]
        self._answer(200, {"model_version": champion.version, "predictions": predictions})

    def _answer(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the requests are logged as rows
        pass


class ApiServer(ThreadingHTTPServer):
    # On stop, server_close waits for the requests in flight, so their rows are in the last flush.
    daemon_threads = False
    block_on_close = True
    # Connections waiting to be accepted: the standard library's 5 resets clients that connect in
    # the same instant (32 at once in `make bench`); the kernel caps it at net.core.somaxconn.
    request_queue_size = 1024

    def __init__(self, address: tuple[str, int], settings: Settings, champions: Champions, log: RequestLog) -> None:
        super().__init__(address, Handler)
        self.settings, self.champions, self.log = settings, champions, log
        # The model runs on these threads, kept for the server's life, not on the thread of each
        # request: a model that computes with OpenMP (scikit-learn's gradient boosting, LightGBM…)
        # starts a team of threads per calling thread, and a new team per request cost a single
        # client a p95 three times its median.
        self.scoring = ThreadPoolExecutor(max_workers=os.cpu_count() or 2, thread_name_prefix="scoring")

    def server_close(self) -> None:
        super().server_close()  # waits for the requests in flight
        self.scoring.shutdown()


def settle() -> None:
    """Set what is loaded (libraries, the model) apart from the garbage collector's full passes.

    A full collection walks every object: with MLflow, pandas, scikit-learn and the model loaded,
    0.2 s on an idle 2-core machine (more on a busy one), during which no request is answered: the
    p99 latency of one client in ``make bench``. Frozen objects are skipped, so a pass walks only what requests
    allocated. Called again after each swap: the version replaced is collected first, not kept."""
    gc.unfreeze()
    gc.collect()
    gc.freeze()


def serve(settings: Settings, host: str = "127.0.0.1", port: int = 5001, *, poll_seconds: float = 5.0,
          flush_seconds: float = 2.0, version: str | None = None, request_log: str = "table") -> int:
    """Serve the champion (or the pinned ``version``) until Ctrl-C or SIGTERM; the buffered rows are
    written before it returns. ``request_log``: "table" (inference_log) or "stdout" (JSON lines)."""
    champions = Champions(settings, version)
    champions.refresh()
    settle()
    run_id = f"serve-{uuid.uuid4().hex[:12]}"
    log = RequestLog(settings, run_id) if request_log == "table" else StdoutLog(settings, run_id)
    server = ApiServer((host, port), settings, champions, log)
    stop = threading.Event()

    def every(seconds: float, work) -> threading.Thread:
        def loop() -> None:
            while not stop.wait(seconds):
                try:
                    work()
                except Exception as error:  # noqa: BLE001 - one line, and the server keeps serving
                    print(f"warning: {type(error).__name__}: {(str(error).splitlines() or [''])[0]}", flush=True)
        thread = threading.Thread(target=loop, daemon=True)
        thread.start()
        return thread

    def follow() -> None:
        if champions.refresh():
            settle()
            print(f"now serving {settings.model_name} v{champions.current.version} (@champion moved)", flush=True)

    # A pinned version never follows the alias: only git (deploy/) changes what a container serves.
    threads = [every(flush_seconds, log.flush)] + ([every(poll_seconds, follow)] if version is None else [])
    previous = signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    print(f"serving {settings.model_name} v{champions.current.version} ({champions.source}) on "
          f"http://{host}:{server.server_address[1]}/invocations", flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=flush_seconds + poll_seconds + 30)
        server.server_close()
        log.flush()
        signal.signal(signal.SIGTERM, previous)
        where = settings.table("inference_log") if request_log == "table" else "stdout"
        print(f"stopped: {log.written} scored rows logged to {where}", flush=True)
    return 0
