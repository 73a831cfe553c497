"""The Model Serving request deploy sends on Databricks is a valid databricks-sdk config, and
locally nothing is sent (``serve`` is the local server, tested in tests/integration/test_loop.py)."""

from databricks.sdk.service.serving import AiGatewayConfig, EndpointCoreConfigInput

from credit_default.runtime import serving
from credit_default.settings import load_settings


def test_endpoint_config_serves_the_unity_catalog_version_with_all_traffic():
    prod = load_settings("prod")
    config = serving.endpoint_config(prod, "7")
    [entity] = config["served_entities"]
    assert entity["entity_name"] == prod.model_name and prod.model_name.count(".") == 2
    assert entity["entity_version"] == "7"
    assert config["traffic_config"]["routes"] == [{"served_model_name": entity["name"], "traffic_percentage": 100}]
    # The SDK's own model reads every key back unchanged: no misspelt field.
    parsed = EndpointCoreConfigInput.from_dict({"name": "endpoint", **config})
    assert parsed.as_dict() == {"name": "endpoint", **config}


def test_the_endpoints_request_logging_is_a_valid_ai_gateway_config():
    gateway = serving.ai_gateway_config(load_settings("prod"))
    assert AiGatewayConfig.from_dict(gateway).as_dict() == gateway


def test_no_endpoint_is_touched_outside_databricks_or_when_none_is_configured(settings):
    assert settings.serving["endpoint"] is None
    assert serving.point_endpoint(settings, "1") is None
