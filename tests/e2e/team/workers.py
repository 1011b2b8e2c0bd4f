"""Functions run in spawned processes by the team tests (importable by name: spawn pickles by
reference). Spawn, not fork: a process forked after deltalake's runtime started hangs."""

from __future__ import annotations

from typing import Any


def append_rows(url: str, writer: int, appends: int, barrier: Any) -> None:
    """Append ``appends`` one-row commits to the Delta table at ``url``, after every writer is
    ready (the barrier), so the commits race for the same versions."""
    import deltalake
    import pyarrow as pa

    barrier.wait(timeout=120)
    for seq in range(appends):
        deltalake.write_deltalake(url, pa.table({"writer": [writer], "seq": [seq]}), mode="append")
