"""Online serving of the champion.

On Databricks, Model Serving: deploy points the environment's endpoint (``serving_endpoint`` in
``conf/project.yml``) at each champion; batch scoring never depends on it. Locally, ``serve``
runs the champion behind the project's own API (``runtime/api.py``).
"""

from __future__ import annotations

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
