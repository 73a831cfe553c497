"""Online serving of the champion.

On Databricks, Model Serving: deploy creates the environment's endpoint (``serving_endpoint`` in
``conf/project.yml``) at the first champion, points it at each new one, and keeps its AI Gateway
inference table on: every request and response lands in ``<model>_online_payload`` in the
environment's schema, which ``online.py`` copies into inference_log for ``metrics``. Batch scoring
never depends on the endpoint. Locally, ``serve`` runs the champion behind the project's own API
(``runtime/api.py``), which logs to inference_log itself.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import on_databricks

if TYPE_CHECKING:
    from ..settings import Settings


def payload_table_prefix(settings: Settings) -> str:
    return f"{settings.project['registered_model_name']}_online"


def payload_table(settings: Settings) -> str:
    """The endpoint's inference table (AI Gateway names it ``<prefix>_payload``)."""
    return settings.table(f"{payload_table_prefix(settings)}_payload")


def ai_gateway_config(settings: Settings) -> dict[str, Any]:
    """Request and response logging into the environment's catalog and schema."""
    return {"inference_table_config": {"catalog_name": settings.catalog, "schema_name": settings.schema,
                                       "table_name_prefix": payload_table_prefix(settings), "enabled": True}}


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
    from databricks.sdk.service.serving import AiGatewayConfig, EndpointCoreConfigInput

    config = EndpointCoreConfigInput.from_dict({"name": name, **endpoint_config(settings, version)})
    gateway = AiGatewayConfig.from_dict(ai_gateway_config(settings))
    client = WorkspaceClient()
    try:
        current = client.serving_endpoints.get(name)
    except NotFound:
        # Created here, not as a bundle resource: a resource cannot name a version before one exists.
        client.serving_endpoints.create_and_wait(name, config=config, ai_gateway=gateway)
        return name
    served = [e.entity_version for e in (current.config.served_entities or [])] if current.config else []
    if served != [str(version)]:
        client.serving_endpoints.update_config_and_wait(
            name, served_entities=config.served_entities, traffic_config=config.traffic_config
        )
    present = current.ai_gateway or AiGatewayConfig()
    if not (present.inference_table_config and present.inference_table_config.enabled):
        # An endpoint made by hand, or its logging turned off. The call replaces the whole AI
        # Gateway configuration: what else was set there (rate limits, usage tracking) is kept.
        client.serving_endpoints.put_ai_gateway(
            name, inference_table_config=gateway.inference_table_config, rate_limits=present.rate_limits,
            usage_tracking_config=present.usage_tracking_config, guardrails=present.guardrails,
            fallback_config=present.fallback_config,
        )
    return name
