-- clean (Limpeza): rows that failed at least one expectation, with the rules they failed.
-- The raw row is kept whole as JSON so nothing is lost and a fixed rule can replay it.
CREATE TABLE IF NOT EXISTS ${catalog}.${schema}.quarantine (
  ${id_column} STRING,
  batch_id STRING NOT NULL,
  failed_rules ARRAY<STRING> NOT NULL COMMENT 'Names of the expectations the row failed',
  record STRING NOT NULL COMMENT 'The bronze row as JSON',
  quarantined_at TIMESTAMP NOT NULL
) USING DELTA
COMMENT 'clean: rows held back by the expectations';
