# Databricks notebook source
# MAGIC %md
# MAGIC # predict — Acionamento, Predição, Gravar os dados
# MAGIC Score the next landed batch (or `batch_id`) with the champion in Spark; write it to `inference_log`.
# MAGIC
# MAGIC Thin by design: read the parameters, make one call into the `credit_default` package, hand the
# MAGIC result back with `dbutils.notebook.exit` (Data Factory reads it as the activity's `runOutput`)
# MAGIC and as task values (a Databricks job's later tasks read them).

# COMMAND ----------

dbutils.widgets.text("env", "local")
dbutils.widgets.text("pipeline_run_id", "")
dbutils.widgets.text("trigger_time", "")
# Empty: the oldest landed batch without a decision.
dbutils.widgets.text("batch_id", "")
# From deploy: the version this run scores with (empty: the current @champion).
dbutils.widgets.text("model_version", "")

# COMMAND ----------

import json

from credit_default.stages import run_stage

# Every widget is a parameter of the stage (Data Factory's baseParameters fill them).
result = run_stage("predict", spark, **dbutils.widgets.getAll())
# A Databricks job's later tasks read the result as task values; Data Factory reads the exit value.
for key, value in result.items():
    dbutils.jobs.taskValues.set(key, value)
dbutils.notebook.exit(json.dumps(result))
