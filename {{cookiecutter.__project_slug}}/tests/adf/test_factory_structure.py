"""adf/ is what a team imports into its factory: every file valid for Data Factory, every reference
resolved, and in step with the notebooks, the package and conf/project.yml."""

from __future__ import annotations

import json
import re
import tomllib
from datetime import datetime
from pathlib import Path

import pytest
import yaml
from azure.mgmt.datafactory import models

from {{ cookiecutter.__package_name }}.orchestration import pipeline_name, pipelines

ROOT = Path(__file__).resolve().parents[2]
PIPELINES = pipelines(ROOT)  # read from the pipeline JSON: the one declaration of the stages
ADF = ROOT / "adf"
PACKAGE = ROOT / "src" / "{{ cookiecutter.__package_name }}"
# Folder of the Data Factory git layout -> the model class its files deserialise to.
KINDS = {
    "factory": models.Factory,
    "linkedService": models.LinkedServiceResource,
    "dataset": models.DatasetResource,
    "pipeline": models.PipelineResource,
    "trigger": models.TriggerResource,
}
FILES = sorted((kind, path) for kind in KINDS for path in (ADF / kind).glob("*.json"))


def _read(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def _resources(kind: str) -> dict[str, dict]:
    return {path.stem: _read(path) for k, path in FILES if k == kind}


def _activities(activities: list[dict]):
    """Every activity, with those inside If Conditions, and the list (scope) it belongs to."""
    for activity in activities:
        yield activity, activities
        properties = activity.get("typeProperties", {})
        for branch in ("ifTrueActivities", "ifFalseActivities", "activities"):
            yield from _activities(properties.get(branch, []))


def _all_activities(name: str) -> list[dict]:
    return [a for a, _ in _activities(_resources("pipeline")[name]["properties"]["activities"])]


def _references(node, kind: str):
    """Every ``{"referenceName": …, "type": kind}`` inside ``node``."""
    if isinstance(node, dict):
        if node.get("type") == kind and "referenceName" in node:
            yield node["referenceName"]
        for value in node.values():
            yield from _references(value, kind)
    elif isinstance(node, list):
        for value in node:
            yield from _references(value, kind)


def _notebook_activities(pipeline: str) -> list[dict]:
    return [a for a in _all_activities(pipeline_name_of(pipeline)) if a["type"] == "DatabricksNotebook"]


def pipeline_name_of(pipeline: str) -> str:
    package = yaml.safe_load((ROOT / "conf" / "project.yml").read_text())["package_name"]
    return f"pl_{package}_{pipeline}"


def _expression(value) -> str:
    assert isinstance(value, dict) and value.get("type") == "Expression", f"not an expression: {value!r}"
    return value["value"]


def test_the_layout_is_the_factorys_git_layout():
    assert {kind for kind, _ in FILES} == set(KINDS)
    assert len(_resources("factory")) == 1, "one factory per project"
    assert (ADF / "arm-template-parameters-definition.json").is_file()
    for kind, path in FILES:
        assert _read(path)["name"] == path.stem, f"{kind}/{path.name}: the file name must be the resource name"


@pytest.mark.parametrize(("kind", "path"), FILES, ids=[f"{k}/{p.name}" for k, p in FILES])
def test_every_file_is_a_valid_data_factory_resource_without_unknown_properties(kind, path):
    """Deserialise with the Data Factory models: a misspelt property is either kept aside as an
    unknown (additional_properties) or lost in the round trip."""
    document = _read(path)
    resource = KINDS[kind].deserialize(document)
    assert not list(_unknown_properties(resource)), f"{path.name}: unknown properties {list(_unknown_properties(resource))}"
    assert list(_differences(document, resource.serialize(keep_readonly=True))) == [], path.name


def _unknown_properties(model, where=""):
    if getattr(model, "additional_properties", None):
        yield where or "/", sorted(model.additional_properties)
    if hasattr(model, "_attribute_map"):
        for attribute in model._attribute_map:
            if attribute != "additional_properties":
                yield from _unknown_properties(getattr(model, attribute, None), f"{where}.{attribute}")
    elif isinstance(model, list):
        for index, item in enumerate(model):
            yield from _unknown_properties(item, f"{where}[{index}]")
    elif isinstance(model, dict):
        for key, item in model.items():
            yield from _unknown_properties(item, f"{where}[{key}]")


def _differences(original, round_trip, where=""):
    if isinstance(original, dict) and isinstance(round_trip, dict):
        for key in original.keys() | round_trip.keys():
            if key not in round_trip:
                yield f"{where}/{key}: not a property the models know"
            elif key not in original:
                yield f"{where}/{key}: added"
            else:
                yield from _differences(original[key], round_trip[key], f"{where}/{key}")
    elif isinstance(original, list) and isinstance(round_trip, list) and len(original) == len(round_trip):
        for index, (a, b) in enumerate(zip(original, round_trip)):
            yield from _differences(a, b, f"{where}[{index}]")
    elif original != round_trip and not _same_instant(original, round_trip):
        yield f"{where}: {original!r} became {round_trip!r}"


def _same_instant(a, b) -> bool:
    try:
        return datetime.fromisoformat(str(a)) == datetime.fromisoformat(str(b))
    except ValueError:
        return False


def test_every_reference_resolves():
    linked_services, datasets, pipelines = (set(_resources(k)) for k in ("linkedService", "dataset", "pipeline"))
    for kind, path in FILES:
        document = _read(path)
        assert set(_references(document, "LinkedServiceReference")) <= linked_services, path.name
        assert set(_references(document, "DatasetReference")) <= datasets, path.name
        assert set(_references(document, "PipelineReference")) <= pipelines, path.name
    used = {name for _, path in FILES for name in _references(_read(path), "LinkedServiceReference")}
    # Key Vault is there for secrets a team adds; every other linked service is used.
    assert linked_services - used == {"ls_key_vault"}


@pytest.mark.parametrize("pipeline", sorted(PIPELINES))
def test_activity_names_are_unique_and_dependencies_acyclic(pipeline):
    activities = _resources("pipeline")[pipeline_name_of(pipeline)]["properties"]["activities"]
    names = [a["name"] for a in _all_activities(pipeline_name_of(pipeline))]
    assert len(names) == len(set(names)), "activity names must be unique in a pipeline"
    for activity, scope in _activities(activities):
        in_scope = {a["name"] for a in scope}
        for dependency in activity.get("dependsOn", []):
            assert dependency["activity"] in in_scope, f"{activity['name']} depends on a missing activity"
            assert set(dependency["dependencyConditions"]) <= {"Succeeded", "Failed", "Skipped", "Completed"}
    graph = {a["name"]: [d["activity"] for d in a.get("dependsOn", [])] for a, _ in _activities(activities)}
    visiting, done = set(), set()

    def visit(name):
        assert name not in visiting, f"dependency cycle through {name}"
        if name not in done:
            visiting.add(name)
            for dependency in graph[name]:
                visit(dependency)
            visiting.discard(name)
            done.add(name)

    for name in graph:
        visit(name)


@pytest.mark.parametrize("pipeline", sorted(PIPELINES))
def test_every_notebook_activity_is_a_stage_with_its_notebook_and_module(pipeline):
    """The JSON declares the stages; the notebooks and the stage modules must be the same set."""
    activities = _notebook_activities(pipeline)
    assert [a["name"] for a in activities] == list(PIPELINES[pipeline])
    previous = None
    for activity in activities:
        path = _expression(activity["typeProperties"]["notebookPath"])
        relative = re.fullmatch(r"@concat\(pipeline\(\)\.globalParameters\.bundle_root, '/files/(.+)'\)", path).group(1)
        # Named by stage, never by position: inserting a stage renames nothing.
        assert relative == f"notebooks/{pipeline}/{activity['name']}", activity["name"]
        assert (ROOT / f"{relative}.py").is_file(), f"{activity['name']}: no notebook {relative}.py"
        assert (PACKAGE / "stages" / f"{activity['name']}.py").is_file(), f"{activity['name']}: no module stages/"
        # Each stage runs on the success of the one before it.
        expected = [] if previous is None else [{"activity": previous, "dependencyConditions": ["Succeeded"]}]
        assert activity["dependsOn"] == expected
        previous = activity["name"]
    on_disk = sorted(p.stem for p in (ROOT / "notebooks" / pipeline).glob("*.py"))
    assert on_disk == sorted(PIPELINES[pipeline]), "every notebook has its activity"


def test_every_stage_module_has_its_activity():
    modules = {p.stem for p in (PACKAGE / "stages").glob("*.py")} - {"__init__"}
    assert modules == {stage for stages in PIPELINES.values() for stage in stages}


@pytest.mark.parametrize("pipeline", sorted(PIPELINES))
def test_base_parameters_are_the_widgets_each_notebook_reads(pipeline):
    before: set[str] = set()
    for activity in _notebook_activities(pipeline):
        relative = _expression(activity["typeProperties"]["notebookPath"]).split("/files/")[1].rstrip("')")
        widgets = set(re.findall(r'dbutils\.widgets\.text\("(\w+)"', (ROOT / f"{relative}.py").read_text()))
        parameters = activity["typeProperties"]["baseParameters"]
        assert set(parameters) == widgets, activity["name"]
        assert _expression(parameters["env"]) == "@pipeline().globalParameters.environment"
        assert _expression(parameters["pipeline_run_id"]) == "@pipeline().RunId"
        assert _expression(parameters["trigger_time"]) == "@pipeline().TriggerTime"
        # What a stage receives from others comes from stages that ran before it, by their exit value.
        for name, value in parameters.items():
            for source in re.findall(r"activity\('(\w+)'\)\.output\.(\w+)", _expression(value)):
                assert source[0] in before and source[1] == "runOutput", f"{activity['name']}.{name}: {source}"
        before.add(activity["name"])


@pytest.mark.parametrize("pipeline", sorted(PIPELINES))
def test_every_stage_fails_the_run_visibly(pipeline):
    activities = {a["name"]: a for a in _all_activities(pipeline_name_of(pipeline))}
    for stage in PIPELINES[pipeline]:
        fail = activities[f"{stage}_failed"]
        assert fail["type"] == "Fail"
        assert fail["dependsOn"] == [{"activity": stage, "dependencyConditions": ["Failed"]}]
        message = _expression(fail["typeProperties"]["message"])
        assert f"failed at {stage}: " in message and f"activity('{stage}').error.message" in message
        assert "pipeline().RunId" in message


def test_the_wheel_the_notebooks_install_is_the_package_the_bundle_builds():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wheel = f"{project['name'].replace('-', '_')}-{project['version']}-py3-none-any.whl"
    for pipeline in PIPELINES:
        for activity in _notebook_activities(pipeline):
            [library] = activity["typeProperties"]["libraries"]
            assert _expression(library["whl"]).endswith(f"/artifacts/.internal/{wheel}')"), activity["name"]
            assert activity["linkedServiceName"]["referenceName"] == "ls_databricks"


def test_execution_runs_this_models_training_pipeline_on_retrain_and_waits():
    activities = {a["name"]: a for a in _all_activities(pipeline_name_of("execution"))}
    lookup = activities["latest_decision"]
    assert lookup["type"] == "Lookup" and lookup["dependsOn"] == [
        {"activity": "evaluate_metrics", "dependencyConditions": ["Succeeded"]}
    ]
    assert lookup["typeProperties"]["dataset"]["referenceName"] == "ds_latest_decision"
    retrain = activities["if_retrain"]
    assert _expression(retrain["typeProperties"]["expression"]) == (
        "@equals(activity('latest_decision').output.firstRow.decision, 'retrain')"
    )
    [training] = retrain["typeProperties"]["ifTrueActivities"]
    assert training["type"] == "ExecutePipeline"
    assert training["typeProperties"]["pipeline"]["referenceName"] == pipeline_name_of("training")
    assert training["typeProperties"]["waitOnCompletion"] is True
    [alert] = activities["if_alert"]["typeProperties"]["ifTrueActivities"]
    assert alert["type"] == "Fail" and alert["typeProperties"]["errorCode"] == "MonitoringAlert"


def test_the_daily_trigger_runs_the_execution_pipeline_at_a_whole_hour_utc():
    [trigger] = _resources("trigger").values()
    properties = trigger["properties"]
    assert properties["type"] == "ScheduleTrigger"
    assert [p["pipelineReference"]["referenceName"] for p in properties["pipelines"]] == [pipeline_name_of("execution")]
    recurrence = properties["typeProperties"]["recurrence"]
    assert (recurrence["frequency"], recurrence["interval"], recurrence["timeZone"]) == ("Day", 1, "UTC")
    [hour] = recurrence["schedule"]["hours"]
    assert 0 <= hour <= 23 and recurrence["schedule"]["minutes"] == [0]
    assert f"{hour:02d}:00 UTC" in properties["description"]


def test_global_parameters_and_environment_files_name_what_conf_project_names():
    environments = yaml.safe_load((ROOT / "conf" / "project.yml").read_text())["environments"]
    [factory] = _resources("factory").values()
    globals_ = {name: spec["value"] for name, spec in factory["properties"]["globalParameters"].items()}
    assert (globals_["environment"], globals_["catalog"], globals_["schema"]) == (
        "dev", environments["dev"]["catalog"], environments["dev"]["schema"]
    )
    linked_services = _resources("linkedService")
    for env in ("dev", "uat", "prod"):
        parameters = _read(ADF / "parameters" / f"{env}.json")["parameters"]
        values = {name: p["value"] for name, p in parameters.items()}
        # dev's factory is the git-connected one, whose name adf/factory/ holds.
        assert values["factoryName"] == (factory["name"] if env == "dev" else f"{factory['name']}-{env}")
        assert values["dataFactory_properties_globalParameters_environment_value"] == env
        assert values["dataFactory_properties_globalParameters_catalog_value"] == environments[env]["catalog"]
        assert values["dataFactory_properties_globalParameters_schema_value"] == environments[env]["schema"]
        for name in values:
            if "_properties_typeProperties_" in name:
                service, prop = name.split("_properties_typeProperties_")
                assert prop in linked_services[service]["properties"]["typeProperties"], name
            elif name.startswith("dataFactory_properties_globalParameters_"):
                assert name.removeprefix("dataFactory_properties_globalParameters_").removesuffix("_value") in globals_
            elif name.endswith("_properties_runtimeState"):
                assert name.removesuffix("_properties_runtimeState") in _resources("trigger"), name


def test_arm_parameters_cover_what_differs_per_environment():
    definition = _read(ADF / "arm-template-parameters-definition.json")
    assert definition["Microsoft.DataFactory/factories"]["properties"]["globalParameters"] == {"*": {"value": "="}}
    parameterised = definition["Microsoft.DataFactory/factories/linkedServices"]["*"]["properties"]["typeProperties"]
    for needed in ("domain", "workspaceResourceId", "newClusterVersion", "newClusterNodeType", "newClusterNumOfWorker",
                   "clusterId", "baseUrl"):
        assert parameterised.get(needed) == "=", needed
    # Whether a trigger starts after a deployment is per environment (dev's stays stopped by default).
    assert definition["Microsoft.DataFactory/factories/triggers"]["properties"]["runtimeState"] == "="


def test_the_job_clusters_run_the_databricks_runtime_of_the_bundle():
    bundle = yaml.safe_load((ROOT / "databricks.yml").read_text())
    databricks = _resources("linkedService")["ls_databricks"]["properties"]["typeProperties"]
    assert databricks["authentication"] == "MSI" and "accessToken" not in databricks
    assert databricks["newClusterVersion"] == bundle["variables"]["spark_version"]["default"]
    assert databricks["newClusterNodeType"] == bundle["variables"]["node_type_id"]["default"]


def test_pipeline_names_are_the_ones_the_runner_walks(settings):
    assert set(_resources("pipeline")) == {pipeline_name(settings, p) for p in PIPELINES}
