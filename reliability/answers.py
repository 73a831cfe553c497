"""Hostile answers in every text prompt, and what becomes of each: the pre-generation hook refuses it
in lines that name the field ("rejected"), or it renders a project whose every YAML, JSON and TOML
file parses, whose files hold as many expressions (Data Factory ``@…``, bundle ``${…}``, Azure
Pipelines ``$(…)`` and ``${{ }}``) as the default render's, and whose ``conf/`` reads the answer
back as typed ("rendered"). Anything else is "broken".

Strings with Jinja markup are left out: cookiecutter renders every answer as a template before the
hook runs (docs/options.md says what the user sees then).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import sys
import tomllib
import traceback
import types
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import yaml
from cookiecutter.generate import generate_context
from cookiecutter.prompt import prompt_for_config

ROOT = Path(__file__).resolve().parent.parent
HOOKS_DIR = ROOT / "hooks"

# The one templated line of each hook; load_hook swaps it for a JSON document.
CONTEXT_PLACEHOLDER = "{{ cookiecutter | tojson }}"

HOSTILE = (
    " Leading space", "trailing space ", "Credit ${workspace.current_user.userName}", "@{pipeline().RunId}",
    "@concat('a', 'b')", "$(System.AccessToken)", "Credit \U0001f600", "x" * 300, "-- comment", "'; DROP TABLE t; --",
    "# heading", "key: value", "[link](http://example.com)", "a\\b", 'say "hi"', "Delta", "record", "age",
    "0.00001", "1e-5", "-0", "NaN", "inf", "1_000", "0x10", "",
    # Control and invisible characters, paths, reserved words, scripts and numbers out of range.
    "line\nbreak", "tab\there", "nul\x00byte", "zero\u200bwidth", "\u202eright-to-left", "../../etc/passwd",
    "C:\\Windows", "select", "class", "import", "None", "null", "yes", "~", "_", "__init__", "con",
    "a" * 64, "Ärger Über Öl", "日本語モデル", "<script>alert(1)</script>", "%s%n", "1,5", "1e308", "-1", "1.5.2",
    "  ", "0", "99999999999999999999",
)
# Every prompt a person types text into (the choices are refused by cookiecutter itself).
TEXT_PROMPTS = tuple(name for name, default in json.loads((ROOT / "cookiecutter.json").read_text()).items()
                     if not name.startswith("_") and not isinstance(default, list))
# What an answer derives, so that a refusal may name it (Delta → __package_name).
DERIVED = {"model_display_name": ("__project_slug", "__package_name", "__registered_model_name")}
EXPRESSION = re.compile(r"@\{|@[a-z]+\(|\$\{\{|\$\{|\$\(")
# Where conf/ holds each answer that it holds verbatim (the numbers are checked as numbers).
READ_BACK = {
    "model_display_name": ("project.yml", ["model_display_name"]),
    "owner_team": ("project.yml", ["owner_team"]),
    "target_column": ("project.yml", ["columns", "target"]),
    "id_column": ("project.yml", ["columns", "id"]),
    "timestamp_column": ("project.yml", ["columns", "timestamp"]),
    "schema_name": ("project.yml", ["environments", "dev", "schema"]),
    "catalog_dev": ("project.yml", ["environments", "dev", "catalog"]),
    "catalog_uat": ("project.yml", ["environments", "uat", "catalog"]),
    "catalog_prod": ("project.yml", ["environments", "prod", "catalog"]),
    "primary_metric_threshold": ("training.yml", ["gate", "threshold"]),
    "min_improvement_over_champion": ("training.yml", ["gate", "min_improvement_over_champion"]),
    "drift_psi_threshold": ("monitoring.yml", ["drift", "psi_threshold"]),
}
OUTCOMES = ("rejected", "rendered", "broken")

# extra_context -> (exit_ok, project_path, context): pytest-cookies' bake or render_to's renderer.
Render = Callable[[dict], tuple[bool, Path | None, dict | None]]


@dataclass(frozen=True)
class Case:
    """One answer to one prompt and what became of it; ``detail`` holds the hook's lines when it is
    rejected, what went wrong when it is broken."""

    prompt: str
    answer: str
    outcome: str
    detail: str = ""


def answers(extra_context=None):
    """The context the hooks see for these answers (as cookiecutter --no-input builds it)."""
    context = generate_context(context_file=str(ROOT / "cookiecutter.json"), extra_context=dict(extra_context or {}))
    # cookiecutter adds where the template is; the hooks read the template's own files from there.
    return {**prompt_for_config(context, no_input=True), "_repo_dir": str(ROOT)}


def load_hook(name, context):
    """Run hooks/<name>.py as a module whose CONTEXT is ``context``, without running main()."""
    source = (HOOKS_DIR / f"{name}.py").read_text(encoding="utf-8")
    assert source.count(CONTEXT_PLACEHOLDER) == 1, f"{name}.py must template its context exactly once"
    document = json.dumps(context)
    assert "'''" not in document
    module = types.ModuleType(f"{name}_under_test")
    module.__file__ = str(HOOKS_DIR / f"{name}.py")
    exec(compile(source.replace(CONTEXT_PLACEHOLDER, document), module.__file__, "exec"), module.__dict__)
    return module


def files_under(root):
    return sorted(path for path in Path(root).rglob("*") if path.is_file())


def expressions(root: Path, context: dict) -> dict[str, int]:
    """Per file (its name with the project's names as placeholders), how many expressions it holds."""
    counts = {}
    for path in files_under(root):
        if path.suffix in (".yml", ".yaml", ".json"):
            name = path.relative_to(root).as_posix()
            for project_name in (context["__package_name"], context["__project_slug"]):
                # Whole names only: a project named "con" must not turn "conf/" into "<name>f/".
                name = re.sub(rf"(?<![A-Za-z0-9]){re.escape(project_name)}(?![A-Za-z0-9])", "<name>", name)
            counts[name] = len(EXPRESSION.findall(path.read_text(encoding="utf-8")))
    return counts


def parses(root: Path) -> list[str]:
    """Each YAML, JSON or TOML file under ``root`` that does not parse, with its error's type."""
    broken = []
    for path in files_under(root):
        text = path.read_text(encoding="utf-8") if path.suffix in (".yml", ".yaml", ".json", ".toml") else None
        try:
            if path.suffix in (".yml", ".yaml"):
                list(yaml.safe_load_all(text))
            elif path.suffix == ".json":
                json.loads(text)
            elif path.suffix == ".toml":
                tomllib.loads(text)
        except Exception as error:  # noqa: BLE001 - any parse error is the finding
            broken.append(f"{path.relative_to(root)}: {type(error).__name__}")
    return broken


def check(prompt: str, answer: str, default_expressions: dict[str, int], render: Render) -> Case:
    """What becomes of ``answer`` to ``prompt``: the hook's verdict first, then, if it accepts the
    answer, the render and what it holds."""
    try:
        context = answers({prompt: answer})
        problems = load_hook("pre_gen_project", context).validate(context)
    except Exception as error:  # noqa: BLE001 - a crash on an answer is the finding
        return Case(prompt, answer, "broken", f"checking it raised {_error(error)}")
    if problems:
        return _refusal(prompt, answer, problems)
    try:
        exit_ok, root, rendered_context = render({prompt: answer})
    except Exception as error:  # noqa: BLE001 - as above
        return Case(prompt, answer, "broken", f"accepted, but the render raised {_error(error)}")
    if not exit_ok:
        return Case(prompt, answer, "broken", "accepted, but the render failed")
    detail = _landing(prompt, answer, root, rendered_context, default_expressions)
    return Case(prompt, answer, "broken" if detail else "rendered", detail)


def _refusal(prompt: str, answer: str, problems: list[tuple[str, str]]) -> Case:
    """A refusal is clean in one line per problem naming the prompt (or a name it derives): one
    answer is one problem, except a list, one per entry."""
    most = answer.count(",") + 1 if prompt == "secondary_thresholds" else 1
    lines = "; ".join(f"{field}: {message}" for field, message in problems)
    strays = sorted({field for field, _ in problems} - {prompt, *DERIVED.get(prompt, ())})
    if len(problems) > most:
        return Case(prompt, answer, "broken", f"refused in {len(problems)} lines, at most {most} expected: {lines}")
    if strays:
        return Case(prompt, answer, "broken", f"refused in lines naming another field ({', '.join(strays)}): {lines}")
    return Case(prompt, answer, "rejected", lines)


def _landing(prompt: str, answer: str, root: Path, context: dict, default_expressions: dict[str, int]) -> str:
    """Why the rendered project is not the default one with the answer in it, or "" if it is."""
    unparsed = parses(root)
    if unparsed:
        return "does not parse: " + ", ".join(unparsed)
    counts = expressions(root, context)
    if counts != default_expressions:
        changed = sorted(name for name in counts.keys() | default_expressions.keys()
                         if counts.get(name) != default_expressions.get(name))
        return "expressions differ from the default render's in " + ", ".join(changed)
    if prompt in READ_BACK:
        name, keys = READ_BACK[prompt]
        try:
            value = _lookup(yaml.safe_load((root / "conf" / name).read_text(encoding="utf-8")), keys)
        except (OSError, KeyError, TypeError, yaml.YAMLError) as error:
            return f"conf/{name} has no {'.'.join(keys)} ({_error(error)})"
        if not _same(value, answer):
            return f"conf/{name} reads {'.'.join(keys)} back as {value!r}"
    return ""


def _lookup(document, keys):
    for key in keys:
        document = document[key]
    return document


def _same(value, answer: str) -> bool:
    """Whether conf/ holds ``answer`` as typed: the same text, or for a number the same number."""
    if isinstance(value, float):
        try:
            return value == float(answer)
        except ValueError:
            return False
    return value == answer


def _error(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}".replace("\n", " ")


def render_to(output_dir: Path) -> Render:
    """A renderer as ``cookiecutter --no-input`` renders, in process, into ``output_dir``: each
    render replaces the one before (a full run renders hundreds of projects of about 1 MB), and
    cookiecutter's replay files stay in ``output_dir`` too, not in the user's home."""
    from cookiecutter.main import cookiecutter

    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    config = output_dir / "cookiecutter-config.yml"
    config.write_text(yaml.safe_dump({"cookiecutters_dir": str(output_dir / "cookiecutters"),
                                      "replay_dir": str(output_dir / "replay")}), encoding="utf-8")
    project_dir = output_dir / "render"

    def render(extra_context: dict):
        shutil.rmtree(project_dir, ignore_errors=True)
        project_dir.mkdir()
        with _stdout_discarded():
            path = cookiecutter(str(ROOT), no_input=True, extra_context=dict(extra_context),
                                output_dir=str(project_dir), config_file=str(config))
        return True, Path(path), answers(extra_context)

    return render


@contextlib.contextmanager
def _stdout_discarded():
    """Drop what the hooks print (the post-generation hook's next steps, once per render). They run
    as processes of their own, so the file descriptor is redirected, not sys.stdout; stderr still shows."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 1)
            yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)


def run_all(workdir: Path) -> list[Case]:
    """Every hostile answer in every text prompt, rendered under ``workdir`` when the hook accepts it."""
    render = render_to(workdir)
    _, root, context = render({})
    default_expressions = expressions(root, context)
    return [check(prompt, answer, default_expressions, render) for prompt in TEXT_PROMPTS for answer in HOSTILE]


def run_all_into(workdir: Path, sending) -> None:
    """``run_all`` in a process of its own (the harness's ``python -m reliability`` starts it: the
    target must live in an importable module, not in ``__main__``): the cases, or the traceback of
    what failed, sent through the ``sending`` end of a pipe."""
    try:
        result = run_all(workdir)
    except Exception:  # noqa: BLE001 - reported by the harness's process
        result = traceback.format_exc()
    sending.send(result)
    sending.close()


def markdown(cases: Iterable[Case]) -> str:
    """One row per prompt (in the order of the prompts), a total row, then each broken case."""
    cases = list(cases)
    header = ["| answer field | tried | rejected cleanly | rendered, safe | broken |", "|---|---:|---:|---:|---:|"]
    rows = [_row(f"`{prompt}`", [case for case in cases if case.prompt == prompt]) for prompt in _prompts(cases)]
    total = _row("**total**", cases, bold=True)
    broken = [f"- `{case.prompt}` = {_shown(case.answer)}: {case.detail}" for case in cases if case.outcome == "broken"]
    text = "\n".join([*header, *rows, total])
    if broken:
        text += "\n\nBroken:\n\n" + "\n".join(broken)
    return text + "\n"


def _prompts(cases: list[Case]) -> list[str]:
    """The prompts the cases answer, as cookiecutter.json orders them (any other after, by name)."""
    order = {prompt: index for index, prompt in enumerate(TEXT_PROMPTS)}
    return sorted({case.prompt for case in cases}, key=lambda prompt: (order.get(prompt, len(order)), prompt))


def _row(label: str, cases: list[Case], bold: bool = False) -> str:
    counts = [len(cases), *(sum(case.outcome == outcome for case in cases) for outcome in OUTCOMES)]
    cells = [f"**{count}**" if bold else str(count) for count in counts]
    return f"| {label} | " + " | ".join(cells) + " |"


def _shown(answer: str, limit: int = 40) -> str:
    """An answer as a code span, cut short (one of them is 300 characters long)."""
    text = repr(answer) if len(answer) <= limit else repr(answer[:limit]) + f"… ({len(answer)} characters)"
    return f"`{text}`" if "`" not in text else f"`` {text} ``"
