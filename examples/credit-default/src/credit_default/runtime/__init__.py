"""The only place that knows whether code runs on Databricks or locally.

On Databricks the cluster owns the Spark session, ``dbutils`` and the MLflow tracking server;
locally this package provides the same three: Spark with Delta Lake (delta-spark's standard jar
resolution), a ``dbutils`` shim and a sqlite MLflow store inside the project.
"""

import os


def on_databricks() -> bool:
    """Databricks sets this variable on every cluster (and serverless compute)."""
    return "DATABRICKS_RUNTIME_VERSION" in os.environ
