"""The delivery definitions are right before Azure DevOps or Databricks ever read them.

Offline and without Spark, this checks:

- every file under ``azure-pipelines/`` against the Azure Pipelines schema that check-jsonschema
  vendors (the VS Code extension's schema: a misspelt key or task input fails);
- every ``template:`` reference resolves, with the parameters the template declares;
- the CD maps branches to environments as the branching model says, and deploys only through
  deployment jobs on Azure DevOps environments (where prod's approval lives);
- no secret is written in the pipelines, the bundle or ``conf/``;
- ``databricks.yml``: every resource loads into the typed models of ``databricks-bundles`` (which
  reject unknown keys), and the dev / uat / prod targets name the catalogs, schema, registered model,
  experiment and landing volume that ``conf/project.yml`` gives each environment.

check-jsonschema and databricks-bundles come with the ``[dev]`` extra.
"""

from __future__ import annotations

import copy
import functools
import importlib.resources
import importlib.util
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import Any

import jsonschema
import pytest
import regress
import yaml
from check_jsonschema.transforms import TRANSFORM_LIBRARY
from databricks.bundles.experiments import MlflowExperiment
from databricks.bundles.jobs import Job
from databricks.bundles.registered_models import RegisteredModel
from databricks.bundles.schemas import Schema
from databricks.bundles.volumes import Volume

from credit_default import cli
from credit_default.settings import environments, load_settings

ROOT = Path(__file__).resolve().parents[2]
PIPELINES = ROOT / "azure-pipelines"
BUNDLE_FILE = ROOT / "databricks.yml"
CD_FILE = PIPELINES / "cd.yml"
DEPLOY_TEMPLATE = PIPELINES / "templates" / "deploy.yml"
INIT_SCRIPT = ROOT / "scripts" / "init_tables.py"
SMOKE_RUN_SCRIPT = ROOT / "scripts" / "smoke_run.py"
FACTORY_TOOLS = PIPELINES / "factory"
ADF = ROOT / "adf"

PROJECT_SLUG = "credit-default"
BRANCHING_MODEL = "gitflow"
DEV_TRIGGER = "stopped"  # the daily trigger in dev after a deployment (the dev_trigger answer)
SMOKE_RUN_IN_PROD = "no"  # the smoke_run_in_prod answer
TARGETS = ("dev", "uat", "prod")

# Branch (Build.SourceBranch) each environment deploys from, per branching model.
DEPLOYED_FROM = {
    "gitflow": {"dev": "refs/heads/develop", "uat": "refs/heads/release/*", "prod": "refs/heads/main"},
    "trunk": {"dev": "refs/heads/main", "uat": "refs/heads/main", "prod": "refs/heads/main"},
}
CI_BRANCHES = {"gitflow": {"develop", "release/*", "main"}, "trunk": {"main"}}

# databricks.yml resource type -> typed model of databricks-bundles.
BUNDLE_MODELS = {
    "jobs": Job,
    "registered_models": RegisteredModel,
    "experiments": MlflowExperiment,
    "volumes": Volume,
    "schemas": Schema,
}

TEMPLATE_EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")
BUNDLE_REFERENCE = re.compile(r"\$\{(var|bundle)\.([A-Za-z0-9_.-]+)\}")


# --------------------------------------------------------------------------------------------- #
# Reading the files the way their tools do
# --------------------------------------------------------------------------------------------- #


def pipeline_files() -> list[Path]:
    return sorted(PIPELINES.rglob("*.yml"))


def read_pipeline(path: Path) -> Any:
    """Azure DevOps reads every scalar as a string (``true``, ``3.11`` and ``60`` included)."""
    return yaml.load(path.read_text(encoding="utf-8"), Loader=yaml.BaseLoader)


