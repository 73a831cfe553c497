"""The hooks: answers are checked before anything is written, and read as data.

Bad answers must stop cookiecutter with a FailedHookException, one
``ERROR: <field>: <problem>`` line per problem on stderr, no traceback from the
hook and no project folder left behind.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from cookiecutter.exceptions import FailedHookException
from cookiecutter.main import cookiecutter
from cookiecutter.utils import create_env_with_context

from conftest import (
    CONTEXT_PLACEHOLDER,
    HOOKS_DIR,
    NON_DEFAULT_ANSWERS,
    ROOT,
    SUPPORTED,
    answers,
    files_under,
    load_hook,
    snapshot,
)

CLASSIFICATION_METRICS = "roc_auc, f1, precision, recall, accuracy, log_loss"
STOPPED = "Stopping generation because pre_gen_project hook script didn't exit successfully"
PWNED = "pwned"

# (answers, the field that must be reported), each with a readable id.
INVALID_ANSWERS = [
    # metrics of the other problem type
    pytest.param({"primary_metric": "rmse"}, "primary_metric", id="classification-with-rmse"),
    pytest.param({"problem_type": "regression", "primary_metric": "roc_auc", "primary_metric_threshold": "0.7"}, "primary_metric", id="regression-with-roc_auc"),
    pytest.param({"primary_metric": "auc"}, "primary_metric", id="unknown-metric"),
    # thresholds that are not numbers
    pytest.param({"primary_metric_threshold": "abc"}, "primary_metric_threshold", id="threshold-abc"),
    pytest.param({"primary_metric_threshold": "nan"}, "primary_metric_threshold", id="threshold-nan"),
    pytest.param({"primary_metric_threshold": "inf"}, "primary_metric_threshold", id="threshold-inf"),
    pytest.param({"primary_metric_threshold": "1e999"}, "primary_metric_threshold", id="threshold-overflows"),
    pytest.param({"primary_metric_threshold": ""}, "primary_metric_threshold", id="threshold-blank"),
    pytest.param({"primary_metric_threshold": "0,7"}, "primary_metric_threshold", id="threshold-decimal-comma"),
    # thresholds out of range
    pytest.param({"primary_metric_threshold": "1.5"}, "primary_metric_threshold", id="roc_auc-1.5"),
    pytest.param({"primary_metric_threshold": "0"}, "primary_metric_threshold", id="roc_auc-0"),
    pytest.param({"primary_metric": "log_loss", "primary_metric_threshold": "0"}, "primary_metric_threshold", id="log_loss-0"),
    pytest.param({"problem_type": "regression", "primary_metric_threshold": "-1"}, "primary_metric_threshold", id="rmse-negative"),
    pytest.param({"problem_type": "regression", "primary_metric": "r2", "primary_metric_threshold": "1.2"}, "primary_metric_threshold", id="r2-above-1"),
    pytest.param({"problem_type": "regression", "primary_metric": "mape", "primary_metric_threshold": "0"}, "primary_metric_threshold", id="mape-0"),
    # secondary thresholds
    pytest.param({"secondary_thresholds": "f1"}, "secondary_thresholds", id="secondary-without-value"),
    pytest.param({"secondary_thresholds": "f1=x"}, "secondary_thresholds", id="secondary-not-a-number"),
    pytest.param({"secondary_thresholds": "rmse=3"}, "secondary_thresholds", id="secondary-regression-metric-for-classification"),
    pytest.param({"secondary_thresholds": "f1=0.3,f1=0.4"}, "secondary_thresholds", id="secondary-repeated"),
    pytest.param({"secondary_thresholds": "roc_auc=0.8"}, "secondary_thresholds", id="secondary-is-the-primary"),
    pytest.param({"secondary_thresholds": "recall=1.2"}, "secondary_thresholds", id="secondary-out-of-range"),
    pytest.param({"secondary_thresholds": "recall=0.4=0.5"}, "secondary_thresholds", id="secondary-two-equals"),
    # other numbers
    pytest.param({"min_improvement_over_champion": "-0.01"}, "min_improvement_over_champion", id="min-improvement-negative"),
    pytest.param({"min_improvement_over_champion": "1"}, "min_improvement_over_champion", id="min-improvement-1-for-bounded-metric"),
    pytest.param({"min_improvement_over_champion": "some"}, "min_improvement_over_champion", id="min-improvement-not-a-number"),
    pytest.param({"drift_psi_threshold": "0"}, "drift_psi_threshold", id="psi-0"),
    pytest.param({"drift_psi_threshold": "10.5"}, "drift_psi_threshold", id="psi-above-10"),
    pytest.param({"schedule_hour_utc": "24"}, "schedule_hour_utc", id="hour-24"),
    pytest.param({"schedule_hour_utc": "6am"}, "schedule_hour_utc", id="hour-6am"),
    pytest.param({"schedule_hour_utc": "-1"}, "schedule_hour_utc", id="hour-negative"),
    pytest.param({"schedule_hour_utc": "6.5"}, "schedule_hour_utc", id="hour-fraction"),
    # names
    pytest.param({"model_display_name": "123 model"}, "__package_name", id="package-starts-with-digit"),
    pytest.param({"model_display_name": "Class"}, "__package_name", id="package-is-a-keyword"),
    pytest.param({"model_display_name": "JSON"}, "__package_name", id="package-shadows-stdlib"),
    pytest.param({"model_display_name": "m" * 61}, "__package_name", id="package-too-long"),
    pytest.param({"model_display_name": 'Credit "Default"'}, "model_display_name", id="display-name-double-quotes"),
    pytest.param({"model_display_name": "Credit\\Default"}, "model_display_name", id="display-name-backslash"),
    pytest.param({"model_display_name": "Credit\nDefault"}, "model_display_name", id="display-name-newline"),
    pytest.param({"__package_name": "my-pkg"}, "__package_name", id="package-override-with-hyphen"),
    pytest.param({"__registered_model_name": "my-model"}, "__registered_model_name", id="registered-model-with-hyphen"),
    pytest.param({"__registered_model_name": "select"}, "__registered_model_name", id="registered-model-reserved"),
    pytest.param({"owner_team": ""}, "owner_team", id="owner-team-blank"),
    pytest.param({"owner_team": "team; rm -rf /"}, "owner_team", id="owner-team-punctuation"),
    # columns
    pytest.param({"target_column": "has default"}, "target_column", id="column-with-space"),
    pytest.param({"id_column": "1st_id"}, "id_column", id="column-starts-with-digit"),
    pytest.param({"timestamp_column": "event-ts"}, "timestamp_column", id="column-with-hyphen"),
    pytest.param({"target_column": "select"}, "target_column", id="column-select"),
    pytest.param({"timestamp_column": "order"}, "timestamp_column", id="column-order"),
    pytest.param({"id_column": "Group"}, "id_column", id="column-group-any-case"),
    pytest.param({"id_column": "defaulted"}, "id_column", id="column-id-equals-target"),
    pytest.param({"timestamp_column": "CUSTOMER_ID"}, "timestamp_column", id="column-duplicate-other-case"),
    pytest.param({"id_column": "batch_id"}, "id_column", id="column-batch_id"),
    pytest.param({"target_column": "prediction"}, "target_column", id="column-prediction"),
    pytest.param({"timestamp_column": "scored_at"}, "timestamp_column", id="column-scored_at"),
    pytest.param({"target_column": ""}, "target_column", id="column-blank"),
    # Unity Catalog names
    pytest.param({"catalog_dev": "my-catalog"}, "catalog_dev", id="catalog-with-hyphen"),
    pytest.param({"catalog_prod": "table"}, "catalog_prod", id="catalog-reserved"),
    pytest.param({"catalog_uat": ""}, "catalog_uat", id="catalog-blank"),
    pytest.param({"schema_name": "select"}, "schema_name", id="schema-select"),
    pytest.param({"schema_name": "risk model"}, "schema_name", id="schema-with-space"),
    # names of the serving answer
    pytest.param({"serving": "container", "__kubernetes_name": "Credit_Default"}, "__kubernetes_name",
                 id="kubernetes-name-override-with-underscore"),
    pytest.param({"serving": "container", "__kubernetes_name": "k" * 53}, "__kubernetes_name",
                 id="kubernetes-name-too-long"),
    # online serving answers from a scikit-learn model only
    pytest.param({"model_library": "spark-ml", "serving": "databricks"}, "serving", id="spark-ml-with-an-endpoint"),
    pytest.param({"model_library": "spark-ml", "serving": "container"}, "serving", id="spark-ml-in-a-container"),
    # a display name whose derived names cannot work: one line, on the first of them
    pytest.param({"model_display_name": "null"}, "__registered_model_name", id="display-name-sql-reserved"),
    pytest.param({"model_display_name": "con"}, "__project_slug", id="display-name-windows-device"),
]


def assert_nothing_written(output_dir):
    leftovers = files_under(output_dir) + [path for path in Path(output_dir).rglob("*") if path.is_dir() and not path.name.startswith("bake")]
    assert leftovers == [], f"a failed generation left files behind: {leftovers}"


def error_lines(text):
    return [line for line in text.splitlines() if line.startswith("ERROR: ")]


# --------------------------------------------------------------------------- #
# pre_gen_project through the cookiecutter API (pytest-cookies)
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize(("extra_context", "field"), INVALID_ANSWERS)
def test_invalid_answer_stops_generation(cookies, baked_output, capfd, extra_context, field):
    result = cookies.bake(extra_context=extra_context)

    assert result.exit_code != 0
    assert isinstance(result.exception, FailedHookException), repr(result.exception)
    assert_nothing_written(baked_output)
    err = capfd.readouterr().err
    assert any(line.startswith(f"ERROR: {field}: ") for line in error_lines(err)), err
    assert "Traceback" not in err


@pytest.mark.parametrize("extra_context", [*SUPPORTED, pytest.param(NON_DEFAULT_ANSWERS, id="non-default")])
def test_valid_answers_pass_validation(extra_context):
    hook = load_hook("pre_gen_project", answers(extra_context))
    assert hook.validate(hook.CONTEXT) == []


@pytest.mark.parametrize(
    "extra_context",
    [
        pytest.param({"secondary_thresholds": " recall = 0.4 , precision=0.3 ,"}, id="secondary-with-spaces"),
        pytest.param({"problem_type": "regression", "primary_metric": "r2", "primary_metric_threshold": "-0.5"}, id="r2-negative"),
        pytest.param({"problem_type": "regression", "min_improvement_over_champion": "100"}, id="min-improvement-unbounded-metric"),
        pytest.param({"primary_metric_threshold": "1", "drift_psi_threshold": "10", "schedule_hour_utc": "0"}, id="upper-and-lower-bounds"),
        pytest.param({"primary_metric_threshold": ".75", "drift_psi_threshold": "2.5e-1"}, id="number-forms"),
        pytest.param({"model_display_name": "Modelo de Propensão (v2) & Co."}, id="display-name-unicode-punctuation"),
    ],
)
def test_edge_answers_are_accepted(extra_context):
    hook = load_hook("pre_gen_project", answers(extra_context))
    assert hook.validate(hook.CONTEXT) == []


def test_every_problem_is_collected():
    hook = load_hook(
        "pre_gen_project",
        answers({"primary_metric": "rmse", "schedule_hour_utc": "24", "catalog_prod": "my-catalog", "id_column": "batch_id"}),
    )
    fields = [field for field, _ in hook.validate(hook.CONTEXT)]
    assert fields == ["id_column", "primary_metric", "schedule_hour_utc", "catalog_prod"]


def test_primary_metric_message_names_the_choices():
    hook = load_hook("pre_gen_project", answers({"primary_metric": "rmse"}))
    assert [hook.format_problem(*problem) for problem in hook.validate(hook.CONTEXT)] == [
        f"ERROR: primary_metric: 'rmse' is not a classification metric; choose one of {CLASSIFICATION_METRICS}"
    ]


def test_rules_are_tables():
    hook = load_hook("pre_gen_project", answers())
    assert set(hook.METRIC_RANGES) == {metric for metrics in hook.METRICS.values() for metric in metrics}
    assert set(hook.CHOICES["problem_type"]) == set(hook.METRICS)
    assert {"select", "from", "where", "table", "order", "group", "by", "join"} <= hook.SPARK_SQL_RESERVED_WORDS


@pytest.mark.parametrize(
    ("display_name", "expected"),
    [
        pytest.param(
            "!!!",
            "ERROR: model_display_name: '!!!' may only hold letters, digits, single spaces and -_.,()&/+; not '!'",
            id="no-letters",
        ),
        pytest.param("   ", "ERROR: model_display_name: is blank; give the model a name", id="blank"),
        pytest.param("", "ERROR: model_display_name: is blank; give the model a name", id="empty"),
    ],
)
def test_a_display_name_without_letters_is_refused(cookies, baked_output, tmp_path, capfd, display_name, expected):
    """'!!!' and a blank name slugify to '': the project folder falls back to 'unnamed-model', so
    that cookiecutter reaches the hook (it would otherwise refuse, before any hook, to write into
    the output folder itself) and the hook names the real problem, in one line."""
    result = cookies.bake(extra_context={"model_display_name": display_name})
    assert result.exit_code != 0
    assert isinstance(result.exception, FailedHookException), repr(result.exception)
    assert_nothing_written(baked_output)
    assert error_lines(capfd.readouterr().err) == [expected]

    fresh_output = tmp_path / "fresh"
    with pytest.raises(FailedHookException):
        cookiecutter(str(ROOT), no_input=True, output_dir=str(fresh_output), extra_context={"model_display_name": display_name})
    assert not fresh_output.exists() or files_under(fresh_output) == []
    assert error_lines(capfd.readouterr().err) == [expected]


# --------------------------------------------------------------------------- #
# Answers are data, never code
# --------------------------------------------------------------------------- #

NASTY_STRINGS = [
    pytest.param("x'''); open('pwned','w'); ('''", id="triple-single-quotes"),
    pytest.param('x"""); open("pwned","w"); ("""', id="triple-double-quotes"),
    pytest.param("ends with a backslash \\", id="trailing-backslash"),
    pytest.param("\\'''\\\\'''", id="escaped-quotes"),
    pytest.param("\\u0027\\u0027\\u0027", id="escape-sequence-text"),
    pytest.param("line\nbreak\r\n\t{ } {{ }} {% %}", id="newlines-and-braces"),
    pytest.param("</script> & <b>é ção 日本</b>", id="html-and-unicode"),
]


@pytest.mark.parametrize("name", ["pre_gen_project", "post_gen_project"])
@pytest.mark.parametrize("nasty", NASTY_STRINGS)
def test_hook_reads_any_answer_as_data(tmp_path, monkeypatch, name, nasty):
    """Render the hook exactly as cookiecutter does; its CONTEXT must equal the answers."""
    monkeypatch.chdir(tmp_path)
    context = {"cookiecutter": {"model_display_name": nasty, "owner_team": nasty, "__package_name": nasty}}
    source = (HOOKS_DIR / f"{name}.py").read_text(encoding="utf-8")
    rendered = create_env_with_context(context).from_string(source).render(**context)

    namespace = {"__name__": f"{name}_rendered"}
    exec(compile(rendered, f"{name}.py", "exec"), namespace)

    assert namespace["CONTEXT"] == context["cookiecutter"]
    assert not (tmp_path / PWNED).exists()


@pytest.mark.parametrize("name", ["pre_gen_project", "post_gen_project"])
def test_hook_source_has_no_other_jinja(name):
    """Cookiecutter renders the whole hook with Jinja: only the CONTEXT line may be markup."""
    source = (HOOKS_DIR / f"{name}.py").read_text(encoding="utf-8")
    assert source.count("{{") == source.count(CONTEXT_PLACEHOLDER) == 1
    for marker in ("{%", "%}", "{#", "#}"):
        assert marker not in source


def test_injection_in_display_name_is_never_executed(cookies, tmp_path, monkeypatch, capfd):
    monkeypatch.chdir(tmp_path)
    result = cookies.bake(extra_context={"model_display_name": "x'''); open('pwned','w'); ('''"})

    assert result.exception is None or isinstance(result.exception, FailedHookException), repr(result.exception)
    assert not list(tmp_path.rglob(PWNED)), "an answer was executed"
    assert not (ROOT / PWNED).exists() and not (HOOKS_DIR / PWNED).exists()
    assert "Traceback" not in capfd.readouterr().err
    if result.exception is None:
        for path in result.project_path.rglob("*.py"):
            compile(path.read_text(encoding="utf-8"), str(path), "exec")


def test_quotes_backslashes_and_jinja_in_display_name_are_refused_cleanly(cookies, baked_output, capfd):
    # cookiecutter itself renders an --no-input answer as a template: {{ 7*7 }} becomes 49.
    result = cookies.bake(extra_context={"model_display_name": 'Credit """ \\ \'\'\' {{ 7*7 }}'})

    assert isinstance(result.exception, FailedHookException), repr(result.exception)
    assert_nothing_written(baked_output)
    err = capfd.readouterr().err
    assert error_lines(err) == [line for line in err.splitlines() if line.strip()]
    assert [line.split(":")[1].strip() for line in error_lines(err)] == ["model_display_name"]
    assert "49" in err and "Traceback" not in err


