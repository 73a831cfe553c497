{% raw -%}
"""The Databricks Workflows jobs of the two pipelines, derived from the Data Factory JSON of adf/.

databricks.yml names ``resources:load_resources`` (its ``python`` section): at every ``databricks
bundle deploy`` and ``validate``, the Databricks CLI calls it (through ``databricks-bundles``) and
adds the jobs it returns to the bundle. adf/ stays the one declaration of the stages (the local
runner walks it, ``run_stage`` reads it), so the jobs cannot drift from it: a stage added to a
pipeline's JSON is a task of its job at the next deployment.

How each Data Factory element becomes part of a job:

- a notebook activity: a notebook task on the job's cluster (the linked service's cluster, with the
  environment's values from ``adf/parameters/<target>.json``), with the activity's timeout and
  retries, and its baseParameters translated:
  ``pipeline().RunId`` is ``{{job.run_id}}``, an earlier activity's ``output.runOutput.<key>`` is
  that task's task value ``<key>`` (the notebooks set one per key of their result);
- a Fail activity run on an earlier activity's failure: nothing, a failed task fails the run and
  names itself; a Fail activity in an If Condition: a task that fails with its message
  (``scripts/fail_run.py``);
- a Lookup: nothing; what is read from its first row is read from the task values of the activity
  it follows (``evaluate_metrics`` returns the decision the Lookup reads back from the table);
- an If Condition: a condition task, whose true branch depends on its ``true`` outcome;
- an Execute Pipeline: a task that runs that pipeline's job and waits for it;
- a schedule trigger: the job's schedule, paused unless the target's parameter file starts it.

Anything else stops the deployment with a diagnostic naming the activity: add its translation here.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from databricks.bundles.core import Bundle, Resources
from databricks.bundles.jobs import Job

ROOT = Path(__file__).resolve().parent.parent
ADF = ROOT / "adf"
CLUSTER_KEY = "stages"  # one job cluster per run, shared by its tasks
FAIL_SCRIPT = "${workspace.file_path}/scripts/fail_run.py"

ARGUMENT = re.compile(r"'(?:[^']|'')*'|[^,]+")


class Untranslatable(ValueError):
    """An element of adf/ with no Workflows counterpart here."""


def load_resources(bundle: Bundle) -> Resources:
    resources = Resources()
    for path in sorted((ADF / "pipeline").glob("*.json")):
        pipeline = json.loads(path.read_text(encoding="utf-8"))
        try:
            resources.add_job(job_key(pipeline["name"]), Job.from_dict(job_of(pipeline, bundle.target)))
        except Untranslatable as problem:
            resources.add_diagnostic_error(f"adf/pipeline/{path.name}: {problem}")
    return resources


def job_key(pipeline_name: str) -> str:
    """``pl_<package>_training`` -> ``training``: the pipeline's name in the CLI and the docs."""
    return pipeline_name.rsplit("_", 1)[-1]


def job_of(pipeline: dict[str, Any], target: str) -> dict[str, Any]:
    properties = pipeline["properties"]
    translator = Translator(properties["activities"])
    job: dict[str, Any] = {
        "name": "${bundle.name}-" + job_key(pipeline["name"]),
        "description": properties.get("description", ""),
        "max_concurrent_runs": int(properties.get("concurrency", 1)),
        "tags": {"environment": "${bundle.target}", "pipeline": pipeline["name"]},
        "job_clusters": [{"job_cluster_key": CLUSTER_KEY, "new_cluster": cluster(target)}],
        "tasks": translator.tasks(properties["activities"]),
    }
    parameters = properties.get("parameters", {})
    if parameters:
        job["parameters"] = [{"name": name, "default": str(spec.get("defaultValue", ""))}
                             for name, spec in parameters.items()]
    schedule = schedule_of(pipeline["name"], target)
    if schedule:
        job["schedule"] = schedule
    return job


