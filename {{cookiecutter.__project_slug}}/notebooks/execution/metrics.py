# Databricks notebook source
# MAGIC %md
# MAGIC # metrics — Calcular as métricas
# MAGIC Schema, data quality and drift of the scored batch; performance of every batch whose labels arrived.
# MAGIC
# MAGIC Thin by design: read the parameters, make one call into the `{{ cookiecutter.__package_name }}` package, hand the
# MAGIC result back with `dbutils.notebook.exit` (Data Factory reads it as the activity's `runOutput`)
# MAGIC and as task values (a Databricks job's later tasks read them).

# COMMAND ----------

dbutils.widgets.text("env", "local")
dbutils.widgets.text("pipeline_run_id", "")
dbutils.widgets.text("trigger_time", "")
# From predict: the batch it scored (empty: only late labels are measured).
dbutils.widgets.text("batch_id", "")
# From predict: the version that scored it (empty: read from inference_log).
dbutils.widgets.text("model_version", "")
# From predict: how many rows it scored.
dbutils.widgets.text("rows_scored", "")
# From predict: why the batch could not be scored (empty: it could).
dbutils.widgets.text("schema_break", "")
# From predict: the batch's counts under the expectations and its extra columns, as JSON (empty:
# the batch is checked again here).
dbutils.widgets.text("quality", "")

# COMMAND ----------

import json

from {{ cookiecutter.__package_name }}.stages import run_stage

# Every widget is a parameter of the stage (Data Factory's baseParameters fill them).
result = run_stage("metrics", spark, **dbutils.widgets.getAll())
# A Databricks job's later tasks read the result as task values; Data Factory reads the exit value.
for key, value in result.items():
    dbutils.jobs.taskValues.set(key, value)
dbutils.notebook.exit(json.dumps(result))