# --------------------------------------------------------------------------- #
# Private derived names can be overridden
# --------------------------------------------------------------------------- #


def test_private_names_can_be_overridden(cookies):
    result = cookies.bake(
        extra_context={"__project_slug": "custom-slug", "__package_name": "custom_pkg", "__registered_model_name": "custom_model"}
    )

    assert result.exit_code == 0 and result.exception is None, repr(result.exception)
    assert result.project_path.name == "custom-slug"
    assert (result.project_path / "src" / "custom_pkg").is_dir()
    assert result.context["__registered_model_name"] == "custom_model"


# --------------------------------------------------------------------------- #
# The real cookiecutter command line
# --------------------------------------------------------------------------- #


def cookiecutter_command():
    script = Path(sys.executable).with_name("cookiecutter")
    return [str(script)] if script.exists() else [sys.executable, "-m", "cookiecutter"]


def run_cli(tmp_path, *extra_context):
    output_dir = tmp_path / "out"
    output_dir.mkdir(exist_ok=True)
    config = tmp_path / "cookiecutter-config.yaml"
    config.write_text(f"cookiecutters_dir: {tmp_path / 'cc'}\nreplay_dir: {tmp_path / 'replay'}\n", encoding="utf-8")
    command = [*cookiecutter_command(), str(ROOT), "--no-input", "--config-file", str(config), "-o", str(output_dir), *extra_context]
    completed = subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=tmp_path, check=False)
    return completed, output_dir