def relative(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def template_parameters(template: Path) -> dict[str, dict[str, Any]]:
    return {parameter["name"]: parameter for parameter in read_pipeline(template).get("parameters", [])}


def template_references(node: Any) -> Iterator[dict[str, Any]]:
    """Every mapping with a ``template:`` key (a step, job, stage or variables template)."""
    if isinstance(node, dict):
        if "template" in node:
            yield node
        for value in node.values():
            yield from template_references(value)
    elif isinstance(node, list):
        for item in node:
            yield from template_references(item)


def expanded_steps(path: Path, steps: list[Any]) -> list[dict[str, Any]]:
    """A job's steps with step templates replaced by their steps (one level is all we use)."""
    expanded = []
    for step in steps:
        if "template" in step:
            expanded.extend(read_pipeline(path.parent / step["template"]).get("steps", []))
        else:
            expanded.append(step)
    return expanded


@functools.cache
def bundle() -> dict[str, Any]:
    return yaml.safe_load(BUNDLE_FILE.read_text(encoding="utf-8"))


def deep_merge(base: Any, override: Any) -> Any:
    """How a target's settings override the top-level ones (mappings merge, the rest replaces)."""
    if isinstance(base, dict) and isinstance(override, dict):
        merged = dict(base)
        for key, value in override.items():
            merged[key] = deep_merge(base[key], value) if key in base else copy.deepcopy(value)
        return merged
    return copy.deepcopy(override)


def bundle_for(target: str) -> dict[str, Any]:
    """databricks.yml as seen by ``-t <target>``, with ``${var.*}`` and ``${bundle.*}`` resolved."""
    config = bundle()
    settings = config["targets"][target] or {}
    variables = {name: spec.get("default") for name, spec in config.get("variables", {}).items()}
    for name, value in (settings.get("variables") or {}).items():
        variables[name] = value["default"] if isinstance(value, dict) else value
    values = {("var", name): value for name, value in variables.items()}
    values[("bundle", "target")] = target
    values[("bundle", "name")] = config["bundle"]["name"]

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            return {key: resolve(value) for key, value in node.items()}
        if isinstance(node, list):
            return [resolve(item) for item in node]
        if isinstance(node, str):
            return BUNDLE_REFERENCE.sub(lambda match: str(values[(match.group(1), match.group(2))]), node)
        return node

    merged = {key: value for key, value in config.items() if key != "targets"}
    for key in ("resources", "variables", "workspace", "run_as", "presets", "artifacts", "sync"):
        if key in settings:
            merged[key] = deep_merge(merged.get(key, {}), settings[key])
    merged["mode"] = settings.get("mode")
    return resolve(merged)


# --------------------------------------------------------------------------------------------- #
# The Azure Pipelines schema, validated as check-jsonschema does with
# --builtin-schema vendor.azure-pipelines --data-transform azure-pipelines --regex-variant nonunicode
# --------------------------------------------------------------------------------------------- #


def is_runtime_value(instance: Any) -> bool:
    """A template expression or a macro: Azure DevOps substitutes it before it checks the type."""
    return isinstance(instance, str) and instance.strip().startswith(("$(", "$[", "$" + "{" + "{"))


def is_boolean(checker: Any, instance: Any) -> bool:
    # Task inputs are strings that Azure DevOps converts; the schema types some as boolean.
    if isinstance(instance, bool) or is_runtime_value(instance):
        return True
    return isinstance(instance, str) and instance.lower() in ("true", "false")


def is_integer(checker: Any, instance: Any) -> bool:
    if (isinstance(instance, int) and not isinstance(instance, bool)) or is_runtime_value(instance):
        return True
    return isinstance(instance, str) and re.fullmatch(r"[+-]?[0-9]+", instance) is not None


def is_number(checker: Any, instance: Any) -> bool:
    if is_integer(checker, instance) or isinstance(instance, float):
        return True
    return isinstance(instance, str) and re.fullmatch(r"[+-]?[0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?", instance) is not None


@functools.cache
def ecma_regex(pattern: str) -> regress.Regex:
    return regress.Regex(pattern)  # no "u" flag: the "nonunicode" regex variant


def pattern_keyword(validator: Any, pattern: str, instance: Any, schema: Any) -> Iterator[jsonschema.ValidationError]:
    if validator.is_type(instance, "string") and not ecma_regex(pattern).find(instance):
        yield jsonschema.ValidationError(f"{instance!r} does not match {pattern!r}")


@functools.cache
def pipeline_validator() -> jsonschema.protocols.Validator:
    schema_file = importlib.resources.files("check_jsonschema.builtin_schemas.vendor") / "azure-pipelines.json"
    schema = json.loads(schema_file.read_text(encoding="utf-8"))
    type_checker = jsonschema.Draft7Validator.TYPE_CHECKER.redefine_many(
        {"boolean": is_boolean, "integer": is_integer, "number": is_number}
    )
    validator_class = jsonschema.validators.extend(
        jsonschema.Draft7Validator, validators={"pattern": pattern_keyword}, type_checker=type_checker
    )
    return validator_class(schema)


def leaf_errors(error: jsonschema.ValidationError) -> Iterator[jsonschema.ValidationError]:
    if not error.context:
        yield error
    for sub_error in error.context:
        yield from leaf_errors(sub_error)


def task_problems(data: Any) -> list[str]:
    """Each task step against the schema of its own task and version: the clearest message for a
    misspelt input, which the whole-file check reports through an unrelated alternative."""
    validator = pipeline_validator()
    alternatives = validator.schema["definitions"]["task"]["anyOf"]
    problems = []
    steps = [node for node in template_nodes(data) if isinstance(node.get("task"), str)]
    for step in steps:
        candidates = [
            alt for alt in alternatives if ecma_regex(alt["properties"]["task"]["pattern"]).find(step["task"])
        ]
        if not candidates:
            problems.append(f"task {step['task']!r}: no such task (or version) in the schema")
            continue
        errors = min((list(validator.evolve(schema=alt).iter_errors(step)) for alt in candidates), key=len)
        where = f"task {step['task']} ({step.get('displayName', 'no displayName')})"
        problems += [f"{where}: {error.json_path}: {error.message[:300]}" for error in errors]
    return problems


def template_nodes(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from template_nodes(value)
    elif isinstance(node, list):
        for item in node:
            yield from template_nodes(item)


def schema_problems(document: Any) -> list[str]:
    """Problems of the task steps, then the deepest problems of each error of the whole document."""
    data = TRANSFORM_LIBRARY["azure-pipelines"](document)
    problems = task_problems(data)
    for error in pipeline_validator().iter_errors(data):
        leaves = list(leaf_errors(error))
        depth = max(len(leaf.absolute_path) for leaf in leaves)
        problems += sorted(
            {f"{leaf.json_path}: {leaf.message[:300]}" for leaf in leaves if len(leaf.absolute_path) == depth}
        )
    return problems


@pytest.mark.parametrize("path", pipeline_files(), ids=relative)
def test_pipeline_file_matches_the_azure_pipelines_schema(path):
    problems = schema_problems(read_pipeline(path))
    assert not problems, f"{relative(path)} does not match the Azure Pipelines schema:\n" + "\n".join(problems[:15])


def test_the_schema_check_catches_a_misspelt_task_input():
    step = {
        "task": "AzureCLI@2",
        "inputs": {
            "azureSubscription": "sc",
            "scriptType": "bash",
            "scriptLocation": "inlineScript",
            "inlineScript": "true",
        },
    }
    assert schema_problems({"steps": [step]}) == []
    step["inputs"]["addSpnToEnvironment"] = "true"
    assert schema_problems({"steps": [step]}) == []
    step["inputs"]["addSpnToEnviroment"] = "true"
    assert schema_problems({"steps": [step]}) != []


def test_check_jsonschema_cli_accepts_the_pipelines():
    """The check-jsonschema command as a developer (or pre-commit) runs it on the same files."""
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "check_jsonschema",
            "--builtin-schema",
            "vendor.azure-pipelines",
            "--data-transform",
            "azure-pipelines",
            "--regex-variant",
            "nonunicode",
            *[str(path) for path in pipeline_files()],
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]


def test_the_pipelines_are_there():
    names = {relative(path) for path in pipeline_files()}
    assert {"azure-pipelines/ci.yml", "azure-pipelines/cd.yml", "azure-pipelines/templates/deploy.yml"} <= names


# --------------------------------------------------------------------------------------------- #
# Templates
# --------------------------------------------------------------------------------------------- #


@pytest.mark.parametrize("path", pipeline_files(), ids=relative)
def test_template_references_resolve_with_declared_parameters(path):
    for reference in template_references(read_pipeline(path)):
        name = reference["template"]
        assert "@" not in name and "$" not in name, f"{relative(path)}: keep templates in this repository: {name}"
        template = (path.parent / name).resolve()
        assert template.is_file(), f"{relative(path)}: template {name} not found at {template}"
        assert PIPELINES in template.parents, f"{relative(path)}: {name} is outside azure-pipelines/"
        declared = template_parameters(template)
        passed = reference.get("parameters") or {}
        unknown = sorted(set(passed) - set(declared))
        missing = sorted(key for key, spec in declared.items() if "default" not in spec and key not in passed)
        assert not unknown, f"{relative(path)}: {name} declares no parameter {unknown}"
        assert not missing, f"{relative(path)}: {name} needs parameters {missing}"
        for key, value in passed.items():
            allowed = declared[key].get("values")
            if allowed and isinstance(value, str) and not TEMPLATE_EXPRESSION.search(value):
                assert value in allowed, f"{relative(path)}: {name} {key}={value!r} is not one of {allowed}"


def test_every_template_is_used():
    used = {
        (path.parent / reference["template"]).resolve()
        for path in pipeline_files()
        for reference in template_references(read_pipeline(path))
    }
    unused = [relative(path) for path in sorted((PIPELINES / "templates").glob("*.yml")) if path.resolve() not in used]
    assert not unused


# --------------------------------------------------------------------------------------------- #
# CI and CD behaviour
# --------------------------------------------------------------------------------------------- #


def test_ci_runs_on_pushes_and_pull_requests_of_the_branching_model():
    ci = read_pipeline(PIPELINES / "ci.yml")
    assert set(ci["trigger"]["branches"]["include"]) == CI_BRANCHES[BRANCHING_MODEL]
    assert set(ci["pr"]["branches"]["include"]) == CI_BRANCHES[BRANCHING_MODEL]
    assert [job.get("template") for job in ci["jobs"]] == ["templates/build.yml"]


def test_build_job_lints_tests_on_java_17_and_publishes_results_and_the_wheel():
    path = PIPELINES / "templates" / "build.yml"
    (job,) = read_pipeline(path)["jobs"]
    steps = expanded_steps(path, job["steps"])
    tasks = {step["task"]: step.get("inputs", {}) for step in steps if "task" in step}
    scripts = "\n".join(step["script"] for step in steps if "script" in step)
    assert template_parameters(path)["pythonVersion"]["default"] == "3.11"
    assert (
        TEMPLATE_EXPRESSION.fullmatch(tasks["UsePythonVersion@0"]["versionSpec"]).group(1) == "parameters.pythonVersion"
    )
    assert tasks["JavaToolInstaller@0"]["versionSpec"] == "17"
    assert tasks["JavaToolInstaller@0"]["jdkSourceOption"] == "PreInstalled"
    assert {"PublishTestResults@2", "PublishPipelineArtifact@1", "Cache@2"} <= set(tasks)
    assert "pip install -e" in scripts and "ruff check" in scripts and "pip wheel" in scripts
    assert re.search(r"python -m pytest .*--junitxml", scripts)
    cached = [step["inputs"]["path"] for step in steps if step.get("task") == "Cache@2"]
    assert any("ivy2.5.2" in path or "IVY_CACHE_DIR" in path for path in cached), cached


def cd_stages() -> dict[str, dict[str, Any]]:
    return {stage["stage"]: stage for stage in read_pipeline(CD_FILE)["stages"]}


def deploy_parameters(stage: dict[str, Any]) -> dict[str, str]:
    (job,) = stage["jobs"]
    assert job.get("template") == "templates/deploy.yml", (
        f"stage {stage['stage']} must deploy through templates/deploy.yml"
    )
    return job["parameters"]


def branch_condition(condition: str) -> str:
    """The branch a stage condition requires: eq(...,'refs/heads/x') or startsWith(...,'refs/heads/x/')."""
    equal = re.search(r"eq\(variables\['Build\.SourceBranch'\],\s*'([^']+)'\)", condition)
    if equal:
        return equal.group(1)
    prefix = re.search(r"startsWith\(variables\['Build\.SourceBranch'\],\s*'([^']+/)'\)", condition)
    assert prefix, f"no branch condition in {condition!r}"
    return prefix.group(1) + "*"


def test_cd_deploys_each_environment_from_the_branching_models_branch():
    cd = read_pipeline(CD_FILE)
    stages = cd_stages()
    assert list(stages) == ["build", *TARGETS]
    assert cd["pr"] == "none"
    expected = DEPLOYED_FROM[BRANCHING_MODEL]
    triggered = {"refs/heads/" + branch for branch in cd["trigger"]["branches"]["include"]}
    assert triggered == set(expected.values())
    for env in TARGETS:
        assert "succeeded()" in stages[env]["condition"]
        assert branch_condition(stages[env]["condition"]) == expected[env], env
        assert deploy_parameters(stages[env])["environment"] == env
    if BRANCHING_MODEL == "trunk":  # one promotion path: dev, then uat, then prod
        assert [stages[env]["dependsOn"] for env in TARGETS] == ["build", "dev", "uat"]
    else:  # each branch deploys to its own environment, after the build
        assert all(stages[env]["dependsOn"] == "build" for env in TARGETS)


def test_cd_uses_the_environment_service_connection_and_variable_group_of_each_target():
    stages = cd_stages()
    for env in TARGETS:
        parameters = deploy_parameters(stages[env])
        for key in ("azureDevOpsEnvironment", "serviceConnection", "variableGroup"):
            assert parameters[key] == f"{PROJECT_SLUG}-{env}", (env, key)
        settings = load_settings(env)
        assert parameters["catalog"] == settings.catalog
        assert parameters["schema"] == settings.schema
        assert parameters["experimentFolder"] == str(PurePosixPath(settings.experiment_name).parent)
        assert parameters.get("initJob", "init") in bundle()["resources"]["jobs"]


def test_deployments_run_only_as_deployment_jobs_on_an_approvable_environment():
    """Prod's approval is configured on its Azure DevOps environment: only a deployment job waits for it."""
    template = read_pipeline(DEPLOY_TEMPLATE)
    jobs = template["jobs"]
    assert jobs and all("deployment" in job for job in jobs)
    for job in jobs:
        (expression,) = TEMPLATE_EXPRESSION.findall(job["environment"])
        assert expression == "parameters.azureDevOpsEnvironment"
        assert "runOnce" in job["strategy"]
    cd_jobs = [job for stage in read_pipeline(CD_FILE)["stages"] if stage["stage"] in TARGETS for job in stage["jobs"]]
    assert all(set(job) == {"template", "parameters"} for job in cd_jobs), "a deploy stage runs a job of its own"


def test_deploy_validates_deploys_and_runs_init_with_the_bundle_target():
    (job,) = read_pipeline(DEPLOY_TEMPLATE)["jobs"]
    steps = job["strategy"]["runOnce"]["deploy"]["steps"]
    azure_cli = [step for step in steps if step.get("task") == "AzureCLI@2"]
    commands = [line.strip() for step in azure_cli for line in step["inputs"]["inlineScript"].splitlines()]
    bundle_commands = [line for line in commands if line.startswith("databricks bundle ")]
    target = "-t $" + "{" + "{ parameters.environment }}"
    assert [line.split()[2] for line in bundle_commands if line.split()[2] != "summary"] == [
        "validate",
        "deploy",
        "run",
    ]
    assert all(target in line for line in bundle_commands)
    for step in azure_cli:
        assert step["inputs"]["addSpnToEnvironment"] == "true"
        assert (
            TEMPLATE_EXPRESSION.fullmatch(step["inputs"]["azureSubscription"]).group(1)
            == "parameters.serviceConnection"
        )
        if "databricks " in step["inputs"]["inlineScript"]:
            assert step["env"]["DATABRICKS_AUTH_TYPE"] == "azure-cli"
    installs = [step["script"] for step in steps if "script" in step and "setup-cli" in step["script"]]
    assert installs and "https://raw.githubusercontent.com/databricks/setup-cli/" in installs[0]


def deploy_steps() -> list[dict[str, Any]]:
    (job,) = read_pipeline(DEPLOY_TEMPLATE)["jobs"]
    return job["strategy"]["runOnce"]["deploy"]["steps"]


def step_kind(step: dict[str, Any]) -> str:
    """What a deploy step does, read from its task and commands (not from its display name)."""
    task, inputs = step.get("task", ""), step.get("inputs", {})
    script = step.get("script", "") + inputs.get("inlineScript", "")
    if task == "AzurePowerShell@5":
        return "factory: " + ("pre-deployment" if "-PreDeployment $true" in inputs["ScriptArguments"] else "post-deployment")
    if task.startswith("AzureResourceManagerTemplateDeployment@"):
        return "factory: ARM deployment"
    if task == "Npm@1":
        return "factory: build ARM template" if "build export" in inputs.get("customCommand", "") else "factory: npm install"
    for needle, kind in (
        ("databricks bundle validate", "bundle: validate"),
        ("databricks schemas create", "bundle: schema"),
        ("databricks bundle deploy", "bundle: deploy"),
        ("parameters.smokeRunPipeline", "smoke run"),
        ("databricks bundle run", "tables: init job"),
        ("variable=factoryName", "factory: read settings"),
        ("smoke_run.py", "smoke run"),
    ):
        if needle in script:
            return kind
    return "setup: " + (task or "script")


def test_deploy_goes_bundle_then_tables_then_the_orchestrator_then_smoke_run():
    """The notebooks and wheel are in the workspace, and the tables exist, before what runs them is
    deployed; the smoke run comes last."""
    kinds = [kind for kind in map(step_kind, deploy_steps()) if not kind.startswith("setup: ")]
    assert kinds == [
        "bundle: validate", "bundle: schema", "bundle: deploy", "tables: init job",
        "factory: read settings", "factory: npm install", "factory: build ARM template",
        "factory: pre-deployment", "factory: ARM deployment", "factory: post-deployment",
        "smoke run",
    ]  # fmt: skip


def script_parameters(script: Path) -> set[str]:
    """The parameter names a PowerShell script declares in its param() block."""
    block = re.search(r"^param\s*\((.*?)^\)", script.read_text(encoding="utf-8"), re.S | re.M | re.I).group(1)
    return {name.lower() for name in re.findall(r"\$(\w+)", block)}


def script_arguments(line: str) -> dict[str, str]:
    return {name.lower(): value.strip('"') for name, value in re.findall(r'-(\w+)\s+("[^"]*"|\S+)', line)}


def expand_environment(value: str, env: str) -> Path:
    return ROOT / value.replace("$(Build.SourcesDirectory)/", "").replace("$" + "{" + "{ parameters.environment }}", env)


def test_factory_is_built_from_adf_and_deployed_between_microsofts_pre_and_post_scripts():
    steps = {step_kind(step): step for step in deploy_steps()}
    package = json.loads((FACTORY_TOOLS / "package.json").read_text(encoding="utf-8"))
    version = package["dependencies"]["@microsoft/azure-data-factory-utilities"]
    assert re.fullmatch(r"[0-9]+\.[0-9]+\.[0-9]+", version), "pinned: a new release must not change the build unseen"
    assert package["scripts"]["build"] == "node node_modules/@microsoft/azure-data-factory-utilities/lib/index"

    export = steps["factory: build ARM template"]["inputs"]
    command = export["customCommand"].split()
    assert command[:3] == ["run", "build", "export"] and expand_environment(command[3], "dev") == ADF
    assert re.fullmatch(r"/subscriptions/\S+/resourceGroups/\S+/providers/Microsoft\.DataFactory/factories/\S+", command[4])
    built = expand_environment(export["workingDir"], "dev") / command[5]
    assert expand_environment(steps["factory: npm install"]["inputs"]["workingDir"], "dev") == FACTORY_TOOLS

    arm = steps["factory: ARM deployment"]["inputs"]
    assert arm["deploymentScope"] == "Resource Group" and arm["deploymentMode"] == "Incremental"
    assert "deploymentName" not in arm, "the post-deployment script finds the deployment by its default name"
    assert expand_environment(arm["csmFile"], "dev") == built / "ARMTemplateForFactory.json"

    declared = script_parameters(FACTORY_TOOLS / "PrePostDeploymentScript.Ver2.ps1")
    for kind, pre, delete in (("factory: pre-deployment", "$true", "$false"), ("factory: post-deployment", "$false", "$true")):
        inputs = steps[kind]["inputs"]
        assert expand_environment(inputs["ScriptPath"], "dev") == FACTORY_TOOLS / "PrePostDeploymentScript.Ver2.ps1"
        assert inputs["pwsh"] == "true" and inputs["azurePowerShellVersion"] == "LatestVersion"
        arguments = script_arguments(inputs["ScriptArguments"])
        assert set(arguments) <= declared, sorted(set(arguments) - declared)
        assert (arguments["predeployment"], arguments["deletedeployment"]) == (pre, delete), kind
        assert arguments["armtemplate"] == arm["csmFile"]
        # The script reads the trigger's runtimeState from the parameter file the deployment uses.
        assert arguments["armtemplateparameters"] == arm["csmParametersFile"]
        assert arguments["datafactoryname"] == "$(factoryName)"
    for env in TARGETS:
        assert expand_environment(arm["csmParametersFile"], env) == ADF / "parameters" / f"{env}.json"
        assert (ADF / "parameters" / f"{env}.json").is_file(), env


def arm_parameter_names() -> set[str]:
    """The ARM parameters the factory's export can have, per arm-template-parameters-definition.json
    and the resources of adf/ (named as the factory names them)."""
    definition = json.loads((ADF / "arm-template-parameters-definition.json").read_text(encoding="utf-8"))
    (factory_file,) = (ADF / "factory").glob("*.json")
    factory = json.loads(factory_file.read_text(encoding="utf-8"))
    names = {"factoryName"}
    names |= {f"dataFactory_properties_globalParameters_{name}_value" for name in factory["properties"]["globalParameters"]}
    linked = definition["Microsoft.DataFactory/factories/linkedServices"]["*"]["properties"]["typeProperties"]
    for path in (ADF / "linkedService").glob("*.json"):
        properties = json.loads(path.read_text(encoding="utf-8"))["properties"]["typeProperties"]
        names |= {f"{path.stem}_properties_typeProperties_{key}" for key in linked if key in properties}
    if definition.get("Microsoft.DataFactory/factories/triggers", {}).get("properties", {}).get("runtimeState") == "=":
        names |= {f"{path.stem}_properties_runtimeState" for path in (ADF / "trigger").glob("*.json")}
    return names


def test_every_parameter_the_factory_deployment_sets_is_one_the_export_has():
    (step,) = [step for step in deploy_steps() if step_kind(step) == "factory: ARM deployment"]
    overrides = script_arguments(step["inputs"]["overrideParameters"])
    known = {name.lower() for name in arm_parameter_names()}
    assert set(overrides) <= known, sorted(set(overrides) - known)
    # What the job itself deployed: the workspace it signed in to and the bundle's folder in it.
    assert overrides["ls_databricks_properties_typeproperties_domain"] == "$(DATABRICKS_HOST)"
    assert overrides["datafactory_properties_globalparameters_bundle_root_value"] == "$(bundleRoot)"
    for env in TARGETS:
        parameters = json.loads((ADF / "parameters" / f"{env}.json").read_text(encoding="utf-8"))["parameters"]
        assert set(parameters) <= arm_parameter_names(), (env, sorted(set(parameters) - arm_parameter_names()))
        assert not {name.lower() for name in parameters} & set(overrides), f"{env}: set in two places"


def test_the_daily_trigger_is_stopped_in_dev_unless_asked_and_started_in_uat_and_prod():
    triggers = sorted(path.stem for path in (ADF / "trigger").glob("*.json"))
    assert triggers
    expected = {"dev": DEV_TRIGGER.capitalize(), "uat": "Started", "prod": "Started"}
    for env in TARGETS:
        parameters = json.loads((ADF / "parameters" / f"{env}.json").read_text(encoding="utf-8"))["parameters"]
        states = {name: parameters[f"{name}_properties_runtimeState"]["value"] for name in triggers}
        assert set(states.values()) == {expected[env]}, (env, states)


def smoke_run_step() -> dict[str, Any]:
    """The deploy job's smoke run step, after checking where it runs: dev and uat always, prod as
    answered, and never longer than the job that waits for it."""
    parameters = template_parameters(DEPLOY_TEMPLATE)
    stages = cd_stages()
    smoke = {env: deploy_parameters(stages[env]).get("smokeRun", parameters["smokeRun"]["default"]) for env in TARGETS}
    assert smoke == {"dev": "true", "uat": "true", "prod": "true" if SMOKE_RUN_IN_PROD == "yes" else "false"}
    (job,) = read_pipeline(DEPLOY_TEMPLATE)["jobs"]
    assert int(job["timeoutInMinutes"]) > int(parameters["smokeRunTimeoutMinutes"]["default"])
    (step,) = [step for step in deploy_steps() if step_kind(step) == "smoke run"]
    assert re.search(r"eq\('\$\{\{ parameters\.smokeRun \}\}', 'true'\)", step["condition"])
    return step


def test_the_smoke_run_starts_the_training_pipeline_in_dev_and_uat_and_in_prod_as_answered():
    parameters = template_parameters(DEPLOY_TEMPLATE)
    pipeline = parameters["smokeRunPipeline"]["default"]
    assert pipeline.endswith("_training") and (ADF / "pipeline" / f"{pipeline}.json").is_file()
    script = smoke_run_step()["inputs"]["inlineScript"]
    command = script[script.index("python scripts/smoke_run.py") :].replace("\\\n", " ").split("\n")[0]
    arguments = re.sub(r"\$\{\{ parameters\.(\w+) \}\}", lambda m: str(parameters[m.group(1)]["default"]), command)
    args = load_script(SMOKE_RUN_SCRIPT).parse_args([a.strip('"') for a in arguments.split()[2:]])
    assert (args.pipeline, args.factory) == (pipeline, "$(factoryName)")
    assert args.timeout_minutes == float(parameters["smokeRunTimeoutMinutes"]["default"])
    # The agent installs the deploy extra: the versions the project's tests ran the script with.
    assert '["optional-dependencies"]["deploy"]' in script


# --------------------------------------------------------------------------------------------- #
# No secrets
# --------------------------------------------------------------------------------------------- #

SECRET_KEY = re.compile(
    r"""^\s*-?\s*["']?[\w.-]*(password|passwd|token|secret|api[_-]?key|access[_-]?key)["']?\s*:\s*(?P<value>\S.*)$""",
    re.IGNORECASE,
)
SECRET_VALUES = {
    "Databricks personal access token": re.compile(r"\bdapi[0-9a-f]{32}\b"),
    "private key": re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
    "storage account key": re.compile(r"AccountKey=", re.IGNORECASE),
    "SAS token": re.compile(r"[?&]sig=[A-Za-z0-9%]{20,}"),
}
# What AzureCLI@2 exposes with addSpnToEnvironment and must never be printed or passed on.
SPN_SECRETS = ("servicePrincipalKey", "idToken", "DATABRICKS_TOKEN", "DATABRICKS_CLIENT_SECRET", "ARM_CLIENT_SECRET")


def checked_for_secrets() -> list[Path]:
    return [*pipeline_files(), BUNDLE_FILE, *sorted((ROOT / "conf").glob("*.yml"))]


@pytest.mark.parametrize("path", checked_for_secrets(), ids=relative)
def test_no_secret_is_written_in_the_file(path):
    text = path.read_text(encoding="utf-8")
    for line_number, line in enumerate(text.splitlines(), start=1):
        if line.lstrip().startswith("#"):
            continue
        match = SECRET_KEY.match(line)
        if match:
            value = match.group("value").strip().strip("'\"")
            assert value.startswith(("$(", "$[", "$" + "{")) or value in ("", "null", "~"), (
                f"{relative(path)}:{line_number}: a secret-looking key with a literal value; "
                "use a variable group (secret variable) or a Key Vault reference"
            )
        for what, pattern in SECRET_VALUES.items():
            assert not pattern.search(line), f"{relative(path)}:{line_number}: looks like a {what}"
    if path.parent.is_relative_to(PIPELINES):
        used = [name for name in SPN_SECRETS if name in text]
        assert not used, f"{relative(path)} uses {used}: sign in with DATABRICKS_AUTH_TYPE=azure-cli instead"


# --------------------------------------------------------------------------------------------- #
# databricks.yml
# --------------------------------------------------------------------------------------------- #


def test_bundle_has_the_three_targets_with_the_right_modes():
    config = bundle()
    assert config["bundle"]["name"] == PROJECT_SLUG
    targets = config["targets"]
    assert list(targets) == list(TARGETS)
    assert all(target in environments() for target in targets)
    assert targets["dev"].get("default") is True
    # development mode would prefix the model's and experiment's names with the deployer's.
    assert targets["dev"].get("mode") != "development"
    for target in ("uat", "prod"):
        assert targets[target]["mode"] == "production"
        assert targets[target]["run_as"] == {"service_principal_name": "$" + "{var.run_as_service_principal}"}
        assert targets[target]["workspace"]["root_path"]  # production mode requires a single copy
    for target in TARGETS:
        assert "host" not in (targets[target].get("workspace") or {}), "the workspace comes from DATABRICKS_HOST"


@pytest.mark.parametrize("target", TARGETS)
def test_bundle_resources_load_into_the_databricks_bundles_models(target):
    resources = bundle_for(target)["resources"]
    unknown = sorted(set(resources) - set(BUNDLE_MODELS))
    assert not unknown, f"add the databricks.bundles model of {unknown} to BUNDLE_MODELS"
    for kind, definitions in resources.items():
        for key, definition in definitions.items():
            try:
                BUNDLE_MODELS[kind].from_dict(definition)
            except (ValueError, TypeError, KeyError) as error:  # e.g. "Unexpected field 'x' for class Task"
                pytest.fail(f"databricks.yml {target}: resources.{kind}.{key}: {error}")


@pytest.mark.parametrize("target", TARGETS)
def test_bundle_names_are_those_of_conf_project_yml(target):
    settings = load_settings(target)
    resources = bundle_for(target)["resources"]
    (model,) = resources["registered_models"].values()
    assert f"{model['catalog_name']}.{model['schema_name']}.{model['name']}" == settings.model_name
    (experiment,) = resources["experiments"].values()
    assert experiment["name"] == settings.experiment_name
    (volume,) = resources["volumes"].values()
    assert f"/Volumes/{volume['catalog_name']}/{volume['schema_name']}/{volume['name']}" == settings.landing_path


def test_prod_resources_holding_history_cannot_be_destroyed():
    resources = bundle_for("prod")["resources"]
    for kind in ("registered_models", "experiments", "volumes"):
        for key, definition in resources[kind].items():
            assert definition.get("lifecycle", {}).get("prevent_destroy") is True, f"prod {kind}.{key}"


def test_bundle_uploads_the_project_folders_and_builds_the_wheel_it_installs():
    config = bundle()
    for folder in config["sync"]["paths"]:
        assert (ROOT / folder).is_dir(), folder
    assert {"notebooks", "src", "conf", "sql"} <= set(config["sync"]["paths"])
    (artifact,) = config["artifacts"].values()
    assert artifact["type"] == "whl" and "--wheel-dir dist" in artifact["build"]
    jobs = config["resources"]["jobs"].values()
    libraries = [library["whl"] for job in jobs for task in job["tasks"] for library in task.get("libraries", [])]
    assert libraries and all(PurePosixPath(library).parent == PurePosixPath("dist") for library in libraries)
    assert PurePosixPath(artifact["files"][0]["source"]).parent == PurePosixPath("dist")


def test_init_job_runs_on_a_single_node_cluster_of_the_runtime_matching_local_spark():
    config = bundle()
    job = config["resources"]["jobs"]["init"]
    (cluster,) = job["job_clusters"]
    spec = cluster["new_cluster"]
    assert spec["num_workers"] == 0 and spec["spark_conf"]["spark.databricks.cluster.profile"] == "singleNode"
    assert config["variables"]["spark_version"]["default"].startswith("17.3.x-")
    assert config["variables"]["node_type_id"]["default"] == "Standard_D4ds_v5"
    assert all(task["job_cluster_key"] == cluster["job_cluster_key"] for task in job["tasks"])


def load_script(path: Path):
    """A script of scripts/ as a module (they are not in the package)."""
    spec = importlib.util.spec_from_file_location(f"{path.stem}_under_test", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("target", TARGETS)
def test_init_job_calls_the_package_cli_init_for_its_target(target, monkeypatch, tmp_path):
    (task,) = bundle_for(target)["resources"]["jobs"]["init"]["tasks"]
    python_task = task["spark_python_task"]
    assert (BUNDLE_FILE.parent / python_task["python_file"]).resolve() == INIT_SCRIPT.resolve()
    parameters = [
        tmp_path.as_posix() if "workspace.file_path" in value else value for value in python_task["parameters"]
    ]

    calls = []
    monkeypatch.setattr(cli, "main", lambda argv=None: calls.append(list(argv)) or 0)
    monkeypatch.chdir(ROOT)
    assert load_script(INIT_SCRIPT).main(parameters) == 0

    assert calls == [["init", "--env", target]]
    assert Path.cwd().resolve() == tmp_path.resolve()  # conf/ and sql/ are read from the deployed files folder
