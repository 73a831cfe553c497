"""A Spark ML model goes through the same loop as a scikit-learn one, without collecting its data:
the split and the drift baseline computed in Spark equal the pandas ones, its batches are scored
by its own ``transform`` with the columns the inference log takes, and it is logged with MLflow's
Spark flavour and loaded back through the local engine. The model is built here, not by
model.py: a project may hold versions of either library whichever one model.py returns now."""

from __future__ import annotations

import mlflow
import numpy as np
import pandas as pd
import pytest
from pyspark.ml import Pipeline
from pyspark.ml.classification import LogisticRegression
from pyspark.ml.feature import Imputer, VectorAssembler
from pyspark.ml.regression import LinearRegression
from pyspark.sql import functions as F

from credit_default import cleaning, features, inference, modelling, simulator
from credit_default.monitoring import baseline, drift
from credit_default.runtime.session import half_of, size_in_bytes
from credit_default.training import collect, collect_limit, split_out_of_time, split_out_of_time_in_spark

pytestmark = pytest.mark.spark

NUMERIC = [name for name in features.FEATURE_COLUMNS if name not in features.CATEGORICAL_FEATURES]


@pytest.fixture(scope="module")
def labelled(spark, settings):
    """A clean simulated batch as model inputs with its target: Spark, and the same rows in pandas."""
    raw = simulator.generate(settings, 1, 2_000, simulator.Scenario(dirty_fraction=0.0))
    inputs = features.build_features(
        cleaning.standardize(spark.createDataFrame(raw)).withColumn("batch_id", F.lit("b0001")), settings)
    target = spark.createDataFrame(raw[[settings.id_column, settings.target_column]])
    frame = inputs.join(target, settings.id_column).cache()
    return frame, frame.toPandas()


@pytest.fixture(scope="module")
def fitted(labelled, settings):
    """A small Spark ML pipeline over the numeric features, fitted on the batch: logistic or linear
    regression, whose training summary modelling.fit drops (see without_training_summary)."""
    frame, _ = labelled
    imputed = [f"{name}__imputed" for name in NUMERIC]
    learner = (LogisticRegression(maxIter=20) if settings.is_classification else LinearRegression(maxIter=20))
    pipeline = Pipeline(stages=[Imputer(inputCols=NUMERIC, outputCols=imputed, strategy="median"),
                                VectorAssembler(inputCols=imputed, outputCol="features__vector"),
                                learner.setFeaturesCol("features__vector").setLabelCol(settings.target_column)])
    return modelling.without_training_summary(pipeline.fit(frame))


def test_the_library_is_told_by_the_estimator(fitted):
    from sklearn.dummy import DummyRegressor

    assert modelling.library_of(fitted) == modelling.SPARK_ML
    assert modelling.library_of(Pipeline(stages=[])) == modelling.SPARK_ML
    assert modelling.library_of(DummyRegressor()) == modelling.SCIKIT_LEARN


def test_the_split_in_spark_is_the_pandas_split(labelled, settings):
    frame, rows = labelled
    train, holdout, count = split_out_of_time_in_spark(frame, settings)
    expected_train, expected_holdout = split_out_of_time(rows, settings)
    assert count == len(rows)
    key = settings.id_column
    assert sorted(r[key] for r in holdout.select(key).collect()) == sorted(expected_holdout[key])
    assert sorted(r[key] for r in train.select(key).collect()) == sorted(expected_train[key])


def test_a_batch_is_scored_by_the_models_own_transform(labelled, fitted, settings):
    frame, _ = labelled
    inputs = frame.drop(settings.target_column)
    scored = inference.score(inputs, inference.LoadedModel("m", "1", fitted), settings)
    assert scored.columns == [*inputs.columns, "prediction", "probability"]
    rows = scored.toPandas()
    assert len(rows) == inputs.count()
    if settings.is_classification:
        assert rows["probability"].between(0, 1).all()
        assert (rows["prediction"] == (rows["probability"] > 0.5).astype(float)).all()
    else:
        assert rows["prediction"].notna().all() and rows["probability"].isna().all()