def test_cli_reports_one_line_for_one_problem(tmp_path):
    completed, output_dir = run_cli(tmp_path, "primary_metric=rmse")

    assert completed.returncode != 0
    assert completed.stderr.splitlines() == [
        f"ERROR: primary_metric: 'rmse' is not a classification metric; choose one of {CLASSIFICATION_METRICS}"
    ]
    assert "Traceback" not in completed.stderr
    # cookiecutter's own report goes to stdout (in 2.7.1 with a traceback of its
    # FailedHookException, logged by cookiecutter itself, not by the hook).
    assert STOPPED in completed.stdout
    assert list(output_dir.iterdir()) == []


def test_cli_reports_one_line_per_problem(tmp_path):
    completed, output_dir = run_cli(
        tmp_path, "primary_metric=rmse", "schedule_hour_utc=24", "catalog_prod=my-catalog", "secondary_thresholds=f1=x"
    )

    assert completed.returncode != 0
    fields = [line.split(":")[1].strip() for line in completed.stderr.splitlines()]
    assert fields == ["primary_metric", "secondary_thresholds", "schedule_hour_utc", "catalog_prod"]
    assert all(line.startswith("ERROR: ") for line in completed.stderr.splitlines())
    assert "Traceback" not in completed.stderr
    assert list(output_dir.iterdir()) == []


