"""Serving pieces that need no server: API keys and the load generator's bounds."""

from __future__ import annotations

from pathlib import Path

import pytest

from shipyard.errors import ConfigError
from shipyard.serving.auth import ApiKeys
from shipyard.serving.loadtest import run_load

KEY = "k" * 20


def test_keys_are_kept_as_digests_and_checked() -> None:
    keys = ApiKeys([KEY, "second-key-0123456789"])
    assert keys.accepts(KEY) and keys.accepts("second-key-0123456789")
    assert not keys.accepts("k" * 19) and not keys.accepts(None) and not keys.accepts("")
    assert KEY not in repr(vars(keys))  # only digests are held


def test_keys_come_from_a_file_or_the_environment(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "keys").write_text(f"# ops team\n{KEY}\n\n")
    assert ApiKeys.load(tmp_path / "keys").accepts(KEY)
    monkeypatch.setenv("SHIPYARD_API_KEYS", f"{KEY},other-key-0123456789")
    assert ApiKeys.load().accepts("other-key-0123456789")
    monkeypatch.delenv("SHIPYARD_API_KEYS")
    with pytest.raises(ConfigError, match="SHIPYARD_API_KEYS"):
        ApiKeys.load()
    with pytest.raises(ConfigError, match="shorter than 16"):
        ApiKeys(["short"])


def test_a_load_test_must_be_bounded() -> None:
    with pytest.raises(ValueError, match="bounded"):
        run_load("http://127.0.0.1:9/", concurrency=1)
    with pytest.raises(ValueError, match="duration"):
        run_load("http://127.0.0.1:9/", duration_s=601)


def test_connection_errors_are_counted_not_raised() -> None:
    report = run_load("http://127.0.0.1:9/", concurrency=2, requests=4)
    assert report.requests == 4 and report.failures == 4
    assert set(report.statuses) == {"ConnectError"}
