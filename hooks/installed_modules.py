"""Write hooks/installed_modules.txt: the top-level modules of every distribution the template is
tested with — requirements.txt and everything it requires, as installed in the template's
virtualenv (`make install`). The pre-generation hook refuses a package name among them: a project
named `delta` or `scipy` would shadow a module it imports. Run `make installed-modules` after a
change to requirements.txt; tests/test_hooks.py fails while the file is stale.
"""

from __future__ import annotations

import importlib.metadata as metadata
import re
from pathlib import Path

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parent.parent
OUTPUT = ROOT / "hooks" / "installed_modules.txt"
MODULE = re.compile(r"[A-Za-z][A-Za-z0-9_]*")


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def tested_distributions() -> set[str]:
    """requirements.txt's distributions and, recursively, what they require (extras left out)."""
    lines = (line.split("#", 1)[0].strip() for line in (ROOT / "requirements.txt").read_text().splitlines())
    todo = [Requirement(line) for line in lines if line]
    seen: set[str] = set()
    while todo:
        requirement = todo.pop()
        name = canonical(requirement.name)
        if name in seen or (requirement.marker is not None and not requirement.marker.evaluate({"extra": ""})):
            continue
        seen.add(name)
        try:
            requires = metadata.distribution(name).requires or []
        except metadata.PackageNotFoundError:
            continue
        todo.extend(Requirement(text) for text in requires)
    return seen


def installed_modules() -> list[str]:
    wanted = tested_distributions()
    return sorted(module for module, distributions in metadata.packages_distributions().items()
                  if MODULE.fullmatch(module) and any(canonical(d) in wanted for d in distributions))


def render() -> str:
    return "\n".join(installed_modules()) + "\n"


if __name__ == "__main__":
    OUTPUT.write_text(render(), encoding="utf-8")
    print(f"{OUTPUT.relative_to(ROOT)}: {len(installed_modules())} modules")
