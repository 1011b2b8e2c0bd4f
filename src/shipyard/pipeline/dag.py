"""A pipeline: steps wired into a DAG by their output names, checked whole when it is built.

Every mistake that can be found without running anything — a name used twice, an input no step
makes, a cycle — is found in ``Pipeline(...)``, before data is read or a run is recorded
(kedro validates in the constructor, metaflow lints before running; both are right).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Iterator, Sequence

from shipyard.errors import PipelineDefinitionError, PipelineError
from shipyard.pipeline.step import Step

__all__ = ["Pipeline"]


class Pipeline:
    """Steps in dependency order; build it from :func:`~shipyard.pipeline.step` results.

    Example:
        >>> from shipyard.pipeline import Pipeline, step
        >>> def load(n: int) -> list[int]:
        ...     return list(range(n))
        >>> def total(xs: list[int]) -> int:
        ...     return sum(xs)
        >>> p = Pipeline([step(total, {"xs": "numbers"}, "sum"),
        ...               step(load, {"n": "params:n"}, "numbers")])
        >>> [s.name for s in p.steps]
        ['load', 'total']
    """

    def __init__(self, steps: Iterable[Step | Pipeline]) -> None:
        flat: list[Step] = []
        for item in steps:
            if isinstance(item, Pipeline):
                flat.extend(item.steps)
            elif isinstance(item, Step):
                flat.append(item)
            else:
                raise PipelineDefinitionError(
                    f"Pipeline([...]) takes steps made with step(function, inputs, outputs); "
                    f"got {item!r}"
                )
        if not flat:
            raise PipelineDefinitionError("a pipeline needs at least one step")
        self._producers = _check_names(flat)
        _check_inputs(flat, self._producers)
        self._steps = _toposort(flat, self._producers)

    @property
    def steps(self) -> tuple[Step, ...]:
        """Steps in an order where every step comes after the steps it reads from."""
        return self._steps

    @property
    def outputs(self) -> dict[str, Step]:
        """Output name → the step that makes it."""
        return dict(self._producers)

    def step(self, name: str) -> Step:
        for s in self._steps:
            if s.name == name:
                return s
        raise PipelineError(f"no step {name!r}; steps: {', '.join(s.name for s in self._steps)}")

    def upstream(self, step: Step) -> list[Step]:
        """The steps whose outputs ``step`` reads directly."""
        seen: dict[str, Step] = {}
        for output in step.upstream_outputs:
            producer = self._producers[output]
            seen.setdefault(producer.name, producer)
        return list(seen.values())

    def __add__(self, other: Pipeline) -> Pipeline:
        return Pipeline([self, other])

    def __iter__(self) -> Iterator[Step]:
        return iter(self._steps)

    def __len__(self) -> int:
        return len(self._steps)

    def __repr__(self) -> str:
        return f"Pipeline([{', '.join(s.name for s in self._steps)}])"


def _check_names(steps: Sequence[Step]) -> dict[str, Step]:
    names: set[str] = set()
    producers: dict[str, Step] = {}
    for s in steps:
        if s.name in names:
            raise PipelineDefinitionError(
                f"Step name {s.name!r} appears more than once in the pipeline; step names must "
                f"be unique. Name the steps with step(..., name='{s.name}_2')."
            )
        names.add(s.name)
        for output in s.outputs:
            if output in producers:
                raise PipelineDefinitionError(
                    f"Output {output!r} is made by both step {producers[output].name!r} and step "
                    f"{s.name!r}; every output must have exactly one producer. Rename one of them."
                )
            producers[output] = s
    return producers


def _check_inputs(steps: Sequence[Step], producers: dict[str, Step]) -> None:
    for s in steps:
        for argument, source in s.inputs.items():
            if source.kind != "output" or source.name in producers:
                continue
            close = difflib.get_close_matches(source.name, list(producers), n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            known = ", ".join(sorted(producers)) or "none"
            raise PipelineDefinitionError(
                f"Step {s.name!r} reads {source.name!r} (argument {argument!r}), which no step "
                f"outputs.{hint} Outputs of this pipeline: {known}. A lake table is written "
                f"'<layer>.<table>', a parameter 'params:<name>'."
            )


def _toposort(steps: Sequence[Step], producers: dict[str, Step]) -> tuple[Step, ...]:
    """Kahn's algorithm, keeping declaration order among ready steps (stable, predictable)."""
    waiting = {s.name: {producers[o].name for o in s.upstream_outputs} for s in steps}
    ordered: list[Step] = []
    remaining = list(steps)
    while remaining:
        ready = [s for s in remaining if not waiting[s.name]]
        if not ready:
            cycle = _find_cycle({s.name: waiting[s.name] for s in remaining})
            raise PipelineDefinitionError(
                f"Circular dependencies exist among the following {len(cycle)} step(s): "
                f"{' -> '.join([*cycle, cycle[0]])}. A step cannot read, even indirectly, "
                f"what it outputs; split the step or remove one of the inputs."
            )
        for s in ready:
            ordered.append(s)
            remaining.remove(s)
            for deps in waiting.values():
                deps.discard(s.name)
    return tuple(ordered)


def _find_cycle(waiting: dict[str, set[str]]) -> list[str]:
    """One cycle among steps that all still wait (each has an unresolved dependency)."""
    start = next(iter(waiting))
    path: list[str] = [start]
    while True:
        nxt = min(waiting[path[-1]])
        if nxt in path:
            return path[path.index(nxt):]
        path.append(nxt)
