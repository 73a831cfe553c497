"""Check the answers before Esteira renders a project (cookiecutter pre_gen_project).

Cookiecutter renders this file with Jinja and runs it before any file of the
project is written. The answers arrive as ONE JSON document in a raw string and
are read as data: no answer is ever pasted into Python source, so an answer
containing quotes, backslashes or code cannot be executed. (Jinja's ``tojson``
escapes ``'`` as \\u0027, so an answer can never close the raw string.)

Every problem is collected, then each is printed to stderr as one line,
``ERROR: <field>: <problem>``, and the hook exits with status 1; cookiecutter
then stops and removes the half-made project folder. No traceback is shown.

The rules live in the tables below so they read like a specification; the
functions only apply them. Keep this file free of Jinja markup other than the
``CONTEXT`` line.
"""

from __future__ import annotations

import json
import keyword
import math
import os
import re
import sys
from pathlib import Path

CONTEXT = json.loads(r'''{{ cookiecutter | tojson }}''')

# --------------------------------------------------------------------------- #
# Rules as data
# --------------------------------------------------------------------------- #

CHOICES = {
    "problem_type": ("classification", "regression"),
    "model_library": ("scikit-learn", "spark-ml"),
    "orchestrator": ("data_factory", "databricks_workflows"),
    "branching_model": ("gitflow", "trunk"),
    "dev_trigger": ("stopped", "started"),
    "smoke_run_in_prod": ("no", "yes"),
    "data_source": ("simulator", "files", "table"),
    "serving": ("none", "databricks", "container"),
    "observability": ("none", "datadog"),
}

METRICS = {
    "classification": ("roc_auc", "f1", "precision", "recall", "accuracy", "log_loss"),
    "regression": ("rmse", "mae", "r2", "mape"),
}

# metric -> (low, low_inclusive, high, high_inclusive); None means unbounded.
METRIC_RANGES = {
    "roc_auc": (0.0, False, 1.0, True),
    "f1": (0.0, False, 1.0, True),
    "precision": (0.0, False, 1.0, True),
    "recall": (0.0, False, 1.0, True),
    "accuracy": (0.0, False, 1.0, True),
    "log_loss": (0.0, False, None, False),
    "rmse": (0.0, False, None, False),
    "mae": (0.0, False, None, False),
    "r2": (None, False, 1.0, True),
    "mape": (0.0, False, None, False),
}

# Other numeric answers: field -> (low, low_inclusive, high, high_inclusive).
NUMBER_RANGES = {
    "min_improvement_over_champion": (0.0, True, None, False),
    "drift_psi_threshold": (0.0, False, 10.0, True),
}

# Whole-number answers: field -> (low, high), both inclusive.
INTEGER_RANGES = {
    "schedule_hour_utc": (0, 23),
}

# Columns of the source data the project is built around.
COLUMN_FIELDS = ("target_column", "id_column", "timestamp_column")

# The project as the template holds it (read at render time from cookiecutter's ``_repo_dir``):
# the tables that hold the user's columns (their DDL names the source, feature, id or timestamp
# columns), and the two user files that declare the example's columns.
# (Folder names written as two literals: this file is rendered by Jinja, which would fill them in.)
TEMPLATE_PROJECT = "{" "{cookiecutter.__project_slug}" "}"
TEMPLATE_PACKAGE = "{" "{cookiecutter.__package_name}" "}"
USER_COLUMN_MARKERS = ("${source_columns}", "${feature_columns}", "${id_column}", "${timestamp_column}")
SQL_COLUMN = re.compile(r"^\s+([A-Za-z_][A-Za-z0-9_]*)\s+(?:STRING|DOUBLE|INT|BIGINT|BOOLEAN|TIMESTAMP|DATE|ARRAY)\b", re.M)
DECLARED_COLUMN = re.compile(r'^\s+"([A-Za-z_][A-Za-z0-9_]*)":\s*"[A-Z]+",?$', re.M)
DECLARED_IN = {"data_source.SOURCE_COLUMNS": "data_source.py", "features.FEATURE_COLUMNS": "features.py"}

