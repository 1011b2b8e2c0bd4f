"""The MLflow pyfunc face of a Shipyard recommender (logged as "models from code", no pickle).

``mlflow.pyfunc.load_model(uri).predict(pd.DataFrame({"customer_id": [...]}), params={"k": 5})``
returns each customer's top-K product ids and scores, so any MLflow tool can use the model.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
from mlflow.models import set_model
from mlflow.pyfunc import PythonModel

from shipyard.recsys.model import RecModel


class RecommenderModel(PythonModel):
    """Top-K recommendations for the customers in the input's first column."""

    def load_context(self, context: Any) -> None:
        self.model = RecModel.load(Path(context.artifacts["recommender"]))

    def predict(self, context: Any, model_input: pd.DataFrame,
                params: dict[str, Any] | None = None) -> pd.DataFrame:
        k = int((params or {}).get("k", 10))
        users = model_input.iloc[:, 0].astype(str).tolist()
        answers = self.model.recommend(users, k, exclude_seen=bool(
            self.model.params.get("exclude_seen", False)))
        return pd.DataFrame({"user": users,
                             "items": [[i for i, _ in a] for a in answers],
                             "scores": [[s for _, s in a] for a in answers]})


set_model(RecommenderModel())
