"""examples/credit-default is exactly what the template renders from examples/credit-default.json
(`make regen-example` rewrites it), so the example can never drift from the template."""

import filecmp
import json
from pathlib import Path

from cookiecutter.main import cookiecutter

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "credit-default"
IGNORED = {"__pycache__", ".pytest_cache", ".local", ".venv", ".ruff_cache"}


def _files(root: Path) -> set[str]:
    return {
        str(path.relative_to(root))
        for path in root.rglob("*")
        if path.is_file() and not IGNORED.intersection(path.relative_to(root).parts) and not path.name.endswith(".egg-info")
        and ".egg-info" not in str(path)
    }


def test_example_equals_a_fresh_render(tmp_path):
    config = json.loads((ROOT / "examples" / "credit-default.json").read_text())
    rendered = Path(
        cookiecutter(str(ROOT), no_input=True, extra_context=config["default_context"], output_dir=str(tmp_path))
    )
    assert rendered.name == EXAMPLE.name
    expected, actual = _files(rendered), _files(EXAMPLE)
    assert actual == expected, f"missing: {sorted(expected - actual)}; extra: {sorted(actual - expected)}"
    different = [name for name in sorted(expected) if not filecmp.cmp(rendered / name, EXAMPLE / name, shallow=False)]
    assert not different, f"run `make regen-example`: these files differ from a fresh render: {different}"
