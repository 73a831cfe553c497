"""A registered model carries its pip requirements, pinned to the versions it was trained with,
including the libraries of every step inside it (MLflow would otherwise infer them slowly)."""

from importlib.metadata import version

from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from {{ cookiecutter.__package_name }}.training import model_requirements


def test_requirements_pin_the_installed_versions_of_what_loads_the_model():
    requirements = model_requirements(make_pipeline(StandardScaler(), HistGradientBoostingClassifier()))
    for name in ("scikit-learn", "cloudpickle", "numpy", "pandas"):
        assert f"{name}=={version(name)}" in requirements
    assert len(requirements) == len(set(requirements)) == 4


def test_an_object_without_parameters_still_gets_what_loads_it():
    assert model_requirements(object()) == sorted(f"{n}=={version(n)}" for n in ("cloudpickle", "numpy", "pandas"))
