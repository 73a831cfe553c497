{% raw -%}
"""The Databricks Workflows jobs (resources/) mirror the Data Factory pipelines of adf/.

The jobs are loaded the way the Databricks CLI loads them at ``bundle deploy``: it runs
``python -m databricks.bundles.build --phase load_resources`` with the bundle's configuration, for
one target, and reads back the jobs and any diagnostic. Each job then loads into the typed models of
databricks-bundles (which reject unknown keys), and is compared with its pipeline: the same
notebooks in the same order, the same parameters, the retrain and alert branches, the schedule.
No workspace is reachable from a test: that Databricks accepts and runs the jobs is not checked.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from databricks.bundles.jobs import Job

ROOT = Path(__file__).resolve().parents[2]
ADF = ROOT / "adf"
TARGETS = ("dev", "uat", "prod")
TASK_VALUE = re.compile(r"\{\{tasks\.(\w+)\.values\.(\w+)\}\}")


def pipeline(kind: str) -> dict[str, Any]:
    (path,) = (ADF / "pipeline").glob(f"*_{kind}.json")
    return json.loads(path.read_text(encoding="utf-8"))


def activities(node: list[dict[str, Any]]) -> list[dict[str, Any]]:
    found = []
    for activity in node:
        found.append(activity)
        properties = activity.get("typeProperties", {})
        found += activities(properties.get("ifTrueActivities", []) + properties.get("ifFalseActivities", []))
    return found


def load_with_the_cli(target: str, tmp_path: Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The bundle after the CLI's Python phase for ``target``, and the diagnostics it reported."""
    config = yaml.safe_load((ROOT / "databricks.yml").read_text(encoding="utf-8"))
    config["bundle"]["target"] = target
    paths = {name: tmp_path / f"{target}-{name}.json" for name in ("input", "output", "diagnostics", "locations")}
    paths["input"].write_text(json.dumps(config), encoding="utf-8")
    run = subprocess.run(
        [sys.executable, "-m", "databricks.bundles.build", "--phase", "load_resources",
         *[f"--{name}={path}" for name, path in paths.items()]],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    diagnostics = [json.loads(line) for line in paths["diagnostics"].read_text(encoding="utf-8").splitlines() if line]
    assert run.returncode == 0, (run.stderr[-2000:], diagnostics)
    return json.loads(paths["output"].read_text(encoding="utf-8")), diagnostics


@pytest.fixture(scope="module", params=TARGETS)
def deployed(request, tmp_path_factory) -> tuple[str, dict[str, Any]]:
    bundle, diagnostics = load_with_the_cli(request.param, tmp_path_factory.mktemp("bundle"))
    assert diagnostics == []
    return request.param, bundle["resources"]["jobs"]


def test_the_bundle_asks_the_cli_for_the_jobs_of_resources():
    config = yaml.safe_load((ROOT / "databricks.yml").read_text(encoding="utf-8"))
    assert config["python"]["resources"] == ["resources:load_resources"]
    assert (ROOT / config["python"]["venv_path"]).name == ".venv"


def test_each_pipeline_is_a_job_that_loads_into_the_bundle_models(deployed):
    target, jobs = deployed
    assert {"training", "execution"} <= set(jobs)
    for key in ("training", "execution"):
        job = Job.from_dict(jobs[key])  # raises on an unknown or misspelt key
        assert job.name == "${bundle.name}-" + key
        (cluster,) = jobs[key]["job_clusters"]
        assert all(task.get("job_cluster_key") in (None, cluster["job_cluster_key"]) for task in jobs[key]["tasks"])


def notebook_order(job: dict[str, Any]) -> list[str]:
    """The notebooks of a job in the order its dependencies allow (a chain: one order)."""
    tasks = {task["task_key"]: task for task in job["tasks"] if "notebook_task" in task}
    order, done = [], set()
    while len(order) < len(tasks):
        ready = [key for key, task in tasks.items() if key not in done
                 and {d["task_key"] for d in task.get("depends_on", [])} & set(tasks) <= done]
        assert len(ready) == 1, f"the notebooks are not one chain: {ready}"
        order.append(ready[0])
        done.add(ready[0])
    return [tasks[key]["notebook_task"]["notebook_path"] for key in order]


@pytest.mark.parametrize("kind", ["training", "execution"])
def test_a_job_runs_the_notebooks_of_its_pipeline_in_the_same_order_with_the_same_parameters(deployed, kind):
    _, jobs = deployed
    notebooks = [a for a in activities(pipeline(kind)["properties"]["activities"]) if a["type"] == "DatabricksNotebook"]
    expected = ["${workspace.root_path}" + re.search(r"'(/files/[^']+)'", a["typeProperties"]["notebookPath"]["value"]).group(1)
                for a in notebooks]  # fmt: skip
    assert notebook_order(jobs[kind]) == expected
    for path in expected:
        assert (ROOT / (path.removeprefix("${workspace.root_path}/files/") + ".py")).is_file(), path
    tasks = {task["task_key"]: task for task in jobs[kind]["tasks"]}
    for activity in notebooks:
        task = tasks[activity["name"]]
        assert set(task["notebook_task"]["base_parameters"]) == set(activity["typeProperties"]["baseParameters"])
        wheel = re.search(r"'(/artifacts/[^']+\.whl)'", json.dumps(activity["typeProperties"]["libraries"])).group(1)
        assert task["libraries"] == [{"whl": "${workspace.root_path}" + wheel}]
        days, clock = activity["policy"]["timeout"].split(".") if "." in activity["policy"]["timeout"] else (0, activity["policy"]["timeout"])
        hours, minutes, seconds = map(int, clock.split(":"))
        assert task["timeout_seconds"] == ((int(days) * 24 + hours) * 60 + minutes) * 60 + seconds
        assert task["max_retries"] == activity["policy"]["retry"]


def test_task_values_are_read_only_from_tasks_that_ran_before(deployed):
    """Each ``{{tasks.<task>.values.<key>}}`` names a notebook task the reading task waits for."""
    _, jobs = deployed
    for job in jobs.values():
        tasks = {task["task_key"]: task for task in job["tasks"]}

        def upstream(key: str) -> set[str]:
            direct = {d["task_key"] for d in tasks[key].get("depends_on", [])}
            return direct.union(*(upstream(d) for d in direct)) if direct else set()

        for key, task in tasks.items():
            for source, _ in TASK_VALUE.findall(json.dumps(task)):
                assert "notebook_task" in tasks[source] and source in upstream(key), (job["name"], key, source)


def test_a_retrain_decision_runs_the_training_job_and_an_alert_fails_the_run_with_its_message(deployed):
    _, jobs = deployed
    tasks = {task["task_key"]: task for task in jobs["execution"]["tasks"]}
    branches = {}
    for key, task in tasks.items():
        for dependency in task.get("depends_on", []):
            if "outcome" in dependency:
                condition = tasks[dependency["task_key"]]["condition_task"]
                branches[(condition["op"], condition["right"])] = task
                assert condition["left"] == "{{tasks.evaluate_metrics.values.decision}}"
    assert branches[("EQUAL_TO", "retrain")]["run_job_task"] == {"job_id": "${resources.jobs.training.id}"}
    alert = branches[("EQUAL_TO", "alert")]["spark_python_task"]
    assert alert["python_file"] == "${workspace.file_path}/scripts/fail_run.py"
    assert "{{tasks.evaluate_metrics.values.rule}}" in alert["parameters"][0]
    assert len(branches) == 2


def test_the_fail_task_fails_with_the_message_it_is_given():
    run = subprocess.run([sys.executable, str(ROOT / "scripts" / "fail_run.py"), "monitoring decision alert (rule",
                          "schema_break) on batch b-7"], capture_output=True, text=True, timeout=60, check=False)
    assert run.returncode == 1
    assert run.stderr.strip() == "error: monitoring decision alert (rule schema_break) on batch b-7"


def test_the_execution_job_runs_on_the_daily_trigger_paused_where_the_trigger_stays_stopped(deployed):
    target, jobs = deployed
    (trigger_file,) = (ADF / "trigger").glob("*.json")
    trigger = json.loads(trigger_file.read_text(encoding="utf-8"))
    recurrence = trigger["properties"]["typeProperties"]["recurrence"]
    schedule = jobs["execution"]["schedule"]
    (hour,) = recurrence["schedule"]["hours"]
    assert schedule["quartz_cron_expression"] == f"0 0 {hour} * * ?" and schedule["timezone_id"] == "UTC"
    parameters = json.loads((ADF / "parameters" / f"{target}.json").read_text(encoding="utf-8"))["parameters"]
    state = parameters[f"{trigger['name']}_properties_runtimeState"]["value"]
    assert schedule["pause_status"] == ("UNPAUSED" if state == "Started" else "PAUSED")
    assert "schedule" not in jobs["training"], "training runs on a retrain decision (or by hand), not on a clock"


def test_the_job_cluster_is_the_linked_services_with_the_environments_values(deployed):
    target, jobs = deployed
    parameters = json.loads((ADF / "parameters" / f"{target}.json").read_text(encoding="utf-8"))["parameters"]
    (cluster,) = jobs["training"]["job_clusters"]
    workers = parameters["ls_databricks_properties_typeProperties_newClusterNumOfWorker"]["value"]
    assert cluster["new_cluster"]["num_workers"] == int(workers)
    bundle = yaml.safe_load((ROOT / "databricks.yml").read_text(encoding="utf-8"))
    assert cluster["new_cluster"]["spark_version"] == bundle["variables"]["spark_version"]["default"]


def test_an_activity_without_a_workflows_counterpart_stops_the_deployment_naming_it(tmp_path, monkeypatch):
    sys.path.insert(0, str(ROOT))
    try:
        import resources
    finally:
        sys.path.remove(str(ROOT))
    copy = json.loads(json.dumps(pipeline("training")))
    copy["properties"]["activities"].append({"name": "notify", "type": "WebActivity", "typeProperties": {}})
    with pytest.raises(resources.Untranslatable, match="activity notify: no Workflows counterpart for a WebActivity"):
        resources.job_of(copy, "dev")
{%- endraw %}
