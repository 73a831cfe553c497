# Databricks notebook source
# MAGIC %md
# MAGIC # 02 · predict — Acionamento, Predição, Gravar os dados
# MAGIC Score the next landed batch (or `batch_id`) with the champion in Spark; write it to `inference_log`.
# MAGIC
# MAGIC Thin by design: read the parameters, make one call into the `{{ cookiecutter.__package_name }}` package, hand the
# MAGIC result back with `dbutils.notebook.exit` (Data Factory reads it as the activity's `runOutput`).

# COMMAND ----------

dbutils.widgets.text("env", "local")
dbutils.widgets.text("pipeline_run_id", "")
dbutils.widgets.text("trigger_time", "")
# Empty: the oldest landed batch without a decision.
dbutils.widgets.text("batch_id", "")

# COMMAND ----------

import json

from {{ cookiecutter.__package_name }}.stages import run_stage

result = run_stage(
    "predict",
    spark,
    env=dbutils.widgets.get("env"),
    pipeline_run_id=dbutils.widgets.get("pipeline_run_id"),
    trigger_time=dbutils.widgets.get("trigger_time"),
    batch_id=dbutils.widgets.get("batch_id"),
)
dbutils.notebook.exit(json.dumps(result))
