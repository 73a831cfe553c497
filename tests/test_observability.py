"""The two observability answers. ``none`` (the example) has no Datadog file, and its
evaluate_metrics sends nothing; ``datadog`` adds the emitter evaluate_metrics calls, the monitors and
the webhook as JSON, their document and their checks, which pass in the render: the datagrams read from
a real UDP socket, the definitions read into Datadog's API models (tests/unit/test_datadog*.py), the
decision rules, and ruff. None of them needs Spark, so they run here rather than in another rendered
suite; the regression render of tests/test_rendered_suites.py runs the whole loop with the emitter."""

import tomllib

import pytest

from conftest import NON_DEFAULT_ANSWERS, answers, assert_own_checks_pass, load_hook

DATADOG_FILES = load_hook("post_gen_project", answers()).DATADOG_FILES
CHECKS = ["tests/unit/test_datadog.py", "tests/unit/test_datadog_definitions.py", "tests/unit/test_rules.py"]


def render(cookies, **context):
    result = cookies.bake(extra_context=context)
    assert result.exit_code == 0, result.exception
    return result.project_path, result.context["__package_name"]


def datadog_files(project, package):
    return [path.format(package=package) for path in DATADOG_FILES if (project / path.format(package=package)).exists()]


def dev_extra(project):
    return tomllib.loads((project / "pyproject.toml").read_text())["project"]["optional-dependencies"]["dev"]


def test_none_has_no_datadog_file_and_sends_nothing(cookies):
    project, package = render(cookies, observability="none")
    assert datadog_files(project, package) == []
    assert not (project / "monitoring").exists()
    stage = (project / "src" / package / "stages" / "evaluate_metrics.py").read_text()
    assert "datadog" not in stage.lower()
    assert not [pin for pin in dev_extra(project) if pin.startswith("datadog")]
    assert "observability.md" not in (project / "README.md").read_text()


@pytest.mark.parametrize("context", [
    pytest.param({"observability": "datadog"}, id="data-factory-classification"),
    pytest.param(NON_DEFAULT_ANSWERS, id="workflows-regression-non-default"),
])
def test_a_datadog_render_passes_its_own_checks(cookies, context):
    assert context["observability"] == "datadog"
    project, package = render(cookies, **context)
    assert sorted(datadog_files(project, package)) == sorted(path.format(package=package) for path in DATADOG_FILES)
    assert {pin for pin in dev_extra(project) if pin.startswith("datadog")} == {"datadog-api-client==2.62.0",
                                                                               "datadog==0.56.0"}
    stage = (project / "src" / package / "stages" / "evaluate_metrics.py").read_text()
    assert "    datadog.report(settings, evidence, decision, rules)\n" in stage
    assert "[docs/observability.md](docs/observability.md)" in (project / "README.md").read_text()
    assert_own_checks_pass(project, CHECKS)
