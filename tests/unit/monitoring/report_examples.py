"""Reports as ``monitor drift`` and ``monitor outcomes`` make them, built by hand: the pages'
examples (tests/unit/monitoring/expected/ holds what each page was before it had a template).

``hostile`` puts markup where a user's names go (a column, a model, a set id, a note), which
the page must show as text.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from shipyard.config.schema import MonitoringSettings
from shipyard.monitoring.findings import ColumnResult, DriftReport
from shipyard.monitoring.outcomes import Outcome, OutcomesReport, Scores
from shipyard.monitoring.stats import Test
from shipyard.monitoring.window import Window

AT = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
HOSTILE = "<script>alert(1)</script>"


def drift_example(*, hostile: bool = False) -> DriftReport:
    """Two columns under skew and drift (one drifted), a column of its own thresholds, a note."""
    odd = HOSTILE if hostile else "fare"
    settings = MonitoringSettings.model_validate({"columns": {odd: {"min_effect": 0.1}}})
    moved = Test(test="ks", statistic=0.31, p_value=1e-9, effect=0.31, psi=0.42,
                 null_rate=(0.0, 0.0), null_p=1.0, null_effect=0.0, drifted=True,
                 reason=f"KS D 0.31 ≥ 0.025 {odd}" if hostile else "KS D 0.31 ≥ 0.025")
    still = Test(test="chi2", statistic=1.5, p_value=0.47, effect=0.01, psi=0.003,
                 null_rate=(0.1, 0.1), null_p=0.9, null_effect=0.0, drifted=False,
                 reason="not significant")
    empty = Test(test="none", statistic=None, p_value=None, effect=None, psi=0.0,
                 null_rate=(0.0, 1.0), null_p=0.0, null_effect=0.0, drifted=False,
                 reason="no values in the current window")
    results = [
        ColumnResult(column=odd, kind="skew", numeric=True, test=moved,
                     labels=["[0, 10)", "[10, 20)", "[20, 30)"], reference=[0.5, 0.3, 0.2],
                     current=[0.2, 0.3, 0.5], reference_rows=800, current_rows=1000),
        ColumnResult(column="sex", kind="drift", numeric=False, test=still,
                     labels=["female", "male"], reference=[0.4, 0.6], current=[0.41, 0.59],
                     reference_rows=900, current_rows=1000),
        ColumnResult(column="age", kind="drift", numeric=True, test=empty,
                     labels=["[0, 40)", "[40, 80)"], reference=[0.5, 0.5], current=[0.0, 0.0],
                     reference_rows=900, current_rows=0),
    ]
    return DriftReport(model=HOSTILE if hostile else "titanic", version=3,
                       window=Window(AT - timedelta(days=7), AT), settings=settings, rows=1200,
                       version_rows=1000, previous_rows=900, results=results,
                       notes=[f"version 2 answered 200 rows {odd}" if hostile
                              else "version 2 answered 200 rows & was left out"],
                       created=AT)


def outcomes_example(*, hostile: bool = False) -> OutcomesReport:
    """Two scored sets (a line per metric) and one still waiting for its period's orders."""
    def outcome(n: int, *, scored: bool) -> Outcome:
        return Outcome(set_id=HOSTILE if hostile and n == 1 else f"recommender-v{n}-a{n}",
                       published=AT - timedelta(days=30 * (3 - n)), version=n, k=10,
                       customers=500,
                       period=(date(2026, 8 + n, 1), date(2026, 8 + n, 30)) if scored else None,
                       buyers=120 * n if scored else 0,
                       model=Scores(0.31 + n / 100, 0.05, 0.12) if scored else None,
                       baseline=Scores(0.22, 0.03, 0.08) if scored else None,
                       coverage=0.42, top_share=0.35, gini=0.61,
                       fallback_share=0.05 if n == 1 else None)

    return OutcomesReport(model=HOSTILE if hostile else "recommender",
                          outcomes=[outcome(1, scored=True), outcome(2, scored=True),
                                    outcome(3, scored=False)],
                          notes=[f"the newest set waits for its orders {HOSTILE}" if hostile
                                 else "the newest set waits for next month's orders"],
                          created=AT)