# The names a serving answer derives from the project's, built by the template's own filters
# (local_extensions.py, read from the template folder) and checked here against each platform's rule.
NAME_RULES = "local_extensions.py"
SERVING_ENDPOINT_ENVIRONMENTS = ("dev", "uat", "prod")

# Names Windows gives to devices: a folder cannot have one (with any extension), so a project
# named so could not be cloned there.
WINDOWS_DEVICE_NAMES = frozenset(
    ["con", "prn", "aux", "nul", *(f"com{i}" for i in range(1, 10)), *(f"lpt{i}" for i in range(1, 10))]
)

# Unity Catalog names used as plain (unquoted) SQL identifiers.
UNITY_CATALOG_FIELDS = ("catalog_dev", "catalog_uat", "catalog_prod", "schema_name")
# Answers whose default is the package name (an empty one is reported once).
DERIVED_FROM_PACKAGE = ("schema_name",)

# Words the project's SQL cannot use unquoted: the keywords Spark SQL reserves
# in ANSI mode (the default on Databricks SQL), those that cannot be a table
# alias in default mode, and a few SQL:2016 reserved words (BY, DEFAULT, TRUE).
SPARK_SQL_RESERVED_WORDS = frozenset(
    """
    all and anti any as authorization both by case cast check collate column
    constraint create cross current_date current_time current_timestamp
    current_user default distinct else end escape except false fetch filter for
    foreign from full grant group having in inner intersect into is join
    lateral leading left minus natural not null on only or order outer
    overlaps primary references right select semi session_user some table
    then time to trailing true union unique unknown user using when where
    with
    """.split()
)

SQL_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
SQL_IDENTIFIER_HINT = "letters, digits and underscores, not starting with a digit"
MAX_SQL_IDENTIFIER_LENGTH = 255  # Unity Catalog's limit for a name

PROJECT_SLUG = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
OWNER_TEAM = re.compile(r"[A-Za-z0-9 ._-]+")
# A plain decimal number, as YAML and Python both read it: 0.7, 2500, 1e-3.
NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
WHOLE_NUMBER = re.compile(r"[0-9]+")

MAX_PACKAGE_NAME_LENGTH = 60
# Data Factory pipelines are named after the package; Data Factory caps names.
DATA_FACTORY_PIPELINE_NAME = "pl_{package}_training"
MAX_DATA_FACTORY_NAME_LENGTH = 140
# The top-level modules of every distribution the project installs (generated from the pinned
# requirements by hooks/installed_modules.py): the project's own package must not shadow them.
INSTALLED_MODULES = "hooks/installed_modules.txt"
# The display name is written into Markdown, YAML, JSON, TOML, Python docstrings and Data Factory
# descriptions: besides letters, digits and single inner spaces, only these characters, none of which
# starts an expression or a comment in any of them (no @, $, {, #, :, quotes or backslashes).
DISPLAY_NAME_PUNCTUATION = "-_.,()&/+"
MAX_DISPLAY_NAME_LENGTH = 80

# --------------------------------------------------------------------------- #
# Small helpers
# --------------------------------------------------------------------------- #


def answer(context, field):
    """The answer for ``field`` as text ('' when missing)."""
    value = context.get(field, "")
    return "" if value is None else str(value)


def choose_one_of(names):
    return "choose one of " + ", ".join(names)


def describe_range(bounds):
    """Human text for a (low, low_inclusive, high, high_inclusive) range."""
    low, low_inclusive, high, high_inclusive = bounds
    parts = []
    if low is not None:
        parts.append(("at least " if low_inclusive else "greater than ") + format_number(low))
    if high is not None:
        parts.append(("at most " if high_inclusive else "less than ") + format_number(high))
    return " and ".join(parts) if parts else "any number"


def format_number(value):
    return repr(int(value)) if float(value).is_integer() else repr(value)


def in_range(value, bounds):
    low, low_inclusive, high, high_inclusive = bounds
    if low is not None and (value < low if low_inclusive else value <= low):
        return False
    if high is not None and (value > high if high_inclusive else value >= high):
        return False
    return True


