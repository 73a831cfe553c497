"""Online serving of the champion.

On Databricks, Model Serving: deploy points the environment's endpoint (``serving_endpoint`` in
``conf/project.yml``) at each champion; batch scoring never depends on it. Locally, ``serve``
runs MLflow's model server on ``models:/<name>@champion`` (``POST /invocations``).
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Any

from . import on_databricks

if TYPE_CHECKING:
    from ..settings import Settings


def endpoint_config(settings: Settings, version: str) -> dict[str, Any]:
    """The endpoint's served entity: this version of the Unity Catalog model, all traffic to it."""
    served = f"{settings.project['registered_model_name']}-{version}"
    return {
        "served_entities": [
            {
                "name": served,
                "entity_name": settings.model_name,
                "entity_version": str(version),
                "workload_size": settings.serving.get("workload_size", "Small"),
                "scale_to_zero_enabled": bool(settings.serving.get("scale_to_zero", True)),
            }
        ],
        "traffic_config": {"routes": [{"served_model_name": served, "traffic_percentage": 100}]},
    }


def point_endpoint(settings: Settings, version: str) -> str | None:
    """Create or update the configured endpoint so it serves ``version``; its name, or None."""
    name = settings.serving.get("endpoint")
    if not name or not on_databricks():
        return None
    from databricks.sdk import WorkspaceClient
    from databricks.sdk.errors import NotFound
    from databricks.sdk.service.serving import EndpointCoreConfigInput

    config = EndpointCoreConfigInput.from_dict({"name": name, **endpoint_config(settings, version)})
    client = WorkspaceClient()
    try:
        current = client.serving_endpoints.get(name)
    except NotFound:
        client.serving_endpoints.create_and_wait(name, config=config)
        return name
    served = [e.entity_version for e in (current.config.served_entities or [])] if current.config else []
    if served != [str(version)]:
        client.serving_endpoints.update_config_and_wait(
            name, served_entities=config.served_entities, traffic_config=config.traffic_config
        )
    return name


def serve_command(settings: Settings, host: str, port: int) -> list[str]:
    """MLflow's model server on the champion alias, in this interpreter's environment."""
    uri = f"models:/{settings.model_name}@champion"
    return [sys.executable, "-m", "mlflow", "models", "serve", "-m", uri, "--env-manager", "local",
            "--host", host, "--port", str(port)]


def serve_champion(settings: Settings, host: str = "127.0.0.1", port: int = 5001) -> int:
    """Replace this process with the model server (Ctrl-C stops it); local registry only."""
    import mlflow
    from mlflow import MlflowClient

    from .. import registry

    if not settings.is_local:
        raise RuntimeError("serve runs the local model server; on Databricks use the serving endpoint")
    champion = registry.champion(MlflowClient(), settings.model_name)
    print(f"serving {settings.model_name} v{champion.version} (@champion) on http://{host}:{port}/invocations",
          flush=True)
    # MLflow starts the server as `uvicorn` from PATH: the one next to this interpreter, even when
    # the virtualenv is not activated.
    path = os.pathsep.join([os.path.dirname(sys.executable), os.environ.get("PATH", "")])
    environment = {**os.environ, "PATH": path, "MLFLOW_TRACKING_URI": mlflow.get_tracking_uri(),
                   "MLFLOW_REGISTRY_URI": mlflow.get_registry_uri()}
    command = serve_command(settings, host, port)
    os.execve(command[0], command, environment)
    return 0  # not reached: the process is now the server
