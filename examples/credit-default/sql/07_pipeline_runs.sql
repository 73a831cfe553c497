-- One row per stage of every pipeline run (started, then succeeded or failed with the error),
-- keyed by pipeline_run_id and stage: the Data Factory run id locates a run here and in MLflow.
CREATE TABLE IF NOT EXISTS ${catalog}.${schema}.pipeline_runs (
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
COMMENT 'History of every stage of every pipeline run';

ALTER TABLE ${catalog}.${schema}.pipeline_runs ADD CONSTRAINT status_values
  CHECK (status IN ('started', 'succeeded', 'failed'));