def parse_number(text):
    """Return (value, None) for a finite plain decimal number, else (None, problem)."""
    stripped = text.strip()
    if not stripped:
        return None, "is blank; give a number"
    if NUMBER.fullmatch(stripped):
        value = float(stripped)
        if math.isfinite(value):
            return value, None
        return None, f"{text!r} is not a finite number"
    try:
        value = float(stripped)
    except ValueError:
        return None, f"{text!r} is not a number"
    if not math.isfinite(value):
        return None, f"{text!r} is not a finite number"
    return None, f"{text!r} is not a plain decimal number (write it like 0.7 or 2500)"


def number_problem(text, bounds, what=""):
    """Problem text for a number that must lie within ``bounds``, or None."""
    value, problem = parse_number(text)
    if problem:
        return problem
    if not in_range(value, bounds):
        suffix = f" for {what}" if what else ""
        return f"{text.strip()!r} is out of range{suffix}; it must be {describe_range(bounds)}"
    return None


def sql_identifier_problem(value):
    """Problem text if ``value`` is not a usable unquoted SQL identifier, or None."""
    if not value:
        return "is blank"
    if not SQL_IDENTIFIER.fullmatch(value):
        return f"{value!r} is not a valid SQL identifier ({SQL_IDENTIFIER_HINT})"
    if len(value) > MAX_SQL_IDENTIFIER_LENGTH:
        return f"{value!r} is longer than {MAX_SQL_IDENTIFIER_LENGTH} characters"
    if value.lower() in SPARK_SQL_RESERVED_WORDS:
        return f"{value!r} is a reserved word in Spark SQL; choose another name"
    return None


def derived_hint(context):
    display_name = answer(context, "model_display_name")
    return f" (it derives from model_display_name {display_name!r} unless overridden)"


def template_file(context, *parts):
    """A file of the template repository cookiecutter renders from (its ``_repo_dir``). The hook
    runs inside the new project's folder, so a relative ``_repo_dir`` (``cookiecutter .``) is
    resolved against the folder the user ran cookiecutter from (the shell's ``PWD``)."""
    given = context.get("_repo_dir") or ""
    repo = Path(given)
    for root in (repo, Path(os.environ.get("PWD", "/nonexistent"), repo)):
        if given and (root / "cookiecutter.json").is_file():
            return root.resolve().joinpath(*parts)
    raise LookupError(f"cannot find the template folder {str(repo)!r} from {os.getcwd()}: "
                      "run cookiecutter with the template's absolute path")


def installed_modules(context):
    return {line.strip().lower() for line in template_file(context, INSTALLED_MODULES).read_text().splitlines()
            if line.strip()}


def name_rules(context):
    """The template's local_extensions module: the functions that derive the serving names."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("esteira_name_rules", template_file(context, NAME_RULES))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def pipeline_columns(context):
    """Lower-cased column -> table, for the columns the pipeline adds to the tables that hold the
    user's columns, read from the template's sql/ (so a new column there is refused here too)."""
    added = {}
    for path in sorted(template_file(context, TEMPLATE_PROJECT, "sql").glob("*.sql")):
        ddl = path.read_text(encoding="utf-8")
        if any(marker in ddl for marker in USER_COLUMN_MARKERS):
            table = path.stem.split("_", 1)[-1]
            for column in SQL_COLUMN.findall(ddl):
                added.setdefault(column.lower(), table)
    return added


def declared_columns(context):
    """Lower-cased column -> where it is declared, for the columns of the template's user files."""
    package = template_file(context, TEMPLATE_PROJECT, "src", TEMPLATE_PACKAGE)
    declared = {}
    for where, name in DECLARED_IN.items():
        source = (package / name).read_text(encoding="utf-8")
        variable = re.escape(where.split(".")[1])
        assignment = re.search(r"^" + variable + r"\b[^=\n]*=\s*\{(.*?)^\}", source, re.M | re.S)
        for column in DECLARED_COLUMN.findall(assignment.group(1) if assignment else ""):
            declared.setdefault(column.lower(), where)
    return declared


# --------------------------------------------------------------------------- #
# Checks: each takes the context and returns a list of (field, message)
# --------------------------------------------------------------------------- #


