"""The lake's snapshot manifest, and pipelines reading the lake through it."""

from __future__ import annotations

from pathlib import Path

import pytest

from shipyard.errors import NotFoundError
from shipyard.lake.snapshots import Snapshots
from shipyard.lake.tables import DeltaStore
from shipyard.pipeline import RunStore, run_with_hooks
from shipyard.project import Project
from tests.unit.pipeline.test_project import demo_project, plain_report, points, write_points


def test_snapshots_name_every_table_and_only_the_newest_is_current(tmp_path: Path) -> None:
    store = DeltaStore(str(tmp_path / "lake"))
    store.write("raw", "a", points(10), mode="overwrite", metadata={})
    snapshots = Snapshots(store)
    assert snapshots.latest() is None
    assert snapshots.current().versions == {"raw.a": 0}  # a lake from before snapshots
    first = snapshots.commit({"raw.a": 0}, origin="test")
    store.write("raw", "a", points(20), mode="overwrite", metadata={})
    store.write("clean", "a", points(20), mode="overwrite", metadata={})
    assert snapshots.current() == first  # written, not published
    assert snapshots.newest_versions() == {"raw.a": 1, "clean.a": 0}
    second = snapshots.commit({"raw.a": 1, "clean.a": 0}, origin="test")
    assert (first.id, second.id) == (1, 2)
    assert snapshots.current().versions == {"raw.a": 1, "clean.a": 0}
    assert snapshots.get(1).versions == {"raw.a": 0}
    assert snapshots.published_in("raw", "a") == {0: 1, 1: 2}
    with pytest.raises(NotFoundError, match="no snapshot 9"):
        snapshots.get(9)


@pytest.fixture
def demo(tmp_path: Path) -> Project:
    return demo_project(tmp_path / "demo")


def test_a_pipeline_reads_the_snapshot_not_a_newer_unpublished_version(demo: Project) -> None:
    snapshots = Snapshots(DeltaStore(demo.lake_root))
    snapshots.commit({"curated.points": 0}, origin="test")
    write_points(demo.root, points(seed=5))  # version 1, as an ingest killed before publishing
    result = run_with_hooks(demo, "train")
    assert result.data_versions == {"curated.points": 0, "snapshot": 1}
    assert result.load("report") == plain_report(demo, version=0)
    assert RunStore(demo.metadata_engine).get(result.run_id).data_versions["snapshot"] == 1

    snapshots.commit({"curated.points": 1}, origin="test")
    assert run_with_hooks(demo, "train").data_versions == {"curated.points": 1, "snapshot": 2}
