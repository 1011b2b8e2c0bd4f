"""API keys carry a role for the web UI; the API itself still takes any valid key."""

from __future__ import annotations

from pathlib import Path

import pytest

from shipyard.errors import ConfigError
from shipyard.serving.auth import ApiKeys

OPS = "o" * 20
LOOK = "v" * 20


def test_a_plain_key_is_an_operator_and_a_suffix_names_the_role() -> None:
    keys = ApiKeys([OPS, f"{LOOK}:viewer", f"{'w' * 20}:operator"])
    assert keys.role_of(OPS) == "operator"
    assert keys.role_of(LOOK) == "viewer"
    assert keys.role_of("w" * 20) == "operator"
    assert keys.role_of(f"{LOOK}:viewer") is None  # the suffix is not part of the key
    assert keys.role_of("x" * 20) is None and keys.role_of(None) is None and keys.role_of("") is None
    assert keys.accepts(LOOK) and keys.accepts(OPS)  # the API asks only for a valid key
    assert LOOK not in repr(vars(keys))


def test_roles_come_from_a_keys_file_too(tmp_path: Path) -> None:
    (tmp_path / "keys").write_text(f"{OPS}  # ops\n{LOOK}:viewer  # analysts\n")
    keys = ApiKeys.load(tmp_path / "keys")
    assert keys.role_of(OPS) == "operator" and keys.role_of(LOOK) == "viewer"


def test_an_unknown_role_is_refused_without_quoting_the_entry() -> None:
    with pytest.raises(ConfigError, match=":viewer") as refused:
        ApiKeys([f"{OPS}:admin-secret-part"])
    assert "admin-secret-part" not in str(refused.value)


def test_a_short_key_is_refused_whatever_its_role() -> None:
    with pytest.raises(ConfigError, match="shorter than 16"):
        ApiKeys(["short:viewer"])
