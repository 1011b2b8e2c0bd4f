"""Building a pipeline: every wiring mistake is an error naming the step and the fix."""

from __future__ import annotations

import re

import pytest

import shipyard.pipeline
from shipyard.errors import PipelineDefinitionError
from shipyard.pipeline import Pipeline, step


def load(n: int) -> list[int]:
    return list(range(n))


def total(xs: list[int]) -> int:
    return sum(xs)


def pair(xs: list[int]) -> tuple[int, int]:
    return min(xs), max(xs)


def echo(x: int, y: int = 0) -> int:
    return x + y


def test_steps_are_sorted_by_dependency_and_named_after_their_function() -> None:
    built = Pipeline([
        step(total, {"xs": "numbers"}, "sum"),
        step(load, {"n": "params:n"}, "numbers"),
        step(pair, "numbers", ["low", "high"]),
    ])
    assert [s.name for s in built.steps] == ["load", "total", "pair"]
    assert built.step("pair").unpack and built.step("pair").outputs == ("low", "high")
    assert sorted(built.outputs) == ["high", "low", "numbers", "sum"]
    assert [s.name for s in built.upstream(built.step("total"))] == ["load"]


def test_sources_are_parsed_by_kind() -> None:
    s = step(echo, {"x": "curated.orders@3", "y": "params:y"}, "z")
    assert (s.inputs["x"].kind, s.inputs["x"].layer, s.inputs["x"].table,
            s.inputs["x"].version) == ("lake", "curated", "orders", 3)
    assert s.inputs["y"].kind == "param" and s.inputs["y"].name == "y"
    assert step(echo, {"x": "clean.orders@latest"}).inputs["x"].version is None
    assert step(echo, {"x": "context"}).inputs["x"].kind == "context"


@pytest.mark.parametrize(("build", "message"), [
    (lambda: Pipeline([step(load, {"n": "params:n"}, "numbers"),
                       step(total, {"xs": "numbrs"}, "sum")]),
     ("Step 'total' reads 'numbrs' (argument 'xs'), which no step outputs. Did you mean "
      "'numbers'?")),
    (lambda: Pipeline([step(load, {"n": "params:n"}, "numbers"),
                       step(load, {"n": "params:m"}, "more")]),
     ("Step name 'load' appears more than once in the pipeline; step names must be unique. "
      "Name the steps with step(..., name='load_2').")),
    (lambda: Pipeline([step(load, {"n": "params:n"}, "numbers"),
                       step(total, {"xs": "params:xs"}, "numbers")]),
     "Output 'numbers' is made by both step 'load' and step 'total'"),
    (lambda: Pipeline([step(echo, {"x": "b"}, "a", name="one"),
                       step(echo, {"x": "a"}, "b", name="two")]),
     "Circular dependencies exist among the following 2 step(s): one -> two -> one"),
    (lambda: step(echo, {"y": "params:y"}, "z"),
     "argument 'x' of echo() has no input; add it to inputs"),
    (lambda: step(echo, {"x": "params:x", "w": "params:w"}, "z"),
     "echo() has no argument 'w'; its arguments are: x, y"),
    (lambda: step(echo, {"x": "gold.orders"}, "z"),
     ("'gold.orders' is not a lake table; write '<layer>.<table>' with layer one of raw, clean, "
      "curated")),
    (lambda: step(echo, {"x": "clean.orders@v2"}, "z"),
     "version 'v2' is not a number or 'latest'"),
    (lambda: step(echo, {"x": "params:x"}, "params"),
     "output name 'params' is reserved"),
    (lambda: step(echo, {"x": "params:x"}, "my-output"),
     "output 'my-output' must be an identifier"),
    (lambda: Pipeline([]), "a pipeline needs at least one step"),
    (lambda: Pipeline([echo]), "Pipeline([...]) takes steps made with step("),
])
def test_wiring_mistakes_are_refused_when_the_pipeline_is_built(build, message: str) -> None:
    with pytest.raises(PipelineDefinitionError, match=re.escape(message)):
        build()


def test_a_step_reading_its_own_output_is_a_cycle() -> None:
    with pytest.raises(PipelineDefinitionError, match=r"following 1 step\(s\): echo -> echo"):
        Pipeline([step(echo, {"x": "z"}, "z")])


def test_the_public_api_is_exactly_all() -> None:
    names = shipyard.pipeline.__all__
    assert names == sorted(names)
    for name in names:
        assert hasattr(shipyard.pipeline, name), name
    assert {"Pipeline", "step", "Step", "RunContext", "run_with_hooks", "RunResult",
            "RunObserver"} <= set(names)