class Translator:
    """Turns the activities of one pipeline into job tasks."""

    def __init__(self, activities: list[dict[str, Any]]) -> None:
        # A Lookup has no task: references to it go to the activity it follows.
        self.lookups = {a["name"]: self._succeeded(a)[0] for a in walk(activities) if a["type"] == "Lookup"}

    def tasks(self, activities: list[dict[str, Any]], branch: tuple[str, str] | None = None) -> list[dict[str, Any]]:
        tasks = []
        for activity in activities:
            tasks += self.task(activity, branch)
        return tasks

    def task(self, activity: dict[str, Any], branch: tuple[str, str] | None) -> list[dict[str, Any]]:
        kind, name, properties = activity["type"], activity["name"], activity.get("typeProperties", {})
        on_failure = [d for d in activity.get("dependsOn", []) if d["dependencyConditions"] != ["Succeeded"]]
        if on_failure:
            if kind == "Fail":
                return []  # the failed task fails the run itself
            raise Untranslatable(f"activity {name} runs on {on_failure[0]['dependencyConditions']}")
        task: dict[str, Any] = {"task_key": name}
        depends_on = [{"task_key": self.lookups.get(up, up)} for up in self._succeeded(activity)]
        if branch:
            depends_on.append({"task_key": branch[0], "outcome": branch[1]})
        if depends_on:
            task["depends_on"] = depends_on
        if kind == "Lookup":
            return []
        if kind == "DatabricksNotebook":
            task.update(policy(activity.get("policy", {})))
            task["job_cluster_key"] = CLUSTER_KEY
            task["notebook_task"] = {
                "notebook_path": self.value(properties["notebookPath"]),
                "base_parameters": {key: self.value(value) for key, value in properties.get("baseParameters", {}).items()},
                "source": "WORKSPACE",
            }
            task["libraries"] = [{kind: self.value(path) for kind, path in library.items()}
                                 for library in properties.get("libraries", [])]
            return [task]
        if kind == "Fail":
            task["job_cluster_key"] = CLUSTER_KEY
            task["spark_python_task"] = {"python_file": FAIL_SCRIPT, "parameters": [self.value(properties["message"])]}
            return [task]
        if kind == "IfCondition":
            task["condition_task"] = self.condition(properties["expression"]["value"], name)
            return [task, *self.tasks(properties.get("ifTrueActivities", []), (name, "true")),
                    *self.tasks(properties.get("ifFalseActivities", []), (name, "false"))]
        if kind == "ExecutePipeline":
            if not properties.get("waitOnCompletion"):
                raise Untranslatable(f"activity {name} does not wait for its pipeline")
            task["run_job_task"] = {"job_id": "${resources.jobs." + job_key(properties["pipeline"]["referenceName"]) + ".id}"}
            return [task]
        raise Untranslatable(f"activity {name}: no Workflows counterpart for a {kind} activity")

    @staticmethod
    def _succeeded(activity: dict[str, Any]) -> list[str]:
        return [d["activity"] for d in activity.get("dependsOn", []) if d["dependencyConditions"] == ["Succeeded"]]

    def condition(self, expression: str, name: str) -> dict[str, str]:
        equals = re.fullmatch(r"@equals\((.+), '([^']*)'\)", expression)
        if equals:
            return {"op": "EQUAL_TO", "left": self.expression(equals.group(1)), "right": equals.group(2)}
        not_empty = re.fullmatch(r"@not\(empty\((.+)\)\)", expression)
        if not_empty:
            return {"op": "NOT_EQUAL", "left": self.expression(not_empty.group(1)), "right": ""}
        raise Untranslatable(f"activity {name}: no condition task for {expression}")

    def value(self, value: Any) -> str:
        if isinstance(value, dict) and value.get("type") == "Expression":
            return self.expression(value["value"].removeprefix("@"))
        if isinstance(value, str) and not value.startswith("@"):
            return value
        raise Untranslatable(f"value {value!r}")

    def expression(self, text: str) -> str:
        text = text.strip().removeprefix("@")
        if text.startswith("'") and text.endswith("'"):
            return text[1:-1].replace("''", "'")
        call = re.fullmatch(r"(concat|string)\((.*)\)", text)
        if call:
            arguments = [a.strip() for a in ARGUMENT.findall(call.group(2)) if a.strip()]
            return "".join(self.expression(argument) for argument in arguments)
        fixed = {
            "pipeline().RunId": "{{job.run_id}}",
            "pipeline().TriggerTime": "{{job.trigger.time.iso_datetime}}",
            "pipeline().globalParameters.environment": "${bundle.target}",
            "pipeline().globalParameters.bundle_root": "${workspace.root_path}",
        }
        if text in fixed:
            return fixed[text]
        parameter = re.fullmatch(r"pipeline\(\)\.parameters\.(\w+)", text)
        if parameter:
            return "{{job.parameters." + parameter.group(1) + "}}"
        output = re.fullmatch(r"activity\('(\w+)'\)\.output\.(?:runOutput|firstRow)\.(\w+)", text)
        if output:
            return "{{tasks." + self.lookups.get(output.group(1), output.group(1)) + ".values." + output.group(2) + "}}"
        raise Untranslatable(f"no Workflows value for the expression {text}")


