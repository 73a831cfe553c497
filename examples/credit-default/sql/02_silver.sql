-- clean (Limpeza): rows that met every expectation in cleaning.py.
CREATE TABLE IF NOT EXISTS ${catalog}.${schema}.silver (
  ${source_columns},
  batch_id STRING NOT NULL,
  cleaned_at TIMESTAMP NOT NULL
) USING DELTA
COMMENT 'clean: rows that passed every expectation';
