-- Every measured number of the loop, one row each: data quality (clean), holdout metrics
-- and the gate (evaluate), production performance, drift and quality (metrics).
-- Natural key: model_name, stage, model_version, batch_id, dataset, metric_name, feature
-- ('' where a part does not apply), written with MERGE so a rerun never duplicates.
CREATE TABLE IF NOT EXISTS ${catalog}.${schema}.metrics (
  model_name STRING NOT NULL,
  stage STRING NOT NULL COMMENT 'Stage that measured it: clean, evaluate, metrics',
  model_version STRING NOT NULL COMMENT 'Registered version measured, or empty',
  batch_id STRING NOT NULL COMMENT 'Batch measured, or empty for a training set',
  dataset STRING NOT NULL COMMENT 'What was measured: bronze, holdout, champion_on_holdout, batch',
  metric_name STRING NOT NULL,
  feature STRING NOT NULL COMMENT 'Feature or rule the metric is about, or empty',
  metric_value DOUBLE,
  threshold DOUBLE,
  comparison STRING COMMENT '>= or <=: how metric_value must relate to threshold',
  passed BOOLEAN,
  details STRING COMMENT 'Why, in words (e.g. the gate failure reason)',
  data_version STRING COMMENT 'Delta versions the measure was taken on',
  pipeline_run_id STRING NOT NULL,
  recorded_at TIMESTAMP NOT NULL
) USING DELTA
COMMENT 'Metrics of the loop, read by Data Factory and dashboards';

ALTER TABLE ${catalog}.${schema}.metrics ADD CONSTRAINT metrics_comparison
  CHECK (comparison IS NULL OR comparison IN ('>=', '<='));
