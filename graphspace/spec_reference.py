"""The spec reference (Markdown), generated from the pydantic models: every field, default and allowed values."""

from __future__ import annotations

import typing
from typing import Any

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from graphspace import spec as spec_models

SECTIONS: list[tuple[str, type[BaseModel]]] = [
    ("(top level)", spec_models.Spec),
    ("datasets[] with source: embedded", spec_models.EmbeddedDataset),
    ("datasets[] with source: download", spec_models.DownloadedDataset),
    ("datasets[] with source: derived", spec_models.DerivedDataset),
    ("zoo", spec_models.Zoo),
    ("zoo.architecture with kind: mlp", spec_models.MLPArchitecture),
    ("zoo.architecture with kind: cnn", spec_models.CNNArchitecture),
    ("zoo.hyper", spec_models.Hyper),
    ("zoo.vary", spec_models.Vary),
    ("zoo.train", spec_models.Train),
    ("zoo.prune", spec_models.Prune),
    ("learn", spec_models.Learn),
    ("learn.loss", spec_models.LearnLoss),
    ("learn.split", spec_models.Split),
    ("probe", spec_models.Probe),
    ("sample", spec_models.Sample),
    ("sample.targets[]", spec_models.Target),
]


def spec_reference() -> str:
    """Markdown tables, one per spec section."""
    lines = [
        "# Spec reference",
        "",
        "Generated from `graphspace/spec.py` by `graphspace spec-reference`. Unknown keys are errors.",
        "In `zoo.vary`, each field takes a list of choices, or for continuous fields `{uniform: [low, high]}` or",
        "`{log_uniform: [low, high]}`; each value must be allowed for the same field of `zoo.hyper`.",
        "",
    ]
    for title, model in SECTIONS:
        lines += [f"## {title}", "", (model.__doc__ or "").strip().replace("\n", " "), ""]
        lines += ["| field | default | allowed | description |", "|---|---|---|---|"]
        for name, field in model.model_fields.items():
            default = _default(field)
            lines.append(f"| `{name}` | {default} | {_allowed(field)} | {field.description or ''} |")
        lines.append("")
    return "\n".join(lines)


def _default(field: Any) -> str:
    if field.default is PydanticUndefined and field.default_factory is None:
        return "required"
    value = field.default_factory() if field.default_factory is not None else field.default
    if isinstance(value, BaseModel):
        return "see below"
    return f"`{value}`"


def _allowed(field: Any) -> str:
    bounds = _bounds(field.metadata)
    text = _type_text(field.annotation)
    return (text + (", " + ", ".join(bounds) if bounds else "")).replace("|", "\\|")


def _bounds(items: list[Any]) -> list[str]:
    """'>= 0'-style texts of the numeric bounds and patterns among annotation metadata."""
    texts = []
    for item in items:
        for constraint in getattr(item, "metadata", None) or [item]:
            for attr, symbol in (
                ("ge", ">="),
                ("gt", ">"),
                ("le", "<="),
                ("lt", "<"),
                ("pattern", "matches"),
            ):
                value = getattr(constraint, attr, None)
                if value is not None:
                    texts.append(f"{symbol} {value}")
    return texts


def _type_text(annotation: Any) -> str:
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Literal:
        return " / ".join(f"`{a}`" for a in args)
    if origin is typing.Annotated:
        bounds = _bounds(list(args[1:]))
        return _type_text(args[0]) + (f" ({', '.join(bounds)})" if bounds else "")
    if origin in (list, tuple):
        return f"{origin.__name__} of " + ", ".join(_type_text(a) for a in args if a is not Ellipsis)
    if args:
        return " or ".join(_type_text(a) for a in args if a is not type(None)) + (
            " or null" if type(None) in args else ""
        )
    return getattr(annotation, "__name__", str(annotation))
