"""Implicit-feedback recommenders: interactions, models, top-K, ranking metrics."""

from __future__ import annotations

from shipyard.recsys.data import Interactions, time_split
from shipyard.recsys.metrics import per_user_metrics, ranking_metrics
from shipyard.recsys.model import KINDS, RecModel, fit_recommender

__all__ = ["KINDS", "Interactions", "RecModel", "fit_recommender", "per_user_metrics",
           "ranking_metrics", "time_split"]
