"""Reading a spec file: YAML -> validated `Spec`, with errors that name the file, line, field and value."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from graphspace.errors import SpecError
from graphspace.spec import Spec


def load_spec(path: str | Path) -> Spec:
    """Read and validate a YAML spec file.

    Raises:
        SpecError: one paragraph naming the file, the line, the field path, the bad value and what is allowed.
    """
    path = Path(path)
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise SpecError(f"Spec file {path} does not exist.") from None
    except (OSError, UnicodeDecodeError) as error:
        raise SpecError(f"Spec file {path} cannot be read: {error}.") from None
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(error, "problem", None) or str(error)
        context, context_mark = getattr(error, "context", None), getattr(error, "context_mark", None)
        if context and context_mark:
            problem += f" ({context} that starts at line {context_mark.line + 1})"
        raise SpecError(f"Spec file {path} is not valid YAML{where}: {problem}.") from None
    repeated = _repeated_key(node, [])
    if repeated:  # YAML would keep the last one silently
        raise SpecError(f"Spec file {path} is invalid: {repeated}.")
    if not isinstance(data, dict):
        raise SpecError(
            f"Spec file {path} must hold a mapping of keys (name, seed, datasets, zoo, learn, sample), "
            f"not {type(data).__name__}."
        )
    try:
        return Spec.model_validate(data)
    except ValidationError as error:
        problems = [_describe(problem, node) for problem in error.errors(include_url=False)]
        raise SpecError(f"Spec file {path} is invalid: " + "; ".join(problems) + ".") from None


def _describe(problem: dict[str, Any], root: yaml.Node | None) -> str:
    """One problem as 'field.path (line N) = value: message'."""
    ctx = problem.get("ctx") or {}
    located = ctx.get("field", problem["loc"])  # a check across sections names the field it is about
    path = [part for part in located if not (isinstance(part, str) and part.startswith("~"))]
    if problem["type"] == "unknown_key":
        path.append(ctx["key"])
    line = _line_of(root, path)
    dotted = _dotted(path) or "(top level)"
    where = f" (line {line})" if line else ""
    message = problem["msg"].removeprefix("Value error, ")
    if "field" in ctx:  # a check across sections: the value it is about, when it names one
        value = f" = {ctx['value']!r}" if "value" in ctx else ""
        return f"{dotted}{where}{value}: {message}"
    if problem["type"] in ("unknown_key", "missing") or isinstance(problem["input"], dict):
        return f"{dotted}{where}: {message}"
    return f"{dotted}{where} = {problem['input']!r}: {message}"


def _repeated_key(node: yaml.Node | None, path: list[str | int]) -> str | None:
    """'field.path (line N) is given twice (first at line M)' for the first key repeated in a mapping, else None."""
    if isinstance(node, yaml.MappingNode):
        first: dict[object, int] = {}
        for key, value in node.value:
            line = key.start_mark.line + 1
            if not isinstance(key, yaml.ScalarNode):  # a complex key: the spec's own checks refuse it
                continue
            if key.value in first:
                return f"{_dotted([*path, key.value])} (line {line}) is given twice (first at line {first[key.value]})"
            first[key.value] = line
            found = _repeated_key(value, [*path, key.value])
            if found:
                return found
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            found = _repeated_key(item, [*path, index])
            if found:
                return found
    return None


def _dotted(path: list[str | int]) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _line_of(node: yaml.Node | None, path: list[str | int]) -> int | None:
    """1-based line of the deepest YAML node on `path` (the key's line for a mapping entry)."""
    line = node.start_mark.line + 1 if node is not None else None
    for part in path:
        if isinstance(node, yaml.MappingNode):
            match = next(((k, v) for k, v in node.value if k.value == part), None)
            if match is None:
                break
            line, node = match[0].start_mark.line + 1, match[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            break
    return line