def check_display_name(context):
    name = answer(context, "model_display_name")
    field = "model_display_name"
    if not name.strip():
        return [(field, "is blank; give the model a name")]
    odd = sorted({char for char in name if not (char.isalnum() or char == " " or char in DISPLAY_NAME_PUNCTUATION)})
    if odd:
        shown = " ".join(repr(char) for char in odd)
        return [(field, f"{name!r} may only hold letters, digits, single spaces and {DISPLAY_NAME_PUNCTUATION}; "
                        f"not {shown}")]
    if not (name[0].isalnum() and (name[-1].isalnum() or name[-1] in ".)")) or "  " in name:
        return [(field, f"{name!r} must start with a letter or digit and end with one (or '.', ')'), "
                        "with single spaces between words")]
    if len(name) > MAX_DISPLAY_NAME_LENGTH:
        return [(field, f"{name[:20]!r}… is {len(name)} characters long; at most {MAX_DISPLAY_NAME_LENGTH}")]
    return []


def check_project_slug(context):
    if check_display_name(context):
        return []  # the folder name derives from the display name, reported already
    slug = answer(context, "__project_slug")
    if not slug:
        if not answer(context, "model_display_name").strip():
            return []  # a blank display name was reported already
        return [("__project_slug", "is empty; the display name needs letters or digits" + derived_hint(context))]
    if not PROJECT_SLUG.fullmatch(slug):
        return [("__project_slug", f"{slug!r} is not a usable folder name (letters, digits, '.', '_', '-')")]
    if slug.split(".")[0].lower() in WINDOWS_DEVICE_NAMES:
        return [("__project_slug", f"{slug!r} is a name Windows reserves for a device: no folder can have it there"
                 + derived_hint(context))]
    return []


def check_package_name(context):
    package = answer(context, "__package_name")
    field = "__package_name"
    hint = derived_hint(context)
    if not package:
        # An empty slug was reported already; its empty derivatives add nothing.
        return [] if not answer(context, "__project_slug") else [(field, "is empty" + hint)]
    if check_display_name(context) and package == answer(context, "__project_slug").replace("-", "_"):
        return []  # derives from the display name, reported already
    if package[0].isdigit():
        return [(field, f"{package!r} must not start with a digit" + hint)]
    if not (package.isascii() and package.isidentifier()):
        return [(field, f"{package!r} is not a valid Python identifier" + hint)]
    if keyword.iskeyword(package):
        return [(field, f"{package!r} is a Python keyword" + hint)]
    if len(package) > MAX_PACKAGE_NAME_LENGTH:
        return [(field, f"{package!r} is longer than {MAX_PACKAGE_NAME_LENGTH} characters" + hint)]
    if package in getattr(sys, "stdlib_module_names", ()) or package.lower() in installed_modules(context):
        return [(field, f"{package!r} would shadow the Python module of that name the project imports or installs"
                        + hint)]
    pipeline = DATA_FACTORY_PIPELINE_NAME.format(package=package)
    if len(pipeline) > MAX_DATA_FACTORY_NAME_LENGTH:
        return [(field, f"Data Factory pipeline name {pipeline!r} is longer than {MAX_DATA_FACTORY_NAME_LENGTH} characters")]
    return []


def derived_from_a_bad_package(context, value):
    """True when ``value`` is the package name and a problem with it (or with the display name it
    derives from) was reported already."""
    package = answer(context, "__package_name")
    if value != package:
        return False
    from_display_name = package == answer(context, "__project_slug").replace("-", "_")
    return bool(check_package_name(context)) or (from_display_name and bool(check_display_name(context)))


def same_name_as_a_bad_registered_model(context, value):
    """True when ``value`` is the package name, and the registered model's name, which is that name
    too, was reported (a reserved word such as 'null' is one problem, not one per name)."""
    package = answer(context, "__package_name")
    return value == package == answer(context, "__registered_model_name") and bool(check_registered_model_name(context))


