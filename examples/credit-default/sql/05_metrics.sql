-- Every measured number of the loop, one row each: data quality (clean), holdout metrics
-- and the gate (evaluate), production performance, drift and quality (metrics).
-- Stages only append here (one commit per stage, however many rows); a rerun appends again and
-- the view metrics below keeps the newest row per natural key (${metrics_key};
-- '' where a part does not apply).
CREATE TABLE IF NOT EXISTS ${catalog}.${schema}.metrics_log (
  model_name STRING NOT NULL,
  stage STRING NOT NULL COMMENT 'Stage that measured it: clean, evaluate, metrics',
  model_version STRING NOT NULL COMMENT 'Registered version measured, or empty',
  batch_id STRING NOT NULL COMMENT 'Batch measured, or empty for a training set',
  dataset STRING NOT NULL COMMENT 'What was measured: bronze, holdout, champion_on_holdout, batch, production, labels',
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
COMMENT 'Every metric row ever written (append-only): read the view metrics';

ALTER TABLE ${catalog}.${schema}.metrics_log ADD CONSTRAINT metrics_comparison
  CHECK (comparison IS NULL OR comparison IN ('>=', '<='));

CREATE OR REPLACE VIEW ${catalog}.${schema}.metrics
COMMENT 'Metrics of the loop, the newest row per natural key: read by dashboards and the decision rules'
AS SELECT model_name, stage, model_version, batch_id, dataset, metric_name, feature, metric_value, threshold,
  comparison, passed, details, data_version, pipeline_run_id, recorded_at
FROM (
  SELECT *, ROW_NUMBER() OVER (PARTITION BY ${metrics_key} ORDER BY ${metrics_order} DESC) AS recency
  FROM ${catalog}.${schema}.metrics_log
)
WHERE recency = 1;
