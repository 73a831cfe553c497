-- evaluate_metrics (Avaliar as métricas): one decision per execution run, appended; a rerun of
-- the stage appends again and the view monitoring_decisions keeps the newest per run. Data Factory
-- reads the latest one (view latest_decision) and calls the training pipeline on 'retrain'.
CREATE TABLE IF NOT EXISTS ${catalog}.${schema}.monitoring_decisions_log (
  model_name STRING NOT NULL,
  model_version STRING NOT NULL COMMENT 'Champion version the batch was scored with',
  batch_id STRING NOT NULL,
  decision STRING NOT NULL COMMENT 'satisfactory, retrain or alert',
  rule STRING NOT NULL COMMENT 'The rule that fired (or none)',
  inputs STRING NOT NULL COMMENT 'The numbers the rule looked at, as JSON',
  pipeline_run_id STRING NOT NULL,
  decided_at TIMESTAMP NOT NULL
) USING DELTA
COMMENT 'Every decision ever written (append-only): read the view monitoring_decisions';

ALTER TABLE ${catalog}.${schema}.monitoring_decisions_log ADD CONSTRAINT decision_values
  CHECK (decision IN ('satisfactory', 'retrain', 'alert'));

CREATE OR REPLACE VIEW ${catalog}.${schema}.monitoring_decisions
COMMENT 'Decisions of the execution pipeline, the newest per model and pipeline run'
AS SELECT model_name, model_version, batch_id, decision, rule, inputs, pipeline_run_id, decided_at
FROM (
  SELECT *, ROW_NUMBER() OVER (PARTITION BY ${monitoring_decisions_key} ORDER BY ${monitoring_decisions_order} DESC) AS recency
  FROM ${catalog}.${schema}.monitoring_decisions_log
)
WHERE recency = 1;
