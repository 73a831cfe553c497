"""Hostile answers in every text prompt (reliability/answers.py holds them and the checks): each is
refused by the pre-generation hook in lines that name the field, or renders a project whose every
YAML, JSON and TOML file parses, whose files hold as many expressions (Data Factory ``@…``, bundle
``${…}``, Azure Pipelines ``$(…)`` and ``${{ }}``) as the default render's, and whose ``conf/``
reads the answer back as typed.

Strings with Jinja markup are left out: cookiecutter renders every answer as a template before the
hook runs (docs/options.md says what the user sees then).
"""

from __future__ import annotations

import pytest

from reliability.answers import HOSTILE, TEXT_PROMPTS, check, expressions


@pytest.fixture(scope="module")
def default_expressions(cookies_session):
    result = cookies_session.bake()
    return expressions(result.project_path, result.context)


@pytest.mark.parametrize("prompt", TEXT_PROMPTS)
def test_every_hostile_answer_is_refused_or_lands_inert(cookies, default_expressions, prompt):
    """The hook's verdict first (its one-line-per-problem output is tests/test_hooks.py's); each
    answer it accepts is rendered and read."""

    def bake(extra_context):
        result = cookies.bake(extra_context=extra_context)
        if isinstance(result.exception, Exception):
            raise result.exception  # check() reports it with the answer
        return result.exit_code == 0, result.project_path, result.context

    cases = [check(prompt, hostile, default_expressions, bake) for hostile in HOSTILE]
    broken = [f"{case.answer!r}: {case.detail}" for case in cases if case.outcome == "broken"]
    assert broken == [], "\n".join(broken)
    # The list does hold answers the hook must refuse here.
    assert any(case.outcome == "rejected" for case in cases)
