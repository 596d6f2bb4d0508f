"""Type coercion and range checks for config values.

Pure functions with no I/O. Every error is a `ConfigError` whose message starts
with the dotted key path of the offending value, e.g.
``training.learning_rate: expected a number, got 'abc'``.
"""

from __future__ import annotations

import difflib
import math
import numbers
import typing
from collections.abc import Iterable, Mapping
from typing import Any

import yaml


class ConfigError(ValueError):
    """Invalid configuration. `key` is the dotted key path when one is known."""

    def __init__(self, message: str, key: str | None = None) -> None:
        super().__init__(message)
        self.key = key


def error(path: str, message: str) -> ConfigError:
    """Build a ConfigError whose message is prefixed with `path`."""
    return ConfigError(f"{path}: {message}", key=path)


def show(value: Any) -> str:
    """Short repr of a value for error messages."""
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def join_path(prefix: str, key: Any) -> str:
    """Dotted path of `key` below `prefix` (prefix may be empty)."""
    return f"{prefix}.{key}" if prefix else str(key)


def unknown_key(prefix: str, key: Any, valid: Iterable[str]) -> ConfigError:
    """Error for an unknown key, suggesting the closest valid key (difflib)."""
    valid = list(valid)
    close = difflib.get_close_matches(str(key), valid, n=1, cutoff=0.6)
    hint = f"did you mean {close[0]!r}?" if close else "valid keys: " + ", ".join(valid)
    return error(join_path(prefix, key), f"unknown key ({hint})")


def check_keys(data: Mapping[Any, Any], valid: Iterable[str], prefix: str) -> None:
    """Reject any key of `data` not in `valid`."""
    valid = list(valid)
    for key in data:
        if not isinstance(key, str) or key not in valid:
            raise unknown_key(prefix, key, valid)


def require_mapping(value: Any, path: str) -> Mapping[Any, Any]:
    """Return `value` as a mapping; None counts as an empty mapping."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise error(path, f"expected a mapping, got {type(value).__name__} {show(value)}")
    return value


def to_float(value: Any, path: str) -> float:
    """Coerce to a finite float. Accepts ints and numeric strings such as YAML's '1e-4'."""
    if isinstance(value, bool) or not isinstance(value, (numbers.Real, str)):
        raise error(path, f"expected a number, got {show(value)}")
    try:
        result = float(value.strip()) if isinstance(value, str) else float(value)
    except ValueError:
        raise error(path, f"expected a number, got {show(value)}") from None
    if not math.isfinite(result):
        raise error(path, f"expected a finite number, got {show(value)}")
    return result


def to_int(value: Any, path: str) -> int:
    """Coerce to int. Accepts whole floats (3.0, '1e5'); rejects bools and fractions."""
    if isinstance(value, bool):
        raise error(path, f"expected an integer, got {show(value)}")
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            pass
    if isinstance(value, (numbers.Real, str)):
        try:
            number = float(value.strip()) if isinstance(value, str) else float(value)
        except ValueError:
            number = math.nan
        if math.isfinite(number) and number.is_integer():
            return int(number)
    raise error(path, f"expected an integer, got {show(value)}")


def to_bool(value: Any, path: str) -> bool:
    """Accept only real booleans (YAML true/false/yes/no are already bools)."""
    if not isinstance(value, bool):
        raise error(path, f"expected true or false, got {show(value)}")
    return value


def to_str(value: Any, path: str, default: Any) -> str:
    """Accept strings; a null counts as '' for fields whose default is ''."""
    if value is None and default == "":
        return ""
    if not isinstance(value, str):
        raise error(path, f"expected a string, got {show(value)}")
    return value


def to_number(value: Any, path: str) -> int | float:
    """Coerce to int or float (ints stay ints; strings parse as int, else float)."""
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return int(value)
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            pass
    return to_float(value, path)


def to_number_map(value: Any, path: str, key_rules: Mapping[str, Mapping[str, Any]]) -> dict:
    """Coerce a mapping of allowed keys to numbers, checking each key's rules."""
    result: dict[str, int | float] = {}
    for key, item in require_mapping(value, path).items():
        if not isinstance(key, str) or key not in key_rules:
            raise unknown_key(path, key, key_rules)
        item_path = join_path(path, key)
        number = to_number(item, item_path)
        check_rules(number, key_rules[key], item_path)
        result[key] = number
    return result


def coerce(value: Any, ftype: Any, path: str, meta: Mapping[str, Any], default: Any) -> Any:
    """Coerce `value` to the field type `ftype` and check the field's rules."""
    if ftype is bool:
        result = to_bool(value, path)
    elif ftype is int:
        result = to_int(value, path)
    elif ftype is float:
        result = to_float(value, path)
    elif ftype is str:
        result = to_str(value, path, default)
    elif typing.get_origin(ftype) is dict or ftype is dict:
        return to_number_map(value, path, meta.get("keys", {}))
    else:  # pragma: no cover - guards against adding a field of an unsupported type
        raise TypeError(f"{path}: unsupported config field type {ftype!r}")
    check_rules(result, meta, path)
    return result


_BOUNDS = (("gt", ">", lambda v, b: v > b), ("ge", ">=", lambda v, b: v >= b),
           ("lt", "<", lambda v, b: v < b), ("le", "<=", lambda v, b: v <= b))


def check_rules(value: Any, meta: Mapping[str, Any], path: str) -> None:
    """Check `choices` and numeric bounds (gt/ge/lt/le) from field metadata."""
    choices = meta.get("choices")
    if choices is not None and value not in choices:
        raise choice_error(path, value, choices)
    bounds = [(sym, meta[name], test) for name, sym, test in _BOUNDS if name in meta]
    if bounds and not all(test(value, bound) for _, bound, test in bounds):
        wanted = " and ".join(f"{sym} {bound:g}" for sym, bound, _ in bounds)
        raise error(path, f"expected a value {wanted}, got {show(value)}")


def choice_error(path: str, value: Any, choices: Iterable[str]) -> ConfigError:
    """Error for a value outside an enum-like set of choices."""
    choices = list(choices)
    listed = ", ".join(repr(c) for c in choices)
    close = difflib.get_close_matches(str(value), choices, n=1, cutoff=0.6)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return error(path, f"expected one of {listed}, got {show(value)}{hint}")


def parse_text_value(raw: str, is_str_field: bool, path: str) -> Any:
    """Parse command-line override text with yaml.safe_load.

    For string fields the raw text is kept unless YAML reads it as a string, so
    paths such as "a: b" or "123" need no quoting.
    """
    try:
        value = yaml.safe_load(raw)
    except yaml.YAMLError as exc:
        if is_str_field:
            return raw
        raise error(path, f"cannot parse value {raw!r}: {exc}") from None
    if is_str_field and not isinstance(value, str):
        return raw
    return value
