"""What the HTTP API takes and answers, as pydantic models: the OpenAPI document is made of them.

A predict route's body is made at run time from the model's MLflow signature (:func:`row_model`).
Fields are strict: an integer column takes JSON integers within its type's range only (not
``true``, ``"3"`` or ``3.5``), a number column finite numbers only (not ``NaN``, ``Infinity``
or ``1e309``), a text column valid Unicode only (not a lone surrogate such as ``"\ud800"``,
which no table, log or model can hold), and a column the model encodes as categories only the
categories it learnt (:mod:`shipyard.train.categories`), and a number column only values
within the range seen in training widened by ``serving.input_margin`` (its ``minimum`` and
``maximum`` in the OpenAPI document): anything else is a 422 naming the field, the value and
the known ones or the accepted range. Values are refused, never clipped: a model asked about
an age of 1e308 has nothing to say, and an answer for 80 instead would be a quiet lie.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import Path
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, create_model

from shipyard.names import Signature
from shipyard.train.categories import unknown_category

__all__ = ["SECURED", "Error", "Identifier", "PredictionOut", "Predictions", "Ready", "Recommendation",
           "Recommendations", "error_responses", "row_model"]


def _unicode(text: str) -> str:
    """Refuse what cannot be written as UTF-8 (lone surrogates): pandas, Arrow and the
    prediction log all fail on it, far from the request that brought it."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as error:
        raise ValueError(f"text must be valid Unicode; character {error.start} is a lone "
                         f"surrogate") from None
    return text


def _integral(value: Any) -> Any:
    """JSON has one number type: ``3.0`` is the integer 3 (as in JSON Schema), while
    ``true``, ``"3"`` and ``3.5`` are no integers at all (refused by the strict field)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


_FINITE = Field(strict=True, allow_inf_nan=False)
# MLflow column types → strict request field types. A 64-bit column takes the integers JSON
# carries exactly (|n| < 2**53): the OpenAPI document states bounds as floats, and a wider
# bound would read as 2**63, one more than the column holds.
_TYPES: dict[str, Any] = {
    "double": Annotated[float, _FINITE], "float": Annotated[float, _FINITE],
    "long": Annotated[int, Field(strict=True, ge=-(2**53 - 1), le=2**53 - 1),
                      BeforeValidator(_integral)],
    "integer": Annotated[int, Field(strict=True, ge=-2**31, le=2**31 - 1),
                         BeforeValidator(_integral)],
    "string": Annotated[str, Field(strict=True), AfterValidator(_unicode)],
    "boolean": Annotated[bool, Field(strict=True)],
}


_NUMERIC = ("double", "float", "long", "integer")


def _one_of(column: str, known: tuple[Any, ...]) -> Any:
    """A validator refusing a value outside ``known``, naming the column, value and known ones."""
    allowed = set(known)

    def check(value: Any) -> Any:
        if value not in allowed:
            raise ValueError(unknown_category(column, value, known))
        return value
    return check


def _within(column: str, seen: tuple[float, float], margin: float) -> tuple[float, float, Any]:
    """(lowest, highest, validator) of a numeric column whose training values spanned
    ``seen``: widened by ``margin`` times that span on either side (times the values' size,
    or 1, for a column that held one value)."""
    low, high = seen
    width = (high - low) or max(abs(low), abs(high), 1.0)
    lowest, highest = low - margin * width, high + margin * width

    def check(value: Any) -> Any:
        if value is not None and not lowest <= value <= highest:
            raise ValueError(
                f"{column}: {value!r} is outside the range this model takes, {lowest:.6g} to "
                f"{highest:.6g} (training saw {low:.6g} to {high:.6g}, widened by "
                f"serving.input_margin = {margin:g} times that on either side); refused, "
                f"not clipped")
        return value
    return lowest, highest, check


def row_model(name: str, inputs: Signature,
              categories: Mapping[str, tuple[Any, ...]] | None = None,
              ranges: Mapping[str, tuple[float, float]] | None = None, *,
              margin: float = 1.0) -> type[BaseModel]:
    """A row of ``name``'s predict body: a field per input column, typed strictly; a column
    with learnt ``categories`` takes only those (an ``enum`` in the OpenAPI document), a
    numeric column with training ``ranges`` only values within them widened by ``margin``
    (its ``minimum`` and ``maximum``)."""
    fields: dict[str, Any] = {}
    for column, kind, required in inputs:
        python = _TYPES.get(kind, _TYPES["string"])
        known = (categories or {}).get(column)
        seen = (ranges or {}).get(column)
        if known:
            python = Annotated[python, AfterValidator(_one_of(column, known)),
                               Field(json_schema_extra={"enum": list(known)})]
        elif seen is not None and kind in _NUMERIC:
            lowest, highest, check = _within(column, seen, margin)
            python = Annotated[python, AfterValidator(check), Field(json_schema_extra={
                "minimum": lowest, "maximum": highest})]
        fields[column] = (python, ...) if required else (python | None, None)
    return create_model(f"{name.title()}Row", __config__=ConfigDict(extra="forbid"), **fields)


Identifier = Annotated[str, Path(
    pattern=r"^[^\x00]*$", description="Any text but the NUL character, which no database "
                                        "column holds (PostgreSQL refuses it in a query).")]
"""A path segment looked up in a database (a customer, a run): a NUL is a 422 on every
database alike, never the driver's error."""


class Error(BaseModel):
    detail: str


_WHY = {400: "Body not parseable (nested too deep, or a number of over 4,300 digits).",
        401: "Missing or wrong API key.",
        403: "The key's role may not do this: it needs an operator key.",
        404: "Not found (the detail says what).",
        413: "Request body over serving.max_body_bytes.",
        429: "Too many wrong API keys from this address: retry after Retry-After seconds "
             "(a key already right from there is not refused).",
        503: "Overloaded (retry after Retry-After seconds), or the model is not loaded or "
             "cannot answer (see /ready).",
        504: "No answer within serving.timeout_s, waiting included."}


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for the error statuses a route can answer."""
    return {code: {"model": Error, "description": _WHY[code]} for code in codes}


# Every route but /health is behind the key and the limits (a body-less route cannot be 413).
SECURED = (401, 429, 503, 504)


class Recommendation(BaseModel):
    product_id: str
    score: float


class Recommendations(BaseModel):
    customer_id: str
    model: str
    version: int | None
    source: str = Field(description="results (the batch set) or popularity (fallback)")
    set_id: str | None = Field(
        default=None, description="The published set answered from (`shipyard recommend` "
        "made it with `version`); null for the popularity fallback.")
    items: list[Recommendation]


class Ready(BaseModel):
    ready: bool
    models: dict[str, int] = Field(description="Version loaded for each served model.")
    missing: list[str] | None = Field(
        default=None, description="Models this server is to serve and does not serve yet.")
    detail: str | None = Field(default=None, description="Why not ready, when not.")


class PredictionOut(BaseModel):
    prediction: int | float = Field(description="A classifier's class (1 when the probability "
                                                "is at least 0.5), or a regressor's value.")
    probability: float | None = Field(
        default=None, description="A classifier's positive-class probability; a regressor "
                                  "answers none.")


class Predictions(BaseModel):
    model: str
    version: int
    predictions: list[PredictionOut]
