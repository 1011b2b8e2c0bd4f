"""A recorded run's steps as a graph: which step fed which, and which lake tables each read.

The edges are read back from each step's cache key (:class:`~shipyard.pipeline.cache.CacheKey`),
which names the upstream outputs a step took and the lake versions it read, so a run's graph is
known from its record alone, without importing the project's pipeline code (which may have
changed since). Nodes carry a column (their depth: lake tables first, then each step one
column right of its deepest input) and a row, enough for a picture.
"""

from __future__ import annotations

from dataclasses import dataclass

from shipyard.pipeline.cache import CacheKey, decode_key
from shipyard.tracking.records import RunRecord, StepRecord

__all__ = ["GraphEdge", "GraphNode", "StepGraph", "step_graph", "step_key"]


@dataclass(frozen=True)
class GraphNode:
    id: str
    label: str
    kind: str  # "step" or "table"
    status: str  # a step's status; "read" for a table
    column: int
    row: int


@dataclass(frozen=True)
class GraphEdge:
    source: str
    target: str
    label: str  # the output passed along, or the table version read


@dataclass(frozen=True)
class StepGraph:
    nodes: list[GraphNode]
    edges: list[GraphEdge]

    @property
    def columns(self) -> int:
        return max((n.column for n in self.nodes), default=-1) + 1

    @property
    def rows(self) -> int:
        return max((n.row for n in self.nodes), default=-1) + 1


def step_key(step: StepRecord) -> CacheKey | None:
    """The step's decoded cache key; None when not recorded (a step that never started)."""
    if not step.cache_key:
        return None
    try:
        return decode_key(step.cache_key)
    except (ValueError, TypeError):  # a key of an older format: shown without its edges
        return None


def step_graph(run: RunRecord) -> StepGraph:
    """The graph of ``run``'s steps (see the module docstring)."""
    keys = {s.step: step_key(s) for s in run.steps}
    producer = {out: name for name, key in keys.items() if key for out in key.outputs}
    edges: list[GraphEdge] = []
    tables: dict[str, str] = {}
    for step in run.steps:
        key = keys[step.step]
        if key is None:
            continue
        for output in key.inputs:
            if output in producer:
                edges.append(GraphEdge(f"step:{producer[output]}", f"step:{step.step}", output))
        for table, version in key.data.items():
            tables.setdefault(table, version)
            edges.append(GraphEdge(f"table:{table}", f"step:{step.step}", f"v{version}"))
    depth: dict[str, int] = {f"table:{t}": 0 for t in tables}
    first = 1 if tables else 0
    for step in run.steps:  # recorded in topological order
        node = f"step:{step.step}"
        depth[node] = max((depth.get(e.source, first - 1) + 1 for e in edges if e.target == node),
                          default=first)
    rows: dict[int, int] = {}
    nodes = []
    for table, version in sorted(tables.items()):
        node = f"table:{table}"
        nodes.append(GraphNode(node, f"{table}@{version}", "table", "read", 0, rows.get(0, 0)))
        rows[0] = rows.get(0, 0) + 1
    for step in run.steps:
        node = f"step:{step.step}"
        column = depth[node]
        nodes.append(GraphNode(node, step.step, "step", step.status, column, rows.get(column, 0)))
        rows[column] = rows.get(column, 0) + 1
    return StepGraph(nodes, edges)
