-- The schema holding every table of this model's loop.
-- Placeholders ${...} are filled by tables.py from conf/project.yml and the column
-- declarations in data_source.py / features.py; every statement is idempotent.
CREATE SCHEMA IF NOT EXISTS ${catalog}.${schema}
COMMENT 'MLOps loop of ${registered_model_name}: bronze/silver/features, metrics, decisions, runs';
