"""Names per environment come from conf/project.yml, in one place."""

import pytest

from credit_default.settings import ConfigError, load_settings


def test_local_names_use_the_session_catalog():
    settings = load_settings("local")
    assert settings.table("metrics") == f"spark_catalog.{settings.schema}.metrics"
    assert settings.model_name == settings.project["registered_model_name"]


@pytest.mark.parametrize("env", ["dev", "uat", "prod"])
def test_databricks_names_are_three_level_unity_catalog_names(env):
    settings = load_settings(env)
    assert settings.model_name == f"{settings.catalog}.{settings.schema}.{settings.project['registered_model_name']}"
    assert settings.landing_path.startswith("/Volumes/")


def test_unknown_environment_is_one_clear_line():
    with pytest.raises(ConfigError, match="unknown environment 'qa'"):
        load_settings("qa")


def test_broken_yaml_names_the_file(tmp_path, settings):
    import shutil

    conf = tmp_path / "conf"
    shutil.copytree(settings.conf_dir, conf)
    (conf / "training.yml").write_text("gate: [unclosed\n")
    with pytest.raises(ConfigError, match="training.yml"):
        load_settings("local", conf)
