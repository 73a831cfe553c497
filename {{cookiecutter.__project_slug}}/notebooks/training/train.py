# Databricks notebook source
# MAGIC %md
# MAGIC # train — Treino, Versionamento do Modelo e do Código
# MAGIC Training set pinned to Delta versions; MLflow run with data and code versions; a new registered version.
# MAGIC
# MAGIC Thin by design: read the parameters, make one call into the `{{ cookiecutter.__package_name }}` package, hand the
# MAGIC result back with `dbutils.notebook.exit` (Data Factory reads it as the activity's `runOutput`)
# MAGIC and as task values (a Databricks job's later tasks read them).

# COMMAND ----------

dbutils.widgets.text("env", "local")
dbutils.widgets.text("pipeline_run_id", "")
dbutils.widgets.text("trigger_time", "")

# COMMAND ----------

import json

from {{ cookiecutter.__package_name }}.stages import run_stage

# Every widget is a parameter of the stage (Data Factory's baseParameters fill them).
result = run_stage("train", spark, **dbutils.widgets.getAll())
# A Databricks job's later tasks read the result as task values; Data Factory reads the exit value.
for key, value in result.items():
    dbutils.jobs.taskValues.set(key, value)
dbutils.notebook.exit(json.dumps(result))
