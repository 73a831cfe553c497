"""Both orchestrators render and validate. The example (tests/test_example.py) and the rendered
suites are the Data Factory ones; a render with ``orchestrator=databricks_workflows`` keeps adf/ as
the declaration of the stages, deploys no factory, and its own checks of the jobs it derives from
adf/ (loaded as the Databricks CLI loads them), of its CD and of adf/ pass. Those checks need no
Spark, so they run here rather than in a third rendered suite: the rest of its suite is the same
code as the example's."""

import subprocess
import sys

import yaml

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
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         "tests/unit/test_workflows.py", "tests/unit/test_ci_definitions.py", "tests/adf/test_factory_structure.py"],
        cwd=project, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    tail = "\n".join((run.stdout + run.stderr).splitlines()[-30:])
    assert run.returncode == 0, tail
    assert " passed" in run.stdout.splitlines()[-1] and "skipped" not in run.stdout.splitlines()[-1], tail
    lint = subprocess.run([sys.executable, "-m", "ruff", "check", "src", "tests", "scripts", "resources"],
                          cwd=project, capture_output=True, text=True, timeout=120, check=False)
    assert lint.returncode == 0, lint.stdout[-2000:]


def test_a_data_factory_render_has_no_jobs_of_its_own(cookies):
    result = cookies.bake()
    assert result.exit_code == 0, result.exception
    project = result.project_path
    assert all((project / path).exists() for path in FACTORY_ONLY)
    assert not [path for path in WORKFLOWS_ONLY if (project / path).exists()]
    bundle = yaml.safe_load((project / "databricks.yml").read_text())
    assert "python" not in bundle and set(bundle["resources"]["jobs"]) == {"init"}