def check_registered_model_name(context):
    name = answer(context, "__registered_model_name")
    if (not name and not answer(context, "__package_name")) or derived_from_a_bad_package(context, name):
        return []  # derives from the package name, reported already
    problem = sql_identifier_problem(name)
    if problem:
        return [("__registered_model_name", problem + derived_hint(context))]
    return []


def check_owner_team(context):
    team = answer(context, "owner_team")
    if not team.strip():
        return [("owner_team", "is blank; name the team that owns the model")]
    if not OWNER_TEAM.fullmatch(team):
        return [("owner_team", f"{team!r} may only contain letters, digits, spaces, '.', '_' and '-'")]
    return []


def check_choices(context):
    problems = []
    for field, choices in CHOICES.items():
        value = answer(context, field)
        if value not in choices:
            problems.append((field, f"{value!r} is not a valid choice; {choose_one_of(choices)}"))
    return problems


def check_columns(context):
    problems = []
    seen = {}  # lower-cased name -> field that used it first
    added = pipeline_columns(context)
    declared = declared_columns(context)
    for field in COLUMN_FIELDS:
        value = answer(context, field)
        problem = sql_identifier_problem(value)
        if problem is None and value.lower() in added:
            problem = f"{value!r} is a column the pipeline adds to {added[value.lower()]}; choose another name"
        if problem is None and value.lower() in declared:
            problem = (f"{value!r} is already a column of the data ({declared[value.lower()]}); choose another "
                       "name, or rename that column after rendering")
        if problem is None and value.lower() in seen:
            problem = f"{value!r} is also the {seen[value.lower()]}; target, id and timestamp columns must be distinct"
        if problem:
            problems.append((field, problem))
        else:
            seen[value.lower()] = field
    return problems


def check_primary_metric(context):
    problem_type = answer(context, "problem_type")
    metric = answer(context, "primary_metric")
    metrics = METRICS.get(problem_type)
    if metrics is None:  # reported by check_choices
        return []
    if metric not in metrics:
        return [("primary_metric", f"{metric!r} is not a {problem_type} metric; {choose_one_of(metrics)}")]
    return []


def check_primary_metric_threshold(context):
    metric = answer(context, "primary_metric")
    text = answer(context, "primary_metric_threshold")
    if check_primary_metric(context) and not text.strip():
        return []  # its default derives from the metric, reported already
    bounds = METRIC_RANGES.get(metric)
    if bounds is None:  # unknown metric: only check it is a number
        _, problem = parse_number(text)
    else:
        problem = number_problem(text, bounds, metric)
    return [("primary_metric_threshold", problem)] if problem else []


def check_secondary_thresholds(context):
    field = "secondary_thresholds"
    text = answer(context, field)
    problem_type = answer(context, "problem_type")
    primary = answer(context, "primary_metric")
    metrics = METRICS.get(problem_type, tuple(METRIC_RANGES))
    problems = []
    seen = set()
    for entry in text.split(","):
        entry = entry.strip()
        if not entry:
            continue
        if entry.count("=") != 1:
            problems.append((field, f"{entry!r} is not a metric=value pair (e.g. recall=0.4)"))
            continue
        name, value = (part.strip() for part in entry.split("="))
        if name not in metrics:
            problems.append((field, f"{name!r} is not a {problem_type} metric; {choose_one_of(metrics)}"))
            continue
        if name == primary:
            problems.append((field, f"{name!r} is the primary metric; set its threshold in primary_metric_threshold"))
            continue
        if name in seen:
            problems.append((field, f"{name!r} is repeated"))
            continue
        seen.add(name)
        problem = number_problem(value, METRIC_RANGES[name])
        if problem:
            problems.append((field, f"{name}: {problem}"))
    return problems


def check_min_improvement(context):
    field = "min_improvement_over_champion"
    text = answer(context, field)
    problem = number_problem(text, NUMBER_RANGES[field])
    if problem:
        return [(field, problem)]
    metric = answer(context, "primary_metric")
    low, _, high, _ = METRIC_RANGES.get(metric, (None, False, None, False))
    if low is not None and high is not None and float(text) >= high - low:
        return [(field, f"{text.strip()!r} is out of range for {metric}; it must be less than {format_number(high - low)}")]
    return []


