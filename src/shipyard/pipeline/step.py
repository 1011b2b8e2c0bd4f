"""One step of a pipeline: a plain Python function, where its arguments come from, what it makes.

Steps stay plain functions (kedro's rule): they never open Delta tables or files; the runner
reads their inputs and stores their outputs. That keeps them testable by calling them, and lets
the same step run in-process or on a Dask worker.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, cast

from shipyard.errors import PipelineDefinitionError, PipelineError
from shipyard.lake.tables import LAYERS, Layer

if TYPE_CHECKING:
    from shipyard.config.schema import TuningConfig
    from shipyard.project import Project

__all__ = ["RESERVED", "RunContext", "Source", "Step", "parse_source", "step"]

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
RESERVED = frozenset({"params", "context"})
"""Input names with a meaning of their own; no step may call an output this."""

SourceKind = Literal["lake", "param", "params", "context", "output"]
_FORMAT = (
    "Inputs are '<layer>.<table>' or '<layer>.<table>@<version>' (lake), 'params:<name>', "
    "'params', 'context', or the output name of another step."
)


@dataclass(frozen=True)
class Source:
    """Where one argument of a step comes from, parsed from its text (``"params:seed"``).

    Attributes:
        kind: ``lake``, ``param``, ``params`` (all of them), ``context`` or ``output``.
        name: The parameter or output name; for a lake table ``<layer>.<table>``.
        version: The pinned lake version, or None for the latest at run start.
        text: The source as written, for messages.
    """

    kind: SourceKind
    name: str
    text: str
    version: int | None = None

    @property
    def layer(self) -> Layer:
        return cast("Layer", self.name.split(".", 1)[0])  # parse_source checked it

    @property
    def table(self) -> str:
        return self.name.split(".", 1)[1]


def _step_error(name: str, message: str) -> PipelineError:
    return PipelineDefinitionError(
        f"Invalid step {name!r}: {message}\n"
        f"Format: step(function, inputs={{'argument': 'source'}}, outputs='name')"
    )


def parse_source(text: str, *, step_name: str = "?") -> Source:
    """Parse an input source; a malformed one raises an error naming the step and the forms."""
    if not isinstance(text, str) or not text:
        raise _step_error(step_name, f"input source {text!r} is not a non-empty string. {_FORMAT}")
    if text in ("params", "context"):
        return Source(kind="params" if text == "params" else "context", name=text, text=text)
    if text.startswith("params:"):
        name = text.removeprefix("params:")
        if not _NAME.match(name):
            raise _step_error(step_name, f"{text!r} does not name a parameter; write 'params:seed'")
        return Source(kind="param", name=name, text=text)
    if "." in text:
        ref, _, version_text = text.partition("@")
        layer, _, table = ref.partition(".")
        if layer not in LAYERS or not _NAME.match(table):
            raise _step_error(
                step_name,
                f"{text!r} is not a lake table; write '<layer>.<table>' with layer one of "
                f"{', '.join(LAYERS)}, e.g. 'curated.training_set'",
            )
        version: int | None = None
        if version_text and version_text != "latest":
            if not version_text.isdigit():
                raise _step_error(
                    step_name, f"{text!r}: version {version_text!r} is not a number or 'latest'"
                )
            version = int(version_text)
        return Source(kind="lake", name=ref, text=text, version=version)
    if not _NAME.match(text):
        raise _step_error(step_name, f"input source {text!r} is not valid. {_FORMAT}")
    return Source(kind="output", name=text, text=text)


@dataclass(frozen=True, eq=False)
class Step:
    """A function bound to its input sources and output names; build it with :func:`step`.

    Attributes:
        func: The plain function that does the work.
        inputs: Argument name → where its value comes from.
        outputs: Names of what it returns, in order.
        name: Unique name in the pipeline (default: the function's name).
        unpack: True when ``outputs`` was given as a list: the function returns a tuple.
        cache: False for a step with an effect outside the run (publishing results): it runs
            every time, and so does everything downstream of it.
    """

    func: Callable[..., Any]
    inputs: Mapping[str, Source]
    outputs: tuple[str, ...]
    name: str
    unpack: bool = False
    cache: bool = True

    @property
    def upstream_outputs(self) -> list[str]:
        """Outputs of other steps that this step reads."""
        return [s.name for s in self.inputs.values() if s.kind == "output"]

    def __repr__(self) -> str:
        inputs = ", ".join(f"{arg}={src.text!r}" for arg, src in self.inputs.items())
        return f"step({self.name}: {inputs} -> {', '.join(self.outputs) or 'nothing'})"


def _bind(func: Callable[..., Any], name: str,
          inputs: Mapping[str, str] | Sequence[str] | str | None) -> dict[str, Source]:
    try:
        signature = inspect.signature(func)
    except (TypeError, ValueError):
        raise _step_error(name, f"cannot read the signature of {func!r}") from None
    parameters = signature.parameters
    fname = getattr(func, "__name__", name)
    positional = [p for p in parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    takes_kwargs = any(p.kind is p.VAR_KEYWORD for p in parameters.values())
    if isinstance(inputs, str):
        inputs = [inputs]
    mapping: dict[str, str] = {}
    if isinstance(inputs, Mapping):
        mapping = dict(inputs)
    elif inputs is not None:
        if len(inputs) > len(positional):
            raise _step_error(name, f"{len(inputs)} inputs given but {fname}() takes "
                                    f"{len(positional)} positional arguments")
        mapping = {p.name: source for p, source in zip(positional, inputs, strict=False)}
    for argument in mapping:
        if argument not in parameters and not takes_kwargs:
            known = ", ".join(parameters) or "none"
            raise _step_error(name, f"{fname}() has no argument {argument!r}; "
                                    f"its arguments are: {known}")
    for p in parameters.values():
        needed = p.default is p.empty and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
        if needed and p.name not in mapping:
            raise _step_error(name, f"argument {p.name!r} of {fname}() has no input; "
                                    f"add it to inputs, e.g. inputs={{{p.name!r}: 'params:{p.name}'}}")
    return {arg: parse_source(source, step_name=name) for arg, source in mapping.items()}


def step(
    func: Callable[..., Any],
    inputs: Mapping[str, str] | Sequence[str] | str | None = None,
    outputs: str | Sequence[str] | None = None,
    *,
    name: str | None = None,
    cache: bool = True,
) -> Step:
    """Declare a pipeline step: a plain function, where its arguments come from, what it returns.

    Args:
        func: The function. Its code (and the project-local code it calls) is part of the
            step's fingerprint, so changing it re-runs the step and everything downstream.
        inputs: Argument name → source (a dict), or sources in the order of the function's
            arguments (a list or a single string). Sources are ``<layer>.<table>[@<version>]``,
            ``params:<name>``, ``params``, ``context`` or another step's output name.
        outputs: The name of the returned value, or a list of names when it returns a tuple,
            or None when the step returns nothing worth keeping.
        name: Unique step name; defaults to the function's name.
        cache: False when the step acts on the world (e.g. publishes recommendations): it is
            never reused from an earlier run.

    Returns:
        The :class:`Step`, to be put in a :class:`~shipyard.pipeline.Pipeline`.

    Raises:
        PipelineError: a) an argument without input or an input that is not an argument,
            b) a malformed source, c) an output name that is not an identifier or is reserved.

    Example:
        >>> def double(x: int) -> int:
        ...     return 2 * x
        >>> step(double, inputs={"x": "params:x"}, outputs="doubled")
        step(double: x='params:x' -> doubled)
    """
    if not callable(func):
        raise PipelineDefinitionError(f"step(): {func!r} is not a function; pass the function itself")
    step_name = name or getattr(func, "__name__", None) or type(func).__name__
    if not _NAME.match(step_name):
        raise _step_error(step_name, "a step name must be an identifier; pass name='...'")
    unpack = outputs is not None and not isinstance(outputs, str)
    names = () if outputs is None else (outputs,) if isinstance(outputs, str) else tuple(outputs)
    for output in names:
        if not isinstance(output, str) or not _NAME.match(output):
            raise _step_error(step_name, f"output {output!r} must be an identifier "
                                         f"(letters, digits, _), e.g. 'model'")
        if output in RESERVED:
            raise _step_error(step_name, f"output name {output!r} is reserved; choose another")
    if len(set(names)) != len(names):
        raise _step_error(step_name, f"outputs {list(names)} repeat a name")
    return Step(func=func, inputs=_bind(func, step_name, inputs), outputs=names,
                name=step_name, unpack=unpack, cache=cache)


@dataclass
class RunContext:
    """What a step that asks for ``"context"`` gets: the run it is part of, and a metrics logger.

    Attributes:
        run_id: Shipyard run id (``train-20261125-1432-ab12``).
        pipeline: Pipeline name.
        step: Name of the step this context was made for.
        project: The open project (stores, config, environment).
        env: Environment name (``dev``, ``prod``).
        params: All parameters of the run, after ``--params`` overrides.
        smoke: True under ``--smoke``: train briefly, register nothing.
        sample: Fraction of lake rows read under ``--sample``, else None.
        tuning: The pipeline's tuning settings (``trials=1`` in smoke mode), or None.
        tracking_run_id: The run's parent run in the tracking store (MLflow) when the project
            records runs there; open nested runs under it (see ``shipyard.train.tune``).
        data_versions: Lake table → version read by this run.
    """

    run_id: str
    pipeline: str
    step: str
    project: Project
    env: str
    params: dict[str, Any]
    smoke: bool
    sample: float | None
    tuning: TuningConfig | None
    tracking_run_id: str | None
    data_versions: dict[str, int]
    _metrics: list[tuple[str, float, int, int]] = field(default_factory=list, repr=False)

    def log_metrics(self, metrics: Mapping[str, float], step: int | None = None) -> None:
        """Log metrics to this step's tracked run.

        They are buffered and sent in the one batch call the runner makes when the step ends,
        so logging in a loop costs nothing per call and works the same on a Dask worker.
        """
        import time

        stamp = int(time.time() * 1000)
        for key, value in metrics.items():
            try:
                number = float(value)
            except (TypeError, ValueError):
                raise PipelineDefinitionError(
                    f"step {self.step!r}: metric {key!r} must be a number, got {value!r}"
                ) from None
            self._metrics.append((str(key), number, stamp, step or 0))
