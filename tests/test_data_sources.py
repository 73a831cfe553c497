"""The table data source a render gets with `data_source=table`, on real Spark and Delta: the
render's own data_source.py lists the batches of a table by its batch column, reads a batch
without its target, and returns labels only for a batch with a labelled row; what it reads meets
the render's schema contract. (The files source is the landing folder every render has: its own
suite tests it, tests/unit/test_landing.py.)"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent('''
    import json
    import pandas as pd
    from {package} import data_source, simulator, sources
    from {package}.quality import conform
    from {package}.runtime.session import get_spark
    from {package}.settings import load_settings

    settings = load_settings("local")
    spark = get_spark(settings)
    spark.sql(f"CREATE SCHEMA IF NOT EXISTS {{settings.catalog}}.{{settings.schema}}")
    labelled = simulator.generate(settings, 1, 40).assign(batch="2026-01")
    waiting = simulator.generate(settings, 2, 30).assign(batch="2026-02")
    target = settings.target_column
    nullable = "Int32" if settings.is_classification else "Float64"
    waiting[target] = pd.array([None] * len(waiting), dtype=nullable)  # labels not known yet
    rows = pd.concat([labelled.astype({{target: nullable}}), waiting], ignore_index=True)
    spark.createDataFrame(rows).write.format("delta").saveAsTable(settings.table(data_source.SOURCE_TABLE))

    batches = data_source.list_batches(spark, settings)
    read = {{b: conform(data_source.read_batch(spark, settings, b), sources.source_columns(settings), b).count()
             for b in batches}}
    keys = {{settings.id_column: "STRING", settings.timestamp_column: "TIMESTAMP"}}
    labels = conform(data_source.read_labels(spark, settings, "2026-01"),
                     {{**keys, target: sources.target_type(settings)}}, "labels")
    print(json.dumps({{"batches": batches, "rows": read, "labels": labels.count(),
                      "label_columns": labels.columns,
                      "waiting": data_source.read_labels(spark, settings, "2026-02") is None}}))
''')


def test_the_table_source_reads_batches_by_their_column(cookies, tmp_path):
    result = cookies.bake(extra_context={"data_source": "table"})
    assert result.exit_code == 0, result.exception
    project = result.project_path
    package = result.context["__package_name"]
    env = {**os.environ, "PYTHONPATH": str(project / "src"), "MLOPS_LOCAL_DIR": str(tmp_path / "state"),
           "MLOPS_ENGINE": "off"}
    done = subprocess.run([sys.executable, "-c", SCRIPT.format(package=package)], cwd=project, env=env,
                          capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert found["batches"] == ["2026-01", "2026-02"]
    assert found["rows"] == {"2026-01": 40, "2026-02": 30}
    assert found["labels"] == 40 and found["waiting"] is True
    assert found["label_columns"] == [result.context["id_column"], result.context["timestamp_column"],
                                      result.context["target_column"]]
