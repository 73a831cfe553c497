-- train: the reference distributions drift is measured against, one set per registered version,
-- computed on the version's holdout (the newest data it was validated on). Rows per feature:
--   kind bin      quantile bin of a numeric feature or of the prediction (PSI): bin i holds
--                 values up to upper_edge, the last bin has no upper edge, bin -1 holds nulls
--   kind cdf      share of values up to upper_edge, at the percentiles (KS statistic)
--   kind category share of one category of a categorical feature (PSI, Jensen-Shannon)
CREATE TABLE IF NOT EXISTS ${catalog}.${schema}.drift_baselines (
  model_name STRING NOT NULL,
  model_version STRING NOT NULL,
  feature STRING NOT NULL COMMENT 'Feature name, or prediction',
  kind STRING NOT NULL COMMENT 'bin, cdf or category',
  bin INT NOT NULL,
  upper_edge DOUBLE,
  category STRING,
  proportion DOUBLE NOT NULL,
  rows BIGINT NOT NULL COMMENT 'Rows the baseline was computed on',
  recorded_at TIMESTAMP NOT NULL
) USING DELTA
COMMENT 'Drift baselines of every registered version';

ALTER TABLE ${catalog}.${schema}.drift_baselines ADD CONSTRAINT baseline_kinds
  CHECK (kind IN ('bin', 'cdf', 'category'));
