"""The issue's session, driven through the CLI on the recommender example.

example → ingest → lake ls/history → next month lands → drifted month is rejected (exit 3,
lake unchanged, quarantine entry, webhook received) → quarantine show/accept → PII never
reaches CLEAN or CURATED.
"""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path

import pytest
from deltalake import DeltaTable

from tests.e2e.cli import python, run
from tests.e2e.examples import ExampleProjects, add_webhook
from tests.e2e.lake_checks import published, strings_in_files, versions
from tests.receiver import Receiver


@pytest.fixture(scope="module")
def receiver():
    with Receiver() as r:
        yield r


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory, receiver: Receiver,
         example_projects: ExampleProjects) -> Path:
    shop = example_projects.copy("recommender", tmp_path_factory.mktemp("e2e") / "shop")
    add_webhook(shop, receiver.url + "/hook")
    return shop


ENV = {"SHIPYARD_USER": "ana"}


def test_first_ingest_lands_every_layer(shop: Path, receiver: Receiver) -> None:
    done = run("ingest", cwd=shop, env=ENV)
    for table in ("customers", "products", "orders", "order_lines"):
        assert table in done.stdout
    lake = versions(shop / "lake")
    assert {"raw.order_lines", "clean.order_lines", "curated.interactions"} <= set(lake)
    listing = run("lake", "ls", cwd=shop).stdout
    assert "order_lines" in listing and "curated" in listing
    history = run("lake", "history", "order_lines", "--layer", "raw", cwd=shop).stdout
    assert "passed (" in history and "reports" in history


def test_next_month_lands_as_a_new_version(shop: Path, receiver: Receiver) -> None:
    before = versions(shop / "lake")
    python("erp.py", "next-month", cwd=shop)
    run("ingest", cwd=shop, env=ENV)
    after = versions(shop / "lake")
    assert after["raw.order_lines"] == before["raw.order_lines"] + 1
    assert after["clean.order_lines"] == before["clean.order_lines"] + 1
    assert after["curated.interactions"] == before["curated.interactions"] + 1
    old = DeltaTable(str(shop / "lake" / "clean" / "order_lines"), version=before["clean.order_lines"])
    new = DeltaTable(str(shop / "lake" / "clean" / "order_lines"))
    assert new.to_pyarrow_table().num_rows > old.to_pyarrow_table().num_rows  # time travel


def test_drifted_month_is_rejected_and_the_lake_is_unchanged(
    shop: Path, receiver: Receiver
) -> None:
    before = versions(shop / "lake")
    seen = len(receiver.requests)
    python("erp.py", "next-month", "--drift", cwd=shop)
    done = run("ingest", cwd=shop, env=ENV, check=3)
    text = " ".join(done.stdout.split())
    assert "order_lines" in text and "rejected" in text
    assert "quantity" in text and "ks" in text  # which column failed which test
    assert versions(shop / "lake") == before

    listing = run("quarantine", "ls", cwd=shop).stdout
    assert "order_lines" in listing
    (request,) = [r for r in receiver.wait_for(seen + 1, timeout=120)[seen:]
                  if r.json and r.json.get("event") == "batch_rejected"][:1]
    assert request.json["facts"]["table"] == "order_lines"
    assert request.json["details"]["report"]["passed"] is False


