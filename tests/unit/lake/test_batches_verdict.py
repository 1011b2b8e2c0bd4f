"""The last ingest and its one-word verdict, as the UI's overview shows them."""

from __future__ import annotations

from pathlib import Path

from shipyard.db import create_engine_for
from shipyard.lake.batches import BatchRegister, ingest_verdict


def test_the_last_ingest_is_the_newest_batch_s_ingest_with_its_verdict(tmp_path: Path) -> None:
    register = BatchRegister(create_engine_for(f"sqlite:///{tmp_path / 'm.db'}", purpose="test"))
    assert register.last_ingest() == [] and ingest_verdict([]) == "none"
    first = [register.create(t, source_query="q", watermark_from=None, ingest_id="a")
             for t in ("orders", "lines")]
    for b in first:
        register.update(b.id, status="landed")
    assert [b.table_name for b in register.last_ingest()] == ["orders", "lines"]
    assert ingest_verdict(register.last_ingest()) == "landed"
    second = [register.create(t, source_query="q", watermark_from=None, ingest_id="b")
              for t in ("orders", "lines")]
    register.update(second[0].id, status="held")
    register.update(second[1].id, status="rejected")
    assert {b.id for b in register.last_ingest()} == {b.id for b in second}
    assert ingest_verdict(register.last_ingest()) == "rejected"
    for b in second:
        register.update(b.id, status="unchanged")
    assert ingest_verdict(register.last_ingest()) == "unchanged"
