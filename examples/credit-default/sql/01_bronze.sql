-- ingest (Coleta): labelled rows exactly as the data source delivered them.
-- One batch_id per delivered batch; a rerun replaces its batch, never duplicates it.
CREATE TABLE IF NOT EXISTS ${catalog}.${schema}.bronze (
  ${source_columns},
  batch_id STRING NOT NULL COMMENT 'Delivery the row came in',
  ingested_at TIMESTAMP NOT NULL COMMENT 'When ingest wrote it'
) USING DELTA
COMMENT 'ingest: raw labelled rows, as received';
