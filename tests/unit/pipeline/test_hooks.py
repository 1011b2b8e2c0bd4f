"""Hooks are checked against the runner's methods, so a misspelt one is not silently skipped."""

from __future__ import annotations

import pytest

from shipyard.errors import PipelineDefinitionError
from shipyard.pipeline.hooks import METHODS, Hooks, RunObserver


class _Spelt:
    def after_run(self, result: object) -> None:
        self.seen = result

    def record(self) -> None:  # any other method is the hook's own business
        """Not a hook method."""


class _Misspelt:
    def after_runs(self, result: object) -> None:
        """Never called by the runner."""


def test_a_hook_method_the_runner_never_calls_is_an_error_naming_the_ones_it_does() -> None:
    with pytest.raises(PipelineDefinitionError, match=r"_Misspelt has after_runs, which the "
                                                     r"runner never calls; .*after_run"):
        Hooks([_Spelt(), _Misspelt()])


def test_hooks_are_called_by_the_observer_methods_they_have() -> None:
    spelt = _Spelt()
    assert Hooks([spelt, RunObserver()]).call("after_run", "done") == [None, None]
    assert spelt.seen == "done"
    assert "after_run" in METHODS and "record" not in METHODS
