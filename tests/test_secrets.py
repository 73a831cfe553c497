"""No render holds a secret: every supported combination of answers, scanned with Yelp's
detect-secrets (its default plugins: cloud keys, private keys, tokens, high-entropy strings,
keywords such as password= …). The project reaches Azure and Databricks through managed
identities, service connections and Key Vault references, never a literal credential."""

from __future__ import annotations

import hashlib
import random
import string

import pytest
from detect_secrets import SecretsCollection
from detect_secrets.settings import default_settings

from conftest import NON_DEFAULT_ANSWERS, SUPPORTED, files_under


# (path in the project, SHA-256 of its bytes) → the kinds of secret found in it. The renders share
# most of their files byte for byte: each distinct file is scanned once (same name and bytes, same
# findings), which makes the 14 scans 10 times cheaper.
_SCANNED: dict[tuple[str, str], list[str]] = {}


def _findings(root) -> dict[str, list[str]]:
    """File → the kinds of secret detect-secrets reports in it."""
    found = {}
    with default_settings():
        for path in files_under(root):
            key = (str(path.relative_to(root)), hashlib.sha256(path.read_bytes()).hexdigest())
            if key not in _SCANNED:
                scan = SecretsCollection()
                scan.scan_file(str(path))
                _SCANNED[key] = sorted({secret["type"] for secrets in scan.json().values() for secret in secrets})
            if _SCANNED[key]:
                found[str(path)] = _SCANNED[key]
    return found


@pytest.mark.parametrize("answers", [*SUPPORTED, pytest.param(NON_DEFAULT_ANSWERS, id="non-default-answers")])
def test_a_render_holds_no_secret(cookies_session, answers):
    result = cookies_session.bake(extra_context=answers)
    assert result.exit_code == 0, result.exception
    assert _findings(result.project_path) == {}


def test_the_scan_finds_a_secret_planted_in_a_render(cookies_session, tmp_path):
    """The scan above can fail: a key written into a rendered file is reported."""
    result = cookies_session.bake()
    key = "AKIA" + "".join(random.Random(7).choices(string.ascii_uppercase + string.digits, k=16))
    settings = result.project_path / "conf" / "project.yml"
    settings.write_text(settings.read_text() + f"\naws_access_key_id: {key}\n")
    try:
        assert "AWS Access Key" in _findings(result.project_path).get(str(settings), [])
    finally:
        settings.write_text(settings.read_text().replace(f"\naws_access_key_id: {key}\n", ""))
