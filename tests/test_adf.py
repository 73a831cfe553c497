"""The Data Factory JSON of every supported combination of answers: valid for the Data Factory
models, every reference resolved, and what the factory decides evaluated by Microsoft's testing
framework (the rendered project's tests/adf suite, which needs no Spark), plus the answers that
reach the JSON."""

import json
import subprocess
import sys

import pytest

from conftest import NON_DEFAULT_ANSWERS, SUPPORTED


@pytest.mark.parametrize("answers", [*SUPPORTED, pytest.param(NON_DEFAULT_ANSWERS, id="non-default-answers")])
def test_the_factory_json_of_every_combination(cookies, answers):
    result = cookies.bake(extra_context=answers)
    assert result.exit_code == 0, result.exception
    adf = result.project_path / "adf"
    package = result.context["__package_name"]
    names = sorted(p.relative_to(adf).as_posix() for p in adf.rglob("*.json"))
    assert f"pipeline/pl_{package}_training.json" in names and f"pipeline/pl_{package}_execution.json" in names
    trigger = json.loads((adf / "trigger" / f"tr_{package}_daily.json").read_text())
    assert trigger["properties"]["typeProperties"]["recurrence"]["schedule"]["hours"] == [
        int(answers.get("schedule_hour_utc", 6))
    ]
    factory = json.loads(next((adf / "factory").glob("*.json")).read_text())
    assert factory["properties"]["globalParameters"]["catalog"]["value"] == answers.get("catalog_dev", "dev")
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/adf"],
        cwd=result.project_path, capture_output=True, text=True, timeout=600, check=False,
    )
    tail = "\n".join((run.stdout + run.stderr).splitlines()[-30:])
    assert run.returncode == 0, tail
    assert " passed" in run.stdout.splitlines()[-1], tail
