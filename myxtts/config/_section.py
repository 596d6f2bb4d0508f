"""Base of the config sections (documented, validated dataclass fields), the parser of
"section.key=value" overrides and the commented-YAML writer that work on any of them."""

from __future__ import annotations

import copy
import dataclasses
import functools
import textwrap
import typing
from collections.abc import Mapping
from dataclasses import field
from typing import Any, ClassVar

import yaml

from myxtts.config._coerce import ConfigError, coerce, error, parse_text_value, unknown_key


def _f(default: Any, doc: str, **rules: Any) -> Any:
    """Dataclass field with a one-line doc and validation rules in its metadata."""
    meta = {"doc": doc, **rules}
    if isinstance(default, dict):
        return field(default_factory=lambda: copy.deepcopy(default), metadata=meta)
    return field(default=default, metadata=meta)


@functools.cache
def _type_hints(cls: type) -> dict[str, Any]:
    """Resolved field annotations of a section class (cached)."""
    return typing.get_type_hints(cls)


class _Section:
    """Base of the config sections: coerces and validates fields after construction."""

    SECTION: ClassVar[str] = ""

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Coerce every field to its type, check its rules, then cross-field checks."""
        hints = _type_hints(type(self))
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            path = f"{self.SECTION}.{f.name}"
            value = coerce(getattr(self, f.name), hints[f.name], path, f.metadata, f.default)
            setattr(self, f.name, value)
        self._check()

    def _check(self) -> None:
        """Cross-field checks; overridden by sections that need them."""

    def _fail(self, name: str, message: str) -> ConfigError:
        return error(f"{self.SECTION}.{name}", message)


def parse_override(item: Any, section_types: Mapping[str, type[_Section]]
                   ) -> tuple[tuple[str, ...], Any]:
    """Split "section.key[.subkey]=value" into a checked key path (sections and their
    fields from `section_types`) and a parsed value."""
    if not isinstance(item, str) or "=" not in item:
        raise ConfigError(f"override {item!r}: expected KEY=VALUE, "
                          "e.g. training.learning_rate=1e-4")
    dotted, raw = (part.strip() for part in item.split("=", 1))
    parts = tuple(dotted.split("."))
    if parts[0] not in section_types:
        raise unknown_key("", parts[0], section_types)
    if len(parts) < 2:
        raise error(dotted, "expected SECTION.KEY=VALUE")
    fields = {f.name: f for f in dataclasses.fields(section_types[parts[0]])}
    if parts[1] not in fields:
        raise unknown_key(parts[0], parts[1], fields)
    ftype = _type_hints(section_types[parts[0]])[parts[1]]
    if len(parts) > (3 if typing.get_origin(ftype) is dict else 2):
        raise error(dotted, "key is too deep")
    return parts, parse_text_value(raw, ftype is str, dotted)


def commented_yaml(config: Any) -> str:
    """YAML of `config` (a dataclass of sections) with each section's and field's doc as
    a comment above it."""
    lines: list[str] = []
    for top in dataclasses.fields(config):
        section = getattr(config, top.name)
        lines += ["", f"# {top.metadata['doc']}", f"{top.name}:"]
        for f in dataclasses.fields(section):
            dumped = yaml.safe_dump({f.name: getattr(section, f.name)}, sort_keys=False,
                                    allow_unicode=True, default_flow_style=False)
            choices = f.metadata.get("choices")
            hint = f" Choices: {', '.join(choices)}." if choices is not None else ""
            lines += textwrap.wrap(f"{f.metadata['doc']}{hint}", 96, initial_indent="  # ",
                                   subsequent_indent="  #   ")
            lines += ["  " + line for line in dumped.splitlines()]
    return "\n".join(lines[1:]) + "\n"
