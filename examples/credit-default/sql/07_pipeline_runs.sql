-- One row per stage of every pipeline run, appended once when the stage ends (succeeded, or
-- failed with the error). A rerun of a stage in the same run appends again; the view
-- pipeline_runs keeps the newest per (pipeline_run_id, stage). The Data Factory run id locates a
-- run here and in MLflow.
CREATE TABLE IF NOT EXISTS ${catalog}.${schema}.pipeline_runs_log (
  pipeline_run_id STRING NOT NULL,
  pipeline STRING NOT NULL COMMENT 'training or execution',
  stage STRING NOT NULL,
  model_name STRING NOT NULL,
  env STRING NOT NULL,
  status STRING NOT NULL,
  started_at TIMESTAMP NOT NULL,
  ended_at TIMESTAMP,
  duration_s DOUBLE,
  trigger_time STRING COMMENT 'Trigger time handed over by the orchestrator',
  output STRING COMMENT 'The stage result as JSON (the notebook exit value)',
  error STRING,
  mlflow_run_id STRING
) USING DELTA
COMMENT 'Every stage run ever recorded (append-only): read the view pipeline_runs';

ALTER TABLE ${catalog}.${schema}.pipeline_runs_log ADD CONSTRAINT status_values
  CHECK (status IN ('succeeded', 'failed'));

CREATE OR REPLACE VIEW ${catalog}.${schema}.pipeline_runs
COMMENT 'History of every stage of every pipeline run, the newest attempt per run and stage'
AS SELECT pipeline_run_id, pipeline, stage, model_name, env, status, started_at, ended_at, duration_s, trigger_time,
  output, error, mlflow_run_id
FROM (
  SELECT *, ROW_NUMBER() OVER (PARTITION BY ${pipeline_runs_key} ORDER BY ${pipeline_runs_order} DESC) AS recency
  FROM ${catalog}.${schema}.pipeline_runs_log
)
WHERE recency = 1;
