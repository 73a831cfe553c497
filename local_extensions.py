"""The template's own Jinja filters (cookiecutter.json → ``_extensions``; cookiecutter imports this
module from the template's folder). Each says how an answer is written where its text alone would
be read back as something else."""

from __future__ import annotations

from decimal import Decimal

from cookiecutter.utils import simple_filter


@simple_filter
def yaml_number(value):
    """A number YAML reads back as a float, whatever its size: PyYAML (YAML 1.1) reads ``1e-05`` as
    a string, so no exponent, and always a decimal point (``2300.0``, ``0.00001``)."""
    text = format(Decimal(repr(float(value))), "f")
    return text if "." in text else f"{text}.0"
