"""deploy (Subir o modelo em execução): resolve ``@champion`` and make it the version this run
scores with; where the environment names a Databricks Model Serving endpoint, point the endpoint
at that version too. No champion yet is a clear error: the training pipeline must run first."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mlflow import MlflowClient

from .. import inference, registry
from ..runtime import serving

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from . import StageContext


def version_of_run(ctx: StageContext) -> str:
    """The version deploy chose for this run, handed on by the orchestrator as the ``model_version``
    parameter (so a promotion mid-run changes nothing), or the current @champion when the stage runs
    on its own (by hand, without a deploy before it)."""
    return ctx.params.get("model_version") or registry.champion(MlflowClient(), ctx.settings.model_name).version


def execute(spark: SparkSession, ctx: StageContext) -> dict[str, Any]:
    settings = ctx.settings
    champion = registry.champion(MlflowClient(), settings.model_name)
    # Loading it here fails the run at deploy, not halfway through predict, if the artifact is broken.
    inference.load(settings, champion.version)
    endpoint = serving.point_endpoint(settings, champion.version)
    return {
        "model_version": champion.version,
        "model_uri": f"models:/{settings.model_name}/{champion.version}",
        "serving_endpoint": endpoint,
    }