def test_cli_renders_with_overridden_private_names(tmp_path):
    completed, output_dir = run_cli(tmp_path, "__project_slug=custom-slug", "__package_name=custom_pkg")

    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert (output_dir / "custom-slug" / "src" / "custom_pkg").is_dir()


def test_cli_invalid_choice_is_refused_before_the_hooks(tmp_path):
    """A choice outside the list is refused by cookiecutter itself (a ValueError).

    cookiecutter 2.7.1 does not catch that ValueError in its CLI, so the user sees
    a Python traceback ending in "ranking provided for choice variable
    problem_type, but the choices are ['classification', 'regression']."
    """
    completed, output_dir = run_cli(tmp_path, "problem_type=ranking")

    assert completed.returncode != 0
    assert "choices are ['classification', 'regression']" in completed.stderr
    assert list(output_dir.iterdir()) == []


# --------------------------------------------------------------------------- #
# post_gen_project
# --------------------------------------------------------------------------- #


def make_cd_variants(root):
    pipelines = root / "azure-pipelines"
    pipelines.mkdir(parents=True)
    (pipelines / "cd-gitflow.yml").write_text("gitflow\n", encoding="utf-8")
    (pipelines / "cd-trunk.yml").write_text("trunk\n", encoding="utf-8")
    (pipelines / "ci.yml").write_text("ci\n", encoding="utf-8")


