{%- if cookiecutter.model_library == "spark-ml" -%}
"""EDIT ME (4 of 4) — the model (Treino).

``build_model`` returns an unfitted Spark ML estimator (``pyspark.ml``); the pipeline fits it on the
cluster from the pinned training set as a Spark DataFrame (never collected to the driver), logs it
to MLflow with the Spark flavour and registers it. The default is gradient-boosted trees behind
an encoder of the categorical features and an imputer of missing numbers. Hyper-parameters come
from ``conf/training.yml`` → ``model.params``, so changing them is a reviewed, versioned change.

Any ``pyspark.ml`` estimator works if its fitted model keeps Spark ML's default output columns:
``prediction`` and, for classification, ``probability`` (the positive class is index 1). Return a
scikit-learn estimator instead and the pipeline trains it on the driver (see modelling.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pyspark.ml import Pipeline
from pyspark.ml.classification import GBTClassifier
from pyspark.ml.feature import Imputer, OneHotEncoder, StringIndexer, VectorAssembler
from pyspark.ml.regression import GBTRegressor

from .features import CATEGORICAL_FEATURES, FEATURE_COLUMNS

if TYPE_CHECKING:
    from .settings import Settings


def build_model(settings: Settings, params: dict[str, Any]) -> Pipeline:
    categorical = list(CATEGORICAL_FEATURES)
    numeric = [name for name in FEATURE_COLUMNS if name not in CATEGORICAL_FEATURES]
    stages, inputs = [], []
    if categorical:  # a category never seen in training (or missing) gets a slot of its own
        indexed = [f"{name}__index" for name in categorical]
        stages += [StringIndexer(inputCols=categorical, outputCols=indexed, handleInvalid="keep"),
                   OneHotEncoder(inputCols=indexed, outputCols=[f"{name}__onehot" for name in categorical])]
        inputs += [f"{name}__onehot" for name in categorical]
    if numeric:  # trees in Spark ML take no missing value: the training median stands in
        stages.append(Imputer(inputCols=numeric, outputCols=[f"{name}__imputed" for name in numeric],
                              strategy="median"))
        inputs += [f"{name}__imputed" for name in numeric]
    stages.append(VectorAssembler(inputCols=inputs, outputCol="features__vector"))
    estimator = GBTClassifier if settings.is_classification else GBTRegressor
    return Pipeline(stages=[*stages, estimator(featuresCol="features__vector", labelCol=settings.target_column,
                                               seed=settings.seed, **params)])
{%- else -%}
"""EDIT ME (4 of 4) — the model (Treino).

``build_model`` returns an unfitted scikit-learn estimator; the pipeline fits it on the training
set, logs it to MLflow and registers it. The default is gradient-boosted trees (scikit-learn's
histogram-based implementation, the family of XGBoost/LightGBM, without the extra dependency)
behind a one-hot encoder for the categorical features. Hyper-parameters come from
``conf/training.yml`` → ``model.params``, so changing them is a reviewed, versioned change.

Anything scikit-learn compatible works (``fit``/``predict``, plus ``predict_proba`` for
classification), e.g. ``xgboost.XGBClassifier`` — add the package to pyproject.toml.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder

from .features import CATEGORICAL_FEATURES, FEATURE_COLUMNS

if TYPE_CHECKING:
    from .settings import Settings


def build_model(settings: Settings, params: dict[str, Any]) -> Pipeline:
    categorical = list(CATEGORICAL_FEATURES)
    numeric = [name for name in FEATURE_COLUMNS if name not in CATEGORICAL_FEATURES]
    encode = ColumnTransformer(
        [
            ("categories", OneHotEncoder(handle_unknown="ignore", sparse_output=False), categorical),
            ("numbers", "passthrough", numeric),
        ]
    )
    estimator = HistGradientBoostingClassifier if settings.is_classification else HistGradientBoostingRegressor
    return Pipeline([("encode", encode), ("model", estimator(random_state=settings.seed, **params))])
{%- endif %}
