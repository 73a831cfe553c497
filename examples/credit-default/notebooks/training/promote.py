# Databricks notebook source
# MAGIC %md
# MAGIC # promote — Deploy automático
# MAGIC A challenger that passed becomes @champion (the former one is kept as @previous_champion).
# MAGIC
# MAGIC Thin by design: read the parameters, make one call into the `credit_default` package, hand the
# MAGIC result back with `dbutils.notebook.exit` (Data Factory reads it as the activity's `runOutput`)
# MAGIC and as task values (a Databricks job's later tasks read them).

# COMMAND ----------

dbutils.widgets.text("env", "local")
dbutils.widgets.text("pipeline_run_id", "")
dbutils.widgets.text("trigger_time", "")
# From evaluate: the version it judged (empty: the newest this run registered).
dbutils.widgets.text("model_version", "")

# COMMAND ----------

import json

from credit_default.stages import run_stage

# Every widget is a parameter of the stage (Data Factory's baseParameters fill them).
result = run_stage("promote", spark, **dbutils.widgets.getAll())
# A Databricks job's later tasks read the result as task values; Data Factory reads the exit value.
for key, value in result.items():
    dbutils.jobs.taskValues.set(key, value)
dbutils.notebook.exit(json.dumps(result))
