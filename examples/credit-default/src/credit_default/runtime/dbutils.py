"""A local stand-in for the parts of Databricks' ``dbutils`` that notebooks use.

Only what the project's notebooks call is implemented; anything else raises, so a notebook that
starts depending on more of ``dbutils`` fails its local test instead of silently diverging.
"""

from __future__ import annotations

import json
import os
import re
from typing import Any


class NotebookExit(Exception):  # noqa: N818 - mirrors Databricks' behaviour, not an error
    """Raised by ``dbutils.notebook.exit``: ends the notebook and carries its exit value."""

    def __init__(self, value: str) -> None:
        super().__init__(value)
        self.value = value


class _Widgets:
    def __init__(self, parameters: dict[str, str]) -> None:
        self._parameters = {key: str(value) for key, value in parameters.items()}
        self._defaults: dict[str, str] = {}

    def _declare(self, name: str, default_value: str = "", *_: Any, **__: Any) -> None:
        self._defaults[name] = str(default_value)

    text = dropdown = combobox = multiselect = _declare

    def get(self, name: str) -> str:
        if name in self._parameters:
            return self._parameters[name]
        if name in self._defaults:
            return self._defaults[name]
        # Databricks raises InputWidgetNotDefined here; keep the name in the message.
        raise ValueError(f"InputWidgetNotDefined: no widget named {name!r}")

    def getAll(self) -> dict[str, str]:  # noqa: N802 - Databricks' spelling
        return {**self._defaults, **self._parameters}

    def removeAll(self) -> None:  # noqa: N802
        self._defaults.clear()


class _Notebook:
    def exit(self, value: Any) -> None:
        raise NotebookExit(value if isinstance(value, str) else json.dumps(value))


class _TaskValues:
    """``dbutils.jobs.taskValues``: values shared between tasks of one local pipeline run."""

    def __init__(self, store: dict[str, Any], task_key: str) -> None:
        self._store = store
        self._task_key = task_key

    def set(self, key: str, value: Any) -> None:
        json.dumps(value)  # Databricks requires JSON-serialisable values
        self._store[(self._task_key, key)] = value

    def get(self, taskKey: str, key: str, default: Any = None, debugValue: Any = None) -> Any:  # noqa: N803
        return self._store.get((taskKey, key), default if default is not None else debugValue)


class _Jobs:
    def __init__(self, store: dict[str, Any], task_key: str) -> None:
        self.taskValues = _TaskValues(store, task_key)


class _Secrets:
    """Secrets come from environment variables named ``SECRET_<SCOPE>_<KEY>`` (upper case,
    non-alphanumerics as ``_``): nothing secret is ever written in the repository."""

    @staticmethod
    def variable(scope: str, key: str) -> str:
        return re.sub(r"[^A-Z0-9]", "_", f"SECRET_{scope}_{key}".upper())

    def get(self, scope: str, key: str) -> str:
        name = self.variable(scope, key)
        if name not in os.environ:
            raise KeyError(f"secret {scope}/{key} not found: set the environment variable {name}")
        return os.environ[name]


class LocalDbutils:
    """``dbutils`` for one local notebook run, fed with the run's parameters."""

    def __init__(
        self,
        parameters: dict[str, str] | None = None,
        task_values: dict[str, Any] | None = None,
        task_key: str = "",
    ) -> None:
        self.widgets = _Widgets(parameters or {})
        self.notebook = _Notebook()
        self.jobs = _Jobs(task_values if task_values is not None else {}, task_key)
        self.secrets = _Secrets()
