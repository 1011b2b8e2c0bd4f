"""API keys carry a role: a viewer reads, an operator may also act (tests/unit/serving/test_api_guards.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from shipyard.errors import ConfigError
from shipyard.serving.auth import ApiKeys

OPS = "o" * 20
HERE = "192.0.2.1"  # the client address keys are checked for
LOOK = "v" * 20


def test_a_plain_key_is_an_operator_and_a_suffix_names_the_role() -> None:
    keys = ApiKeys([OPS, f"{LOOK}:viewer", f"{'w' * 20}:operator"])
    assert keys.role_for(OPS, HERE) == "operator"
    assert keys.role_for(LOOK, HERE) == "viewer"
    assert keys.role_for("w" * 20, HERE) == "operator"
    assert keys.role_for(f"{LOOK}:viewer", HERE) is None  # the suffix is not part of the key
    assert keys.role_for("x" * 20, HERE) is None and keys.role_for(None, HERE) is None
    assert keys.role_for("", HERE) is None
    assert LOOK not in repr(vars(keys))


def test_roles_come_from_a_keys_file_too(tmp_path: Path) -> None:
    (tmp_path / "keys").write_text(f"{OPS}  # ops\n{LOOK}:viewer  # analysts\n")
    keys = ApiKeys.load(tmp_path / "keys")
    assert keys.role_for(OPS, HERE) == "operator" and keys.role_for(LOOK, HERE) == "viewer"


def test_an_unknown_role_is_refused_without_quoting_the_entry() -> None:
    with pytest.raises(ConfigError, match=":viewer") as refused:
        ApiKeys([f"{OPS}:admin-secret-part"])
    assert "admin-secret-part" not in str(refused.value)


def test_a_short_key_is_refused_whatever_its_role() -> None:
    with pytest.raises(ConfigError, match="shorter than 16"):
        ApiKeys(["short:viewer"])
