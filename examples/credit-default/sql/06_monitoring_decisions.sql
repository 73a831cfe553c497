-- evaluate_metrics (Avaliar as métricas): one decision per execution run. Data Factory reads
-- the latest one (view latest_decision) and calls the training pipeline on 'retrain'.
CREATE TABLE IF NOT EXISTS ${catalog}.${schema}.monitoring_decisions (
  model_name STRING NOT NULL,
  model_version STRING NOT NULL COMMENT 'Champion version the batch was scored with',
  batch_id STRING NOT NULL,
  decision STRING NOT NULL COMMENT 'satisfactory, retrain or alert',
  rule STRING NOT NULL COMMENT 'The rule that fired (or none)',
  inputs STRING NOT NULL COMMENT 'The numbers the rule looked at, as JSON',
  pipeline_run_id STRING NOT NULL,
  decided_at TIMESTAMP NOT NULL
) USING DELTA
COMMENT 'Decisions of the execution pipeline';

ALTER TABLE ${catalog}.${schema}.monitoring_decisions ADD CONSTRAINT decision_values
  CHECK (decision IN ('satisfactory', 'retrain', 'alert'));
