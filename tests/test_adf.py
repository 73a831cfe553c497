"""The Data Factory JSON of the answers it depends on: valid for the Data Factory models, every
reference resolved, and what the factory decides evaluated by Microsoft's testing framework (the
rendered project's tests/adf suite, which needs no Spark), plus the answers that reach the JSON.
The JSON does not depend on the branching model, so each problem type is rendered once, and once
more with every answer changed; test_adf_json_ignores_the_branching_model checks that premise."""

import json
import subprocess
import sys

import pytest

from conftest import NON_DEFAULT_ANSWERS, SUPPORTED


# The factory JSON depends on the problem type only (not on the branching model or the data source).
ONE_PER_PROBLEM_TYPE = [p for p in SUPPORTED
                        if p.values[0]["branching_model"] == "gitflow" and p.values[0]["data_source"] == "simulator"]


def test_adf_json_ignores_the_branching_model(cookies):
    rendered = {}
    for branching_model in ("gitflow", "trunk"):
        result = cookies.bake(extra_context={"branching_model": branching_model})
        assert result.exit_code == 0, result.exception
        adf = result.project_path / "adf"
        rendered[branching_model] = {p.relative_to(adf).as_posix(): p.read_text() for p in adf.rglob("*.json")}
    assert rendered["gitflow"] == rendered["trunk"]


@pytest.mark.parametrize("answers", [*ONE_PER_PROBLEM_TYPE, pytest.param(NON_DEFAULT_ANSWERS, id="non-default-answers")])
def test_the_factory_json_of_each_problem_type(cookies, answers):
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