def policy(settings: dict[str, Any]) -> dict[str, int]:
    """An activity's timeout (``d.hh:mm:ss``) and retries, as the task's."""
    task = {"max_retries": int(settings.get("retry", 0))}
    if task["max_retries"]:
        task["min_retry_interval_millis"] = int(settings.get("retryIntervalInSeconds", 30)) * 1000
    timeout = re.fullmatch(r"(?:(\d+)\.)?(\d+):(\d+):(\d+)", settings.get("timeout", ""))
    if timeout:
        days, hours, minutes, seconds = (int(part or 0) for part in timeout.groups())
        task["timeout_seconds"] = ((days * 24 + hours) * 60 + minutes) * 60 + seconds
    return task


def walk(activities: list[dict[str, Any]]):
    for activity in activities:
        yield activity
        properties = activity.get("typeProperties", {})
        for branch in ("ifTrueActivities", "ifFalseActivities", "activities"):
            yield from walk(properties.get(branch, []))


def environment_values(target: str) -> dict[str, Any]:
    """The ARM parameters of ``target`` (adf/parameters/<target>.json), by name."""
    path = ADF / "parameters" / f"{target}.json"
    return {name: p["value"] for name, p in json.loads(path.read_text(encoding="utf-8"))["parameters"].items()}


def cluster(target: str) -> dict[str, Any]:
    """The job cluster of the notebook activities' linked service, with ``target``'s values."""
    services = [json.loads(p.read_text(encoding="utf-8")) for p in (ADF / "linkedService").glob("*.json")]
    (linked,) = [service for service in services if service["properties"]["type"] == "AzureDatabricks"]
    settings = dict(linked["properties"]["typeProperties"])
    prefix = f"{linked['name']}_properties_typeProperties_"
    settings.update({name.removeprefix(prefix): value for name, value in environment_values(target).items()
                     if name.startswith(prefix)})
    return {
        "spark_version": settings["newClusterVersion"],
        "node_type_id": settings["newClusterNodeType"],
        "num_workers": int(settings["newClusterNumOfWorker"]),
        "data_security_mode": settings.get("dataSecurityMode", "SINGLE_USER"),
        "spark_env_vars": settings.get("newClusterSparkEnvVars", {}),
        "custom_tags": settings.get("newClusterCustomTags", {}),
    }


def schedule_of(pipeline_name: str, target: str) -> dict[str, Any] | None:
    """The schedule of the trigger that runs ``pipeline_name`` (a daily one at whole hours)."""
    for path in sorted((ADF / "trigger").glob("*.json")):
        trigger = json.loads(path.read_text(encoding="utf-8"))
        properties = trigger["properties"]
        if pipeline_name not in [p["pipelineReference"]["referenceName"] for p in properties.get("pipelines", [])]:
            continue
        recurrence = properties["typeProperties"]["recurrence"]
        if (properties["type"], recurrence["frequency"], recurrence["interval"]) != ("ScheduleTrigger", "Day", 1):
            raise Untranslatable(f"trigger {trigger['name']}: only a daily schedule trigger has a job schedule here")
        hours = ",".join(str(h) for h in recurrence["schedule"]["hours"])
        minutes = ",".join(str(m) for m in recurrence["schedule"].get("minutes", [0]))
        state = environment_values(target).get(f"{trigger['name']}_properties_runtimeState", properties["runtimeState"])
        return {
            "quartz_cron_expression": f"0 {minutes} {hours} * * ?",
            "timezone_id": recurrence.get("timeZone", "UTC"),
            "pause_status": "UNPAUSED" if state == "Started" else "PAUSED",
        }
    return None
{%- endraw %}
