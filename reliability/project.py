"""A rendered project the harness drives as its user would: its own commands in processes of their
own (``python -m <package> ...``, through its warm engine), and ``inside.py`` to land batches and
read its tables."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from .answers import ROOT

INSIDE = Path(__file__).with_name("inside.py")
EXAMPLE = ROOT / "examples" / "credit-default.json"
COMMAND_TIMEOUT = 900


@dataclass(frozen=True)
class Done:
    """A finished command: its exit status and what it printed."""

    returncode: int
    out: str
    err: str

    @property
    def error_lines(self) -> list[str]:
        """What it printed to stderr, without blank lines."""
        return [line for line in self.err.splitlines() if line.strip()]


class Project:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.package = path.name.replace("-", "_")
        self.env = {**os.environ, "PYTHONPATH": str(path / "src"), "MLOPS_LOCAL_DIR": str(path / ".local"),
                    "MLOPS_SAMPLE_DATA": "1"}
        for inherited in ("MLOPS_CONF_DIR", "MLOPS_ENGINE"):
            self.env.pop(inherited, None)
        self._inside: subprocess.Popen | None = None

    @classmethod
    def render(cls, workdir: Path) -> Project:
        """The elected example, rendered fresh (the answers of ``make demo``)."""
        from cookiecutter.main import cookiecutter

        workdir.mkdir(parents=True, exist_ok=True)
        # The example's answers, and cookiecutter's replay files kept here rather than in the home folder.
        config = {**json.loads(EXAMPLE.read_text(encoding="utf-8")), "replay_dir": str(workdir / "replay"),
                  "cookiecutters_dir": str(workdir / "cookiecutters")}
        (workdir / "config.yml").write_text(json.dumps(config), encoding="utf-8")  # JSON is YAML
        path = cookiecutter(str(ROOT), no_input=True, config_file=str(workdir / "config.yml"), output_dir=str(workdir))
        return cls(Path(path))

    def spawn(self, *args: str) -> subprocess.Popen:
        return subprocess.Popen([sys.executable, "-m", self.package, *args], cwd=self.path, env=self.env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def run(self, *args: str) -> Done:
        process = self.spawn(*args)
        out, err = process.communicate(timeout=COMMAND_TIMEOUT)
        return Done(process.returncode, out, err)

    def must(self, *args: str) -> Done:
        done = self.run(*args)
        if done.returncode != 0:
            raise RuntimeError(f"`{' '.join(args)}` failed ({done.returncode}): {done.err[-2000:] or done.out[-2000:]}")
        return done

    def inside(self, *args: str) -> dict:
        """``inside.py``'s answer to ``args``, from the one process that serves them all."""
        if self._inside is None or self._inside.poll() is not None:
            with (self.path.parent / "inside-stderr.txt").open("a") as log:
                self._inside = subprocess.Popen([sys.executable, str(INSIDE), self.package, "serve"], cwd=self.path,
                                                env=self.env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                                stderr=log, text=True)
        self._inside.stdin.write(json.dumps(args) + "\n")
        self._inside.stdin.flush()
        line = self._inside.stdout.readline()
        if not line:
            raise RuntimeError(f"inside.py {' '.join(args)}: it stopped (see {self.path.parent / 'inside-stderr.txt'})")
        reply = json.loads(line)
        if "error" in reply:
            raise RuntimeError(f"inside.py {' '.join(args)}: {reply['error'][-2000:]}")
        return reply["result"]

    def close(self) -> None:
        """Stop the process serving ``inside``."""
        if self._inside is not None and self._inside.poll() is None:
            self._inside.stdin.close()
            self._inside.wait(timeout=60)

    def land(self, kind: str) -> dict:
        return self.inside("land", kind)

    def probe(self) -> dict:
        return self.inside("probe")

    def journal(self) -> list[dict]:
        path = self.path / ".local" / "runs.jsonl"
        if not path.is_file():
            return []
        events = []
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                events.append(json.loads(line))
            except ValueError:
                continue  # a line being written
        return events
