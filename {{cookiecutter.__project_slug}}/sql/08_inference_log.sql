-- predict (Predição, Gravar os dados): every scored row with the model version that scored it
-- and the pipeline run that scored it. Rerunning a batch replaces its rows.
CREATE TABLE IF NOT EXISTS ${catalog}.${schema}.inference_log (
  ${id_column} STRING NOT NULL,
  ${timestamp_column} TIMESTAMP NOT NULL,
  ${feature_columns},
  prediction DOUBLE NOT NULL,
  probability DOUBLE COMMENT 'Probability of the positive class (classifiers)',
  model_name STRING NOT NULL,
  model_version STRING NOT NULL,
  batch_id STRING NOT NULL,
  pipeline_run_id STRING NOT NULL,
  scored_at TIMESTAMP NOT NULL
) USING DELTA
COMMENT 'predict: inference log';
