"""Base of the config sections: documented, validated dataclass fields."""

from __future__ import annotations

import copy
import dataclasses
import functools
import typing
from dataclasses import field
from typing import Any, ClassVar

from myxtts.config._coerce import ConfigError, coerce, error


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
