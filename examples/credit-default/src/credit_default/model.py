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