def check_number_ranges(context):
    problems = []
    for field, bounds in NUMBER_RANGES.items():
        if field == "min_improvement_over_champion":
            continue  # depends on the metric: check_min_improvement
        problem = number_problem(answer(context, field), bounds)
        if problem:
            problems.append((field, problem))
    return problems


def check_integer_ranges(context):
    problems = []
    for field, (low, high) in INTEGER_RANGES.items():
        text = answer(context, field)
        if not WHOLE_NUMBER.fullmatch(text.strip()) or not low <= int(text) <= high:
            problems.append((field, f"{text!r} is not a whole number from {low} to {high}"))
    return problems


def check_unity_catalog_names(context):
    problems = []
    for field in UNITY_CATALOG_FIELDS:
        value = answer(context, field)
        if field in DERIVED_FROM_PACKAGE and ((not value and not answer(context, "__package_name"))
                                              or derived_from_a_bad_package(context, value)
                                              or same_name_as_a_bad_registered_model(context, value)):
            continue  # derives from the package name, reported already
        problem = sql_identifier_problem(value)
        if problem:
            problems.append((field, problem))
    return problems


def check_serving_names(context):
    """A Databricks endpoint per environment, or the Kubernetes objects of the container, must get a
    name the platform accepts (the slug can be overridden with characters neither allows)."""
    serving = answer(context, "serving")
    slug = answer(context, "__project_slug")
    if serving not in ("databricks", "container") or not slug or check_project_slug(context):
        return []  # nothing to name, or the slug was reported already
    rules = name_rules(context)
    if serving == "databricks":
        names = [rules.serving_endpoint_name(slug, env) for env in SERVING_ENDPOINT_ENVIRONMENTS]
        bad = [name for name in names if not rules.SERVING_ENDPOINT_NAME.fullmatch(name)]
        return [("serving", f"endpoint name {name!r} is not letters, digits, '-' and '_' of at most 63 characters"
                            + derived_hint(context)) for name in bad]
    name = answer(context, "__kubernetes_name")
    if not rules.KUBERNETES_NAME.fullmatch(name):
        return [("__kubernetes_name", f"{name!r} is not a Kubernetes name: lower-case letters, digits and '-', "
                                      "starting with a letter, at most 52 characters" + derived_hint(context))]
    return []


def check_serving_library(context):
    """Online serving answers request by request from a scikit-learn model in the process; a Spark ML
    model is scored in batches on the cluster only."""
    serving, library = answer(context, "serving"), answer(context, "model_library")
    if library == "spark-ml" and serving not in ("none", ""):
        return [("serving", f"{serving!r} serves scikit-learn models only; with model_library 'spark-ml' "
                            "answer 'none' (batches are scored on the cluster)")]
    return []


CHECKS = (
    check_display_name,
    check_project_slug,
    check_package_name,
    check_registered_model_name,
    check_owner_team,
    check_choices,
    check_columns,
    check_primary_metric,
    check_primary_metric_threshold,
    check_secondary_thresholds,
    check_min_improvement,
    check_number_ranges,
    check_integer_ranges,
    check_unity_catalog_names,
    check_serving_names,
    check_serving_library,
)


# --------------------------------------------------------------------------- #
# Entry point
# --------------------------------------------------------------------------- #


def validate(context):
    """Every problem with the answers, as a list of (field, message)."""
    problems = []
    for check in CHECKS:
        problems.extend(check(context))
    return problems


def format_problem(field, message):
    """One line, whatever the answer contains."""
    line = f"ERROR: {field}: {message}"
    return line.replace("\r", " ").replace("\n", " ")


def report(problems, stream=None):
    stream = stream or sys.stderr
    for field, message in problems:
        print(format_problem(field, message), file=stream)


def main(context=None):
    context = CONTEXT if context is None else context
    try:
        problems = validate(context)
    except Exception as error:  # a bug here must not look like a bad answer's traceback
        problems = [("hook", f"unexpected error while checking the answers ({type(error).__name__}: {error}); please report it")]
    if problems:
        report(problems)
        sys.exit(1)


if __name__ == "__main__":
    main()