def test_a_person_reviews_and_accepts_the_quarantined_batch(
    shop: Path, receiver: Receiver
) -> None:
    db = shop / ".shipyard" / "dev" / "metadata.db"
    with sqlite3.connect(db) as con:
        (batch_id,) = con.execute("SELECT id FROM shipyard_batches WHERE status = 'rejected' "
                                  "AND table_name = 'order_lines'").fetchone()
        held = dict(con.execute("SELECT table_name, id FROM shipyard_batches "
                                "WHERE status = 'held'").fetchall())
    assert {"orders", "customers"} <= set(held)  # the month's orders wait with their lines
    shown = run("quarantine", "show", str(batch_id), cwd=shop).stdout
    assert "quantity" in shown and "FAIL" in shown
    before = versions(shop / "lake")
    done = run("quarantine", "accept", str(batch_id), "--reason", "bulk promotion month",
               cwd=shop, env=ENV)
    after = versions(shop / "lake")
    # The whole ingest lands, in one snapshot: every table of it at its new version.
    ingest = {"order_lines", *held}
    moved = {f"{layer}.{t}" for layer in ("raw", "clean") for t in ingest}
    assert {k: after[k] - before[k] for k in moved} == dict.fromkeys(moved, 1)
    snapshot, published_versions = published(shop / "lake")
    assert {k: published_versions[k] for k in moved} == {k: after[k] for k in moved}
    listing = run("lake", "ls", cwd=shop).stdout
    assert f"snapshot {snapshot} " in listing and "Not published" not in listing
    shown_versions = {f"{layer}.{name}": int(version) for layer, name, version in re.findall(
        r"(raw|clean)\s*│\s*(\w+)\s*│\s*(\d+)\s*│", listing)}
    assert {k: shown_versions[k] for k in moved} == {k: after[k] for k in moved}
    for table in ingest:
        assert table in done.stdout
    history = run("lake", "history", "order_lines", "--layer", "clean", cwd=shop).stdout
    assert str(batch_id) in history
    with sqlite3.connect(db) as con:
        who, why = con.execute("SELECT accepted_by, accept_reason FROM shipyard_batches "
                               "WHERE id = ?", (batch_id,)).fetchone()
        statuses = dict(con.execute(
            "SELECT table_name, status FROM shipyard_batches WHERE id IN "
            f"({', '.join(map(str, held.values()))})"))
    assert (who, why) == ("ana", "bulk promotion month")
    assert statuses == dict.fromkeys(held, "landed")
    events = [r.json.get("event") for r in receiver.requests if r.json]
    assert "quarantine_accepted" in events
    # Nothing of that month is left for the next ingest.
    run("ingest", cwd=shop, env=ENV)
    assert {k: versions(shop / "lake")[k] for k in moved} == {k: after[k] for k in moved}
    assert run("quarantine", "ls", cwd=shop).stdout.startswith("Quarantine is empty")
    said = " ".join(done.stdout.split())
    assert f"Batch {batch_id} counts as an exception" in said and "--as-new-normal" in said
    assert "(an exception)" in run("lake", "history", "order_lines", "--layer", "raw",
                                   cwd=shop).stdout


def test_the_next_normal_month_lands_after_the_accepted_one(shop: Path) -> None:
    """The README's sequence: drift → accept → an ordinary month lands, because the accepted
    batch is an exception, not the reference."""
    db = shop / ".shipyard" / "dev" / "metadata.db"
    with sqlite3.connect(db) as con:
        (accepted,) = con.execute("SELECT id FROM shipyard_batches WHERE table_name = "
                                  "'order_lines' AND accepted_by IS NOT NULL").fetchone()
    python("erp.py", "next-month", cwd=shop)
    run("ingest", cwd=shop, env=ENV)  # exit 0: landed
    with sqlite3.connect(db) as con:
        (latest,) = con.execute("SELECT max(id) FROM shipyard_batches WHERE table_name = "
                                "'order_lines' AND status = 'landed'").fetchone()
    assert latest > accepted
    shown = " ".join(run("quarantine", "show", str(latest), cwd=shop).stdout.split())
    assert f"batch {accepted} accepted as an exception, left out" in shown


def test_no_customer_pii_under_clean_or_curated(shop: Path) -> None:
    with sqlite3.connect(shop / "erp.db") as con:
        pii = {v for row in con.execute("SELECT customer_name, email, phone FROM customers")
               for v in row}
    for layer in ("clean", "curated"):
        data, decoded, columns = strings_in_files(shop / "lake" / layer)
        assert not decoded & pii
        assert not {"customer_name", "email", "phone"} & columns
        sample = sorted(pii)[:50]
        assert not [v for v in sample if v.encode() in data]
    _, raw_values, _ = strings_in_files(shop / "lake" / "raw")
    assert raw_values & pii  # the scan does find them where they are allowed


def test_bad_config_names_the_key_and_the_fix(shop: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken"
    broken.mkdir()
    text = (shop / "shipyard.yaml").read_text().replace("quantity: int32", "quantity: integr")
    (broken / "shipyard.yaml").write_text(text)
    done = run("ingest", cwd=broken, check=2)
    assert "tables.order_lines.clean.types.quantity: unknown type 'integr'" in done.stderr
    json.dumps(done.stderr)  # printable as is