@pytest.mark.parametrize("branching_model", ["gitflow", "trunk"])
def test_post_hook_keeps_the_chosen_cd_pipeline(tmp_path, branching_model):
    context = answers({"branching_model": branching_model})
    hook = load_hook("post_gen_project", context)
    make_cd_variants(tmp_path)

    hook.prune(tmp_path, context)
    pruned = snapshot(tmp_path)
    hook.prune(tmp_path, context)

    assert snapshot(tmp_path) == pruned
    assert sorted(path.name for path in (tmp_path / "azure-pipelines").iterdir()) == ["cd.yml", "ci.yml"]
    assert (tmp_path / "azure-pipelines" / "cd.yml").read_text(encoding="utf-8") == f"{branching_model}\n"


def test_post_hook_on_a_tree_without_variants_does_nothing(tmp_path):
    context = answers()
    hook = load_hook("post_gen_project", context)
    (tmp_path / "README.md").write_text("x\n", encoding="utf-8")
    before = snapshot(tmp_path)

    hook.prune(tmp_path, context)

    assert snapshot(tmp_path) == before


def test_post_hook_table_covers_every_choice():
    hook = load_hook("post_gen_project", answers())
    pre = load_hook("pre_gen_project", answers())
    assert set(hook.OPTION_FILES["branching_model"]) == {"gitflow", "trunk"}
    assert set(hook.OPTION_FILES["problem_type"]) == {"classification", "regression"}
    for variable in ("orchestrator", "data_source", "serving", "observability"):
        assert set(hook.OPTION_FILES[variable]) == set(pre.CHOICES[variable]), variable