def test_the_baseline_computed_in_spark_matches_the_one_in_pandas(labelled, fitted, settings):
    frame, _ = labelled
    scored = modelling.transform(fitted, frame, settings).cache()
    column = "probability" if settings.is_classification else "prediction"
    rows = scored.toPandas()
    expected = baseline.compute(rows, rows[column].to_numpy(), "1", 10)
    found = baseline.compute_in_spark(scored, column, "1", 10)
    assert found.rows == expected.rows
    for name, shares in expected.categorical.items():
        assert found.categorical[name] == pytest.approx(shares), name
    # Continuous values: the same quantile edges, to the approximation's accuracy. (Integer ones
    # differ by design: numpy interpolates between two values, Spark returns one of them.)
    for name in [n for n, kind in features.FEATURE_COLUMNS.items() if kind == "DOUBLE"] + [baseline.PREDICTION]:
        values = rows[column if name == baseline.PREDICTION else name].dropna()
        spread = float(values.max() - values.min()) or 1.0
        assert len(found.numeric[name].edges) == len(expected.numeric[name].edges), name
        assert np.allclose(found.numeric[name].edges, expected.numeric[name].edges, atol=0.01 * spread), name
    # The holdout measured against its own baseline does not drift at all.
    for measured in drift.measure(scored, found, column, 0.25, 0.1, 0.25):
        assert measured.psi == pytest.approx(0, abs=1e-9) and not measured.drifted, measured.feature
        assert (measured.ks_statistic or 0.0) == pytest.approx(0, abs=1e-9), measured.feature


def test_logged_with_the_spark_flavour_and_loaded_back_through_the_engine(labelled, fitted, settings, initialised,
                                                                          tmp_path):
    frame, rows = labelled
    example = rows[list(features.FEATURE_COLUMNS)].head(3)
    experiment = mlflow.create_experiment(f"spark-flavour-{tmp_path.name}", artifact_location=tmp_path.as_uri())
    with mlflow.start_run(experiment_id=experiment) as run:
        info = modelling.log(fitted, example, settings, registered_model_name=None)
    uri = f"runs:/{run.info.run_id}/model"
    assert set(mlflow.models.get_model_info(uri).flavors) == {"spark", "python_function"}
    assert mlflow.models.get_model_info(uri).signature.inputs.input_names() == list(features.FEATURE_COLUMNS)
    assert info.model_uri
    loaded = modelling.load(uri)
    again = modelling.transform(loaded, frame, settings).select("prediction").toPandas()
    before = modelling.transform(fitted, frame, settings).select("prediction").toPandas()
    np.testing.assert_allclose(again["prediction"], before["prediction"])
    pd.testing.assert_index_equal(again.columns, before.columns)


def test_a_training_set_past_the_collect_limit_is_refused_before_anything_is_collected(spark, settings):
    """A scikit-learn model is fitted on a pandas frame collected into the driver. A set larger than
    half of what one collect may take is refused in one line instead: a 10,000,000-row set killed
    the engine's JVM mid-collect (docs/performance.md)."""
    frame = spark.createDataFrame(simulator.generate(settings, 1, 500))
    assert len(collect(frame, limit_bytes=2**30)) == 500
    assert len(collect(frame, limit_bytes=None)) == 500  # a cluster with no collect limit
    with pytest.raises(ValueError) as refused:
        collect(frame, limit_bytes=10_000)
    message = str(refused.value)
    assert "\n" not in message and "(500 rows" in message and "Spark ML" in message
    # The engine lets one collect take half the driver's memory, and training half of that.
    memory = (settings.project.get("local") or {}).get("driver_memory") or "1g"
    assert spark.conf.get("spark.driver.maxResultSize") == half_of(memory)
    assert collect_limit(spark) == size_in_bytes(memory) // 4
    assert [half_of(size) for size in ("1g", "4096m", "8gb", "2G")] == ["512m", "2048m", "4096m", "1024m"]
