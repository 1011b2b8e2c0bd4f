"""The lake: sources → validation → RAW → CLEAN → CURATED, as versioned Delta tables."""

from shipyard.lake.ingest import IngestResult, TableOutcome, ingest
from shipyard.lake.tables import LAYERS, DeltaStore, TableVersion

__all__ = ["LAYERS", "DeltaStore", "IngestResult", "TableOutcome", "TableVersion", "ingest"]