@pytest.mark.parametrize("serving", ["databricks", "container"])
def test_a_long_display_name_still_gives_valid_serving_names(serving):
    """An 80-character display name derives a folder name the serving names must cut (its package
    name overridden: one has at most 60): the hook checks what the template's own filters give
    (local_extensions.py), and they give valid names."""
    context = answers({"model_display_name": "Modelo " + "m" * 73, "__package_name": "modelo", "serving": serving})
    hook = load_hook("pre_gen_project", context)
    assert hook.validate(hook.CONTEXT) == []
    rules = hook.name_rules(context)
    names = [rules.serving_endpoint_name(context["__project_slug"], env) for env in ("dev", "uat", "prod")]
    assert all(rules.SERVING_ENDPOINT_NAME.fullmatch(name) for name in names) and len(set(names)) == 3
    assert max(map(len, names)) == 63 and len({name.rsplit("-", 1)[0] for name in names}) == 1
    assert rules.KUBERNETES_NAME.fullmatch(context["__kubernetes_name"])


# --------------------------------------------------------------------------- #
# post_gen_project: the message printed once the project is generated
# --------------------------------------------------------------------------- #


def makefile_targets(makefile):
    return set(re.findall(r"^([A-Za-z0-9_.-]+):", makefile.read_text(encoding="utf-8"), flags=re.MULTILINE))


def next_step_commands(out):
    """The commands under "Next steps:", without their comments."""
    lines = out.split("Next steps:\n", 1)[1].split("\n\n", 1)[0].splitlines()
    return [line.split("   # ", 1)[0].strip() for line in lines]


