"""Both orchestrators render and validate. The example (tests/test_example.py) and the rendered
suites are the Data Factory ones; a render with ``orchestrator=databricks_workflows`` keeps adf/ as
the declaration of the stages, deploys no factory, and its own checks of the jobs it derives from
adf/ (loaded as the Databricks CLI loads them), of its CD and of adf/ pass. Those checks need no
Spark, so they run here rather than in a third rendered suite: the rest of its suite is the same
code as the example's."""

import yaml

from conftest import assert_own_checks_pass

WORKFLOWS = {"orchestrator": "databricks_workflows", "branching_model": "trunk", "dev_trigger": "started",
             "smoke_run_in_prod": "yes"}
FACTORY_ONLY = ("azure-pipelines/factory", "scripts/smoke_run.py", "tests/unit/test_smoke_run.py")
WORKFLOWS_ONLY = ("resources", "scripts/fail_run.py", "tests/unit/test_workflows.py")


def test_a_workflows_render_validates_its_jobs_and_its_cd(cookies):
    result = cookies.bake(extra_context=WORKFLOWS)
    assert result.exit_code == 0, result.exception
    project = result.project_path
    assert all((project / path).exists() for path in WORKFLOWS_ONLY)
    assert not [path for path in FACTORY_ONLY if (project / path).exists()]
    deploy = (project / "azure-pipelines" / "templates" / "deploy.yml").read_text()
    assert "AzureResourceManagerTemplateDeployment" not in deploy and "databricks bundle run" in deploy
    assert_own_checks_pass(project, ["tests/unit/test_workflows.py", "tests/unit/test_ci_definitions.py",
                                     "tests/adf/test_factory_structure.py"], lint=("src", "tests", "scripts", "resources"))


def test_a_data_factory_render_has_no_jobs_of_its_own(cookies):
    result = cookies.bake()
    assert result.exit_code == 0, result.exception
    project = result.project_path
    assert all((project / path).exists() for path in FACTORY_ONLY)
    assert not [path for path in WORKFLOWS_ONLY if (project / path).exists()]
    bundle = yaml.safe_load((project / "databricks.yml").read_text())
    assert "python" not in bundle and set(bundle["resources"]["jobs"]) == {"init"}
