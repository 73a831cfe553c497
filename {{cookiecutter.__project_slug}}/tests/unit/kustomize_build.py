"""The kustomize builtins that deploy/k8s uses, in Python, so that the overlays build on a machine
without kubectl (a fresh CI agent): ``resources`` (files and other kustomizations),
``configMapGenerator`` (literals; create and merge), ``namespace``, ``replicas``, ``images`` and
``patches`` (JSON 6902, targeted by kind and name). A ConfigMap from a generator is named with
kustomize's content hash, and the Deployment's references to it follow.

Anything else in a kustomization is refused, not ignored: an overlay that grows a feature this
subset lacks fails here instead of building differently. tests/unit/test_container.py compares the
result with ``kubectl kustomize`` wherever kubectl is installed.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import yaml

SUPPORTED = {"apiVersion", "kind", "resources", "namespace", "replicas", "images", "configMapGenerator", "patches"}
GENERATOR_KEYS = {"name", "behavior", "literals"}
SCALABLE = {"Deployment", "StatefulSet", "ReplicaSet"}
# kustomize's hash alphabet: the first ten hex digits, with the letters that read like others swapped.
HASH_LETTERS = str.maketrans({"0": "g", "1": "h", "3": "k", "a": "m", "e": "t"})


def build(directory: str | Path) -> list[dict[str, Any]]:
    """What ``kubectl kustomize <directory>`` prints, as a list of objects."""
    resources, generated = _layer(Path(directory))
    renamed = {}
    for resource in resources:
        name = resource["metadata"]["name"]
        if resource["kind"] == "ConfigMap" and name in generated:
            resource["metadata"]["name"] = renamed[name] = f"{name}-{config_map_hash(resource)}"
    for resource in resources:
        for reference in _config_map_references(resource):
            reference["name"] = renamed.get(reference["name"], reference["name"])
    return resources


def config_map_hash(config_map: dict[str, Any]) -> str:
    """kustomize's suffix: SHA-256 of the ConfigMap's kind, name and data as Go's json.Marshal
    writes them (sorted keys, no spaces, <, >, & and U+2028/9 escaped), first ten hex digits re-lettered.

    The name is hashed as "": kustomize 5 (kubectl 1.27 to 1.33 alike) looks it up as one field
    called "metadata/name", which no object has. Only the data moves the suffix."""
    fields = {"data": config_map.get("data", {}), "kind": "ConfigMap", "name": ""}
    encoded = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    for char, escape in (("&", "\\u0026"), ("<", "\\u003c"), (">", "\\u003e"), ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        encoded = encoded.replace(char, escape)
    return hashlib.sha256(encoded.encode()).hexdigest()[:10].translate(HASH_LETTERS)


def _layer(directory: Path) -> tuple[list[dict[str, Any]], set[str]]:
    """One kustomization: its resources and generators, then its transformers."""
    spec = yaml.safe_load((directory / "kustomization.yaml").read_text(encoding="utf-8"))
    unknown = sorted(set(spec) - SUPPORTED)
    if unknown:
        raise ValueError(f"{directory}: {', '.join(unknown)} is not in the subset this build implements")
    resources: list[dict[str, Any]] = []
    generated: set[str] = set()
    for entry in spec.get("resources", []):
        path = directory / entry
        if path.is_dir():
            more, names = _layer(path)
            resources += more
            generated |= names
        else:
            resources += [doc for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc]
    for generator in spec.get("configMapGenerator", []):
        generated.add(_generate(resources, generator, directory))
    for patch in spec.get("patches", []):
        _patch(resources, patch)
    if "namespace" in spec:
        for resource in resources:
            resource["metadata"]["namespace"] = spec["namespace"]
    for replicas in spec.get("replicas", []):
        for resource in _named(resources, replicas["name"], SCALABLE):
            resource["spec"]["replicas"] = int(replicas["count"])
    for image in spec.get("images", []):
        for container in (c for r in resources for c in _containers(r)):
            _retag(container, image)
    return resources, generated


def _generate(resources: list[dict[str, Any]], generator: dict[str, Any], directory: Path) -> str:
    unknown = sorted(set(generator) - GENERATOR_KEYS)
    if unknown:
        raise ValueError(f"{directory}: configMapGenerator {', '.join(unknown)} is not implemented here")
    name, behavior = generator["name"], generator.get("behavior", "create")
    data = dict(literal.split("=", 1) for literal in generator.get("literals", []))
    existing = [r for r in resources if r["kind"] == "ConfigMap" and r["metadata"]["name"] == name]
    if behavior == "create":
        if existing:
            raise ValueError(f"{directory}: ConfigMap {name} already exists (use behavior: merge)")
        resources.append({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": data})
    elif behavior in ("merge", "replace") and len(existing) == 1:
        existing[0]["data"] = {**existing[0]["data"], **data} if behavior == "merge" else data
    else:
        raise ValueError(f"{directory}: configMapGenerator {name}: behavior {behavior!r} has nothing to act on")
    return name


def _patch(resources: list[dict[str, Any]], patch: dict[str, Any]) -> None:
    target = patch["target"]
    if set(target) - {"kind", "name"} or set(patch) - {"target", "patch"}:
        raise ValueError(f"patch {target}: only JSON 6902 patches targeted by kind and name are implemented")
    matched = _named(resources, target["name"], {target["kind"]})
    if not matched:
        raise ValueError(f"patch {target}: no such resource")
    for resource in matched:
        for operation in yaml.safe_load(patch["patch"]):
            _apply(resource, operation)


def _apply(document: dict[str, Any], operation: dict[str, Any]) -> None:
    *parents, last = [part.replace("~1", "/").replace("~0", "~") for part in operation["path"].split("/")[1:]]
    node: Any = document
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    key: Any = int(last) if isinstance(node, list) and last != "-" else last
    if operation["op"] == "remove":
        del node[key]
    elif operation["op"] == "replace":
        if (key not in node) if isinstance(node, dict) else not 0 <= key < len(node):
            raise ValueError(f"JSON patch replace: nothing at {operation['path']}")  # RFC 6902
        node[key] = operation["value"]
    elif operation["op"] == "add":
        if isinstance(node, list):
            node.insert(len(node) if key == "-" else key, operation["value"])
        else:
            node[key] = operation["value"]
    else:
        raise ValueError(f"JSON patch op {operation['op']!r} is not implemented here")


def _named(resources: list[dict[str, Any]], name: str, kinds: set[str]) -> list[dict[str, Any]]:
    return [r for r in resources if r["kind"] in kinds and r["metadata"]["name"] == name]


def _pod_spec(resource: dict[str, Any]) -> dict[str, Any]:
    return resource.get("spec", {}).get("template", {}).get("spec", {}) if resource["kind"] in SCALABLE else {}


def _containers(resource: dict[str, Any]) -> list[dict[str, Any]]:
    spec = _pod_spec(resource)
    return [*spec.get("initContainers", []), *spec.get("containers", [])]


def _retag(container: dict[str, Any], image: dict[str, Any]) -> None:
    """kustomize's images: a container whose image (without tag or digest) is ``name`` gets
    ``newName`` and ``newTag``."""
    current = container["image"]
    name, _, digest = current.partition("@")
    slash = name.rfind("/")
    colon = name.rfind(":")
    base, tag = (name[:colon], name[colon + 1:]) if colon > slash else (name, "")
    if base != image["name"]:
        return
    base = image.get("newName", base)
    tag = str(image.get("newTag", tag))
    container["image"] = base + (f":{tag}" if tag else "") + ("" if "newTag" in image or not digest else f"@{digest}")


def _config_map_references(resource: dict[str, Any]) -> list[dict[str, Any]]:
    """The places of a workload that name a ConfigMap (envFrom, env, volumes)."""
    spec = _pod_spec(resource)
    found = []
    for container in _containers(resource):
        found += [source["configMapRef"] for source in container.get("envFrom", []) if "configMapRef" in source]
        found += [variable["valueFrom"]["configMapKeyRef"] for variable in container.get("env", [])
                  if "configMapKeyRef" in variable.get("valueFrom", {})]
    found += [volume["configMap"] for volume in spec.get("volumes", []) if "configMap" in volume]
    return found