@pytest.mark.parametrize("extra_context", [pytest.param({}, id="default"), pytest.param(NON_DEFAULT_ANSWERS, id="non-default")])
def test_post_hook_prints_the_next_steps(cookies, baked_output, monkeypatch, capfd, extra_context):
    # PWD is the user's shell folder; cookiecutter runs the hook inside the project.
    monkeypatch.setenv("PWD", str(baked_output))
    result = cookies.bake(extra_context=extra_context)

    assert result.exit_code == 0 and result.exception is None, repr(result.exception)
    project = result.project_path.resolve()
    out = capfd.readouterr().out
    assert f"Created the project folder {project}\n" in out

    commands = next_step_commands(out)
    after_init = "make init && make loop" if result.context["data_source"] == "simulator" else "make init"
    assert commands[:3] == [f"cd {project.relative_to(baked_output.resolve()).as_posix()}", "make install", after_init]
    named_targets = [step.split()[1] for command in commands[1:] for step in command.split("&&")]
    assert all(step.split()[0] == "make" for command in commands[1:] for step in command.split("&&"))
    assert set(named_targets) <= makefile_targets(project / "Makefile"), named_targets

    package = result.context["__package_name"]
    edit_line = next(line for line in out.splitlines() if line.startswith("Then edit the four files"))
    folder, names = edit_line.removeprefix("Then edit the four files in ").split(" (see README.md): ")
    files = [f"{folder}{name}" for name in names.split(", ")]
    assert files == [f"src/{package}/{name}" for name in ("data_source.py", "cleaning.py", "features.py", "model.py")]
    readme = (project / "README.md").read_text(encoding="utf-8")
    assert all((project / name).is_file() and f"`{name}`" in readme for name in files), files


def test_post_hook_prints_nothing_when_imported(capfd):
    load_hook("post_gen_project", answers())
    assert capfd.readouterr().out == ""


def test_post_hook_main_prunes_then_prints(tmp_path, monkeypatch, capsys):
    context = answers()
    hook = load_hook("post_gen_project", context)
    project = tmp_path / "credit-default"
    make_cd_variants(project)
    monkeypatch.chdir(project)
    monkeypatch.setenv("PWD", str(tmp_path))

    hook.main(context)

    assert sorted(path.name for path in (project / "azure-pipelines").iterdir()) == ["cd.yml", "ci.yml"]
    assert next_step_commands(capsys.readouterr().out)[0] == "cd credit-default"


@pytest.mark.parametrize(
    ("project", "invoked_from", "expected"),
    [
        pytest.param("credit-default", ".", "credit-default", id="in-the-shell-folder"),
        pytest.param("out/credit-default", ".", "out/credit-default", id="below-the-shell-folder"),
        pytest.param("credit-default", "elsewhere", "{root}/credit-default", id="outside-the-shell-folder"),
        pytest.param("credit-default", None, "{root}/credit-default", id="no-PWD"),
        pytest.param("my dir/credit-default", ".", "'my dir/credit-default'", id="quoted"),
    ],
)
def test_post_hook_cd_target(tmp_path, project, invoked_from, expected):
    hook = load_hook("post_gen_project", answers())
    (tmp_path / project).mkdir(parents=True)
    (tmp_path / "elsewhere").mkdir()
    shell_folder = None if invoked_from is None else str(tmp_path / invoked_from)

    assert hook.cd_target(tmp_path / project, shell_folder) == expected.format(root=tmp_path.resolve())


def test_post_hook_message_never_fails_the_generation(monkeypatch):
    """A failing post_gen_project hook makes cookiecutter delete the project."""

    class ClosedStdout:
        def write(self, text):
            raise BrokenPipeError

        def flush(self):
            raise BrokenPipeError

    hook = load_hook("post_gen_project", answers())
    monkeypatch.setattr(sys, "stdout", ClosedStdout())
    hook.show("Created the project folder x")


# --------------------------------------------------------------------------- #
# Answers that once rendered broken or injected files: each is refused in one line now
# --------------------------------------------------------------------------- #

