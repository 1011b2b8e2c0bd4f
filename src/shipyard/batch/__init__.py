"""Batch inference: recommendations for every customer, predictions for a file."""

from __future__ import annotations

from shipyard.batch.recommend import Published, publish_recommendations
from shipyard.batch.results import RecommendationSet, ResultsStore

__all__ = ["Published", "RecommendationSet", "ResultsStore", "publish_recommendations"]
