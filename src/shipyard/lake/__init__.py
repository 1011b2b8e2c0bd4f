"""The lake: sources → validation → RAW → CLEAN → CURATED, as versioned Delta tables.

Entry points: :func:`shipyard.lake.ingest.ingest`, :class:`shipyard.lake.tables.DeltaStore` and
:mod:`shipyard.lake.quarantine`.
"""
