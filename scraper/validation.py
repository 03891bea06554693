"""pydantic's validation errors as the problems a user reads: ``where: what``.

The one translator for config files and site rules: the location as a key path
(``sources[2].interval``), pydantic's "Value error, " prefix dropped, and an
unknown key said so, with the known key it most looks like. And a YAML syntax
error as the file, line and column it is at, not PyYAML's ``<unicode string>``.
"""

from __future__ import annotations

import difflib
import typing
from collections.abc import Iterator

import yaml
from pydantic import BaseModel, ValidationError

__all__ = ["key_path", "problems", "yaml_problem"]


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


def yaml_problem(origin: str, exc: yaml.YAMLError, text: str) -> str:
    """``origin: line 3, column 4: not valid YAML: <what> (<while doing what> from
    line 2, column 3)`` for a YAML error raised reading ``text`` (lines and columns
    counted from 1, as editors do)."""
    if isinstance(exc, yaml.reader.ReaderError):  # a character YAML does not allow
        line, column = _line_and_column(text, exc.position)
        code = exc.character if isinstance(exc.character, int) else ord(exc.character[:1] or "\0")
        return (
            f"{origin}: line {line}, column {column}: not valid YAML: "
            f"character U+{code:04X}: {exc.reason}"
        )
    if not isinstance(exc, yaml.MarkedYAMLError):
        return f"{origin}: not valid YAML: {exc}"
    mark = exc.problem_mark or exc.context_mark
    where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
    problem = exc.problem or exc.context or "cannot be read"
    context = ""
    if exc.context and exc.problem:
        start = exc.context_mark
        begun = f" from line {start.line + 1}, column {start.column + 1}" if start else ""
        context = f" ({exc.context}{begun})"
    return f"{origin}: {where}not valid YAML: {problem}{context}"


def _line_and_column(text: str, position: int) -> tuple[int, int]:
    before = text[:position]
    return before.count("\n") + 1, position - (before.rfind("\n") + 1) + 1