HOSTILE_ANSWERS = [
    pytest.param({"model_display_name": " Leading space"}, "model_display_name", id="leading-space"),
    pytest.param({"model_display_name": "Credit ${workspace.current_user.userName}"}, "model_display_name",
                 id="bundle-interpolation"),
    pytest.param({"model_display_name": "@{pipeline().RunId}"}, "model_display_name", id="factory-expression"),
    pytest.param({"model_display_name": "Credit $(System.AccessToken)"}, "model_display_name", id="pipelines-macro"),
    pytest.param({"model_display_name": "Credit # not a comment"}, "model_display_name", id="yaml-comment"),
    pytest.param({"model_display_name": "Credit \U0001f600"}, "model_display_name", id="emoji"),
    pytest.param({"model_display_name": "x" * 300}, "model_display_name", id="300-characters"),
    pytest.param({"model_display_name": "1model"}, "__package_name", id="starts-with-a-digit"),
    *[pytest.param({"model_display_name": name}, "__package_name", id=f"shadows-{name.lower()}")
      for name in ("Delta", "Scipy", "Matplotlib", "Cloudpickle", "Jsonschema", "Azure", "Dnv", "Pythonnet", "Clr")],
    *[pytest.param({field: column}, field, id=f"{field}-{column}")
      for field, column in (("id_column", "record"), ("timestamp_column", "cleaned_at"),
                            ("timestamp_column", "Computed_At"), ("id_column", "pipeline_run_id"),
                            ("id_column", "FAILED_RULES"), ("timestamp_column", "quarantined_at"),
                            ("target_column", "age"), ("id_column", "income_log"))],
]


@pytest.mark.parametrize(("extra_context", "field"), HOSTILE_ANSWERS)
def test_a_hostile_answer_is_refused_in_one_line_naming_its_field(cookies, baked_output, capfd, extra_context, field):
    result = cookies.bake(extra_context=extra_context)
    assert isinstance(result.exception, FailedHookException), repr(result.exception)
    assert_nothing_written(baked_output)
    lines = error_lines(capfd.readouterr().err)
    assert len(lines) == 1 and lines[0].startswith(f"ERROR: {field}: "), lines


def test_pipeline_columns_and_declared_columns_come_from_the_template():
    """The refused column names are read from sql/ and the user files, not listed by hand."""
    hook = load_hook("pre_gen_project", answers())
    added = hook.pipeline_columns(answers())
    assert {"batch_id", "ingested_at", "cleaned_at", "record", "failed_rules", "quarantined_at", "computed_at",
            "prediction", "probability", "model_version", "pipeline_run_id", "scored_at"} <= set(added)
    assert "decided_at" not in added  # monitoring_decisions holds no user column
    declared = hook.declared_columns(answers())
    assert {"age", "income", "region", "income_log", "has_late_payment"} <= set(declared)


def test_the_installed_modules_list_is_current():
    """hooks/installed_modules.txt is what `make installed-modules` writes from the pinned
    requirements as installed here (run it after changing requirements.txt)."""
    spec = __import__("importlib.util").util.spec_from_file_location("installed_modules", ROOT / "hooks" / "installed_modules.py")
    module = __import__("importlib.util").util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert (ROOT / "hooks" / "installed_modules.txt").read_text(encoding="utf-8") == module.render()


@pytest.mark.parametrize(("answer", "written"), [("0.00001", 0.00001), ("2.5e-1", 0.25), ("1e-3", 0.001), ("10", 10.0)])
def test_a_number_answer_reads_back_from_conf_as_the_number_typed(cookies, answer, written):
    import yaml

    result = cookies.bake(extra_context={"drift_psi_threshold": answer if float(answer) <= 10 else "1",
                                         "secondary_thresholds": f"recall={min(float(answer), 1)}"})
    assert result.exit_code == 0, result.exception
    monitoring = yaml.safe_load((result.project_path / "conf" / "monitoring.yml").read_text())
    training = yaml.safe_load((result.project_path / "conf" / "training.yml").read_text())
    assert monitoring["drift"]["psi_threshold"] == written and isinstance(monitoring["drift"]["psi_threshold"], float)
    assert training["gate"]["secondary_thresholds"]["recall"] == min(written, 1.0)


def test_the_readme_installs_the_cookiecutter_the_template_is_tested_with():
    pinned = re.search(r"^cookiecutter==(\S+)$", (ROOT / "requirements.txt").read_text(), re.M).group(1)
    readme = (ROOT / "README.md").read_text()
    versions = set(re.findall(r"cookiecutter==(\S+?)[`\s]", readme))
    assert versions == {pinned}, versions
