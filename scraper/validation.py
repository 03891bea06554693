"""pydantic's validation errors as the problems a user reads: ``where: what``.

The one translator for config files and site rules: the location as a key path
(``sources[2].interval``), pydantic's "Value error, " prefix dropped, and an
unknown key said so, with the known key it most looks like.
"""

from __future__ import annotations

import difflib
import typing
from collections.abc import Iterator

from pydantic import BaseModel, ValidationError

__all__ = ["key_path", "problems"]


def key_path(loc: tuple[int | str, ...]) -> str:
    """``("sources", 2, "interval")`` → ``sources[2].interval``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def problems(exc: ValidationError, model: type[BaseModel]) -> list[tuple[str, str]]:
    """(key path, message) for each error of ``exc``, raised validating ``model``."""
    known: list[str] | None = None
    found = []
    for err in exc.errors():
        loc = tuple(err["loc"])
        if err["type"] == "extra_forbidden" and loc:
            known = known if known is not None else sorted(set(_field_names(model)))
            close = difflib.get_close_matches(str(loc[-1]), known, n=1, cutoff=0.75)
            message = "unknown key" + (f"; did you mean `{close[0]}`?" if close else "")
        else:
            message = err["msg"].removeprefix("Value error, ")
        found.append((key_path(loc), message))
    return found


def _field_names(model: type[BaseModel], seen: set[type] | None = None) -> Iterator[str]:
    """Every key ``model`` and the models inside it know."""
    seen = seen if seen is not None else set()
    if model in seen:
        return
    seen.add(model)
    for name, field in model.model_fields.items():
        yield field.alias or name
        yield from _models_in(field.annotation, seen)


def _models_in(annotation: object, seen: set[type]) -> Iterator[str]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield from _field_names(annotation, seen)
        return
    for arg in typing.get_args(annotation):
        yield from _models_in(arg, seen)
