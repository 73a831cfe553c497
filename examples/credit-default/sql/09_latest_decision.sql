-- The reference point Data Factory monitors: the newest decision per model.
CREATE OR REPLACE VIEW ${catalog}.${schema}.latest_decision AS
SELECT model_name, model_version, batch_id, decision, rule, inputs, pipeline_run_id, decided_at
FROM (
  SELECT *, ROW_NUMBER() OVER (PARTITION BY model_name ORDER BY decided_at DESC) AS recency
  FROM ${catalog}.${schema}.monitoring_decisions_log
)
WHERE recency = 1;
