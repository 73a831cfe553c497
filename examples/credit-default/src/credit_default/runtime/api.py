"""The champion behind an HTTP API, locally: ``python -m credit_default serve``.

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
"""

from __future__ import annotations

import json
import signal
import threading
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

import pandas as pd

from .. import features, inference, warehouse

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
    """The champion being served, swapped whole when the alias moves."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.current: Champion | None = None

    def refresh(self) -> bool:
        """Load the version @champion names if it is not the one served; True if it changed."""
        from mlflow import MlflowClient

        from .. import registry

        version = str(registry.champion(MlflowClient(), self.settings.model_name).version)
        if self.current is not None and self.current.version == version:
            return False
        self.current = Champion(version, inference.load(self.settings, version).model)
        return True


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
        now = datetime.now(timezone.utc)
        extra = {"model_name": self.settings.model_name, "model_version": version,
                 "batch_id": inference.online_batch(now.date()), "pipeline_run_id": self.run_id,
                 "scored_at": now}
        rows = [tuple(row.get(c, extra.get(c)) for c in self.columns) for row in frame.to_dict("records")]
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


def parse(body: bytes, settings: Settings) -> pd.DataFrame:
    """The request's rows, checked and typed as the model and the inference log need them."""
    try:
        payload = json.loads(body or b"null")
    except ValueError as error:
        raise BadRequest(f"the body is not JSON ({error})") from None
    if isinstance(payload, dict) and isinstance(payload.get("dataframe_records"), list):
        frame = pd.DataFrame.from_records(payload["dataframe_records"])
    elif isinstance(payload, dict) and isinstance(payload.get("dataframe_split"), dict):
        split = payload["dataframe_split"]
        try:
            frame = pd.DataFrame(split.get("data"), columns=split.get("columns"))
        except (ValueError, TypeError) as error:
            raise BadRequest(f"dataframe_split: {error}") from None
    else:
        raise BadRequest('send {"dataframe_records": [{...}, ...]} or {"dataframe_split": {"columns": [...], "data": [...]}}')
    if frame.empty:
        raise BadRequest("no rows to score")
    missing = [c for c in (settings.id_column, *features.FEATURE_COLUMNS) if c not in frame.columns]
    if missing:
        raise BadRequest(f"missing column{'s' if len(missing) > 1 else ''}: {', '.join(missing)}", 422)
    if frame[settings.id_column].isna().any():
        raise BadRequest(f"{settings.id_column} is empty in {int(frame[settings.id_column].isna().sum())} row(s)", 422)
    frame[settings.id_column] = frame[settings.id_column].astype(str)
    for name, sql_type in features.FEATURE_COLUMNS.items():
        if sql_type.upper().startswith(inference.NUMERIC_TYPES):
            values = pd.to_numeric(frame[name], errors="coerce")
            bad = values.isna() & frame[name].notna()
            if bad.any():
                raise BadRequest(f"{name} must be a number: {frame[name][bad].iloc[0]!r} in {int(bad.sum())} row(s)", 422)
            frame[name] = values.astype("float64")
    stamp = settings.timestamp_column
    if stamp in frame.columns:
        times = pd.to_datetime(frame[stamp], utc=True, errors="coerce")
        if (times.isna() & frame[stamp].notna()).any():
            raise BadRequest(f"{stamp} must be an ISO 8601 time: {frame[stamp][times.isna()].iloc[0]!r}", 422)
        frame[stamp] = times.fillna(pd.Timestamp.now(tz="UTC"))
    else:
        frame[stamp] = pd.Timestamp.now(tz="UTC")
    return frame


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
            scored = score(parse(self.rfile.read(length), settings), champion, settings)
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
        predictions = scored[[settings.id_column, "prediction", "probability"]].astype(object)
        self._answer(200, {"model_version": champion.version,
                           "predictions": predictions.where(predictions.notna(), None).to_dict("records")})

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


def serve(settings: Settings, host: str = "127.0.0.1", port: int = 5001, *, poll_seconds: float = 5.0,
          flush_seconds: float = 2.0) -> int:
    """Serve the champion until Ctrl-C or SIGTERM; the buffered rows are written before it returns."""
    champions = Champions(settings)
    champions.refresh()
    log = RequestLog(settings, f"serve-{uuid.uuid4().hex[:12]}")
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
            print(f"now serving {settings.model_name} v{champions.current.version} (@champion moved)", flush=True)

    threads = [every(poll_seconds, follow), every(flush_seconds, log.flush)]
    previous = signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    print(f"serving {settings.model_name} v{champions.current.version} (@champion) on "
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
        print(f"stopped: {log.written} scored rows logged to {settings.table('inference_log')}", flush=True)
    return 0
