"""Pin the model version (and the image tag) an environment's container serves, in git.

    python scripts/pin_serving_version.py --env dev --version 7 [--image-tag 0.2.0]
    python scripts/pin_serving_version.py --env prod --version champion

Rewrites ``MLOPS_SERVE_MODEL_VERSION`` (and ``newTag``) in ``deploy/k8s/overlays/<env>/kustomization.yaml``
in place, leaving every other line and comment as it is; running it again changes nothing. Argo CD
then rolls the Deployment (the version is in a generated ConfigMap whose name hashes its content).
``--version champion`` reads the environment's ``@champion`` from its registry, as the container
would reach it (MLFLOW_TRACKING_URI, MLFLOW_REGISTRY_URI, DATABRICKS_HOST: docs/serving.md); it needs
the package installed. azure-pipelines/pin-serving.yml runs it after promotions and commits the result.

A bad environment, version or tag is one line on stderr and exit status 1; nothing is written.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OVERLAYS = ROOT / "deploy" / "k8s" / "overlays"
VERSION_LINE = re.compile(r"^(\s*- MLOPS_SERVE_MODEL_VERSION=)(\S*)$", re.M)
TAG_LINE = re.compile(r"^(\s*newTag: )(\S+)$", re.M)
# A Docker image tag: letters, digits, '_', '.' and '-', not starting with '.' or '-', at most 128.
IMAGE_TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
CHAMPION = "champion"


class PinError(ValueError):
    """What is wrong, in the one line the caller sees."""


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--env", required=True, help="environment: an overlay of deploy/k8s/overlays")
    parser.add_argument("--version", required=True, help="registered model version (1, 2, ...) or 'champion'")
    parser.add_argument("--image-tag", help="image tag to run (default: keep the overlay's)")
    return parser.parse_args(argv)


def overlay(env: str) -> Path:
    known = sorted(path.parent.name for path in OVERLAYS.glob("*/kustomization.yaml"))
    if env not in known:
        raise PinError(f"no overlay for environment {env!r}; choose one of {', '.join(known)}")
    return OVERLAYS / env / "kustomization.yaml"


def champion_version(env: str) -> str:
    """The version @champion names in ``env``'s registry (the package's own settings and store)."""
    from mlflow import MlflowClient

    from {{ cookiecutter.__package_name }} import registry
    from {{ cookiecutter.__package_name }}.runtime.tracking import use_store
    from {{ cookiecutter.__package_name }}.settings import load_settings

    settings = load_settings(env)
    use_store(settings)
    return registry.champion(MlflowClient(), settings.model_name).version


def checked_version(text: str) -> str:
    if not re.fullmatch(r"[1-9][0-9]*", text):
        raise PinError(f"version {text!r} is not a registered model version (1, 2, ...) nor {CHAMPION!r}")
    return text


def pin(path: Path, version: str, tag: str | None) -> tuple[str, bool]:
    """Rewrite the overlay; (its new text, whether it changed)."""
    text = path.read_text(encoding="utf-8")
    if len(VERSION_LINE.findall(text)) != 1 or len(TAG_LINE.findall(text)) != 1:
        raise PinError(f"{path.relative_to(ROOT)} must have one MLOPS_SERVE_MODEL_VERSION literal and one newTag")
    new = VERSION_LINE.sub(lambda m: m.group(1) + version, text)
    if tag is not None:
        new = TAG_LINE.sub(lambda m: f'{m.group(1)}"{tag}"', new)  # quoted: a tag such as 1.10 stays text
    if new != text:
        path.write_text(new, encoding="utf-8")
    return new, new != text


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        path = overlay(args.env)
        if args.image_tag is not None and not IMAGE_TAG.fullmatch(args.image_tag):
            raise PinError(f"image tag {args.image_tag!r} is not a valid tag (letters, digits, '_', '.', '-')")
        version = champion_version(args.env) if args.version == CHAMPION else checked_version(args.version)
        text, changed = pin(path, version, args.image_tag)
    except Exception as error:  # one line for the pipeline's log, whatever went wrong
        print(f"error: {(str(error).splitlines() or [type(error).__name__])[0]}", file=sys.stderr)
        return 1
    tag = TAG_LINE.search(text).group(2).strip('"')
    print(f"{args.env}: model version {version}, image tag {tag} "
          f"({path.relative_to(ROOT).as_posix()} {'updated' if changed else 'unchanged'})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
