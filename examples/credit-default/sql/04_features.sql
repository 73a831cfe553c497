-- features (Feature Store): one row per entity and event time. On Unity Catalog a Delta
-- table with a primary key is a feature table (${primary_key} is that key there).
CREATE TABLE IF NOT EXISTS ${catalog}.${schema}.features (
  ${id_column} STRING NOT NULL,
  ${timestamp_column} TIMESTAMP NOT NULL,
  ${feature_columns},
  batch_id STRING NOT NULL,
  computed_at TIMESTAMP NOT NULL${primary_key}
) USING DELTA
COMMENT 'features: model inputs keyed by ${id_column} and ${timestamp_column}';
