"""The template's own Jinja filters (cookiecutter.json → ``_extensions``; cookiecutter imports this
module from the template's folder). Each says how an answer is written where its text alone would
be read back as something else. The pre-generation hook imports the name rules below to check what
they give."""

from __future__ import annotations

import re
from decimal import Decimal

from cookiecutter.utils import simple_filter

# Databricks documents a serving endpoint's name as letters, digits, '-' and '_'; 63 characters is
# the cap kept here (a name shorter than any workspace accepts is always accepted).
SERVING_ENDPOINT_NAME = re.compile(r"[A-Za-z0-9_-]{1,63}")
# Kubernetes: a namespace or Service name is a DNS-1035 label (lower case, starts with a letter, at
# most 63 characters). The project's objects add at most "-databricks" (11) to its name.
KUBERNETES_NAME = re.compile(r"[a-z]([-a-z0-9]{0,50}[a-z0-9])?")
KUBERNETES_SUFFIXES = ("-serving", "-databricks", "-dev", "-uat", "-prod")


@simple_filter
def yaml_number(value):
    """A number YAML reads back as a float, whatever its size: PyYAML (YAML 1.1) reads ``1e-05`` as
    a string, so no exponent, and always a decimal point (``2300.0``, ``0.00001``)."""
    text = format(Decimal(repr(float(value))), "f")
    return text if "." in text else f"{text}.0"


def serving_endpoint_name(slug, env):
    """``<slug>-<env>`` as a Databricks endpoint may be named: other characters become '-', and the
    slug is cut to the same length in every environment so that the three names stay siblings."""
    prefix = re.sub(r"[^A-Za-z0-9_-]", "-", str(slug))[: 63 - len("-prod")].rstrip("-_")
    return f"{prefix}-{env}"


def kubernetes_name(slug):
    """The slug as the Kubernetes objects' name: lower case, letters, digits and '-', starting with
    a letter (``m-`` is put before a leading digit), cut so the longest suffix still fits in 63."""
    name = re.sub(r"[^a-z0-9-]+", "-", str(slug).lower()).strip("-")
    name = name if name[:1].isalpha() else f"m-{name}"
    return name[: 63 - max(map(len, KUBERNETES_SUFFIXES))].rstrip("-")


# The two names as filters (cookiecutter.json → _extensions); the functions stay callable for the hook.
serving_endpoint_name_filter = simple_filter(serving_endpoint_name)
kubernetes_name_filter = simple_filter(kubernetes_name)
